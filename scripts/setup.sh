#!/usr/bin/env bash
# Set up lutplug in ./.venv on a fresh Debian machine (idempotent).
#   bash scripts/setup.sh        # the library and CLI (runs `lutplug demo` afterwards if asked)
#   bash scripts/setup.sh dev    # + test dependencies (pytest, colour-science, headless GL, g++)
# torch is pinned to 2.13.0 (a CPU build) unless a torch is already importable by the venv's
# Python (a GPU machine keeps its own): a plain `pip install torch` pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-cli}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_install python3-venv python3-pip; fi
# dev: headless GL for shader tests, glslang/SPIRV-Cross for the HLSL check, g++ for the BlinkScript
# kernel tests, G'MIC for baseline B, Debian's chromium for the notebook widget browser test
if [ "$extra" = dev ]; then apt_install libegl1 libgl1-mesa-dri glslang-tools spirv-cross g++ gmic chromium; fi
[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
if ! .venv/bin/python -c 'import torch' >/dev/null 2>&1; then "${pip[@]}" torch==2.13.0; fi
"${pip[@]}" -e ".[$extra]"

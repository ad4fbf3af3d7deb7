"""The Python GIMP runs plug-ins with (version and wheel platform tags): asked of a locally
installed GIMP's interpreter, given, or the default of current GIMP 3 builds."""
from __future__ import annotations

import dataclasses
import glob
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional, Sequence

from lutplug.errors import LutError

#: GIMP's Python when nothing says otherwise (current GIMP 3 builds ship CPython 3.13).
DEFAULT_PYTHON = "3.13"


@dataclasses.dataclass
class Target:
    """The Python that GIMP runs plug-ins with: version and wheel platform tags."""

    python_version: str
    platforms: List[str]
    how: str  # how it was determined (shown to the user)

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    def describe(self) -> str:
        """e.g. "CPython 3.13, Linux x86_64 (manylinux, glibc <= 2.41)"."""
        first = self.platforms[0] if self.platforms else "?"
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", first)
        if m:
            where = f"Linux {m.group(3)} (manylinux, glibc <= {m.group(1)}.{m.group(2)})"
        elif first.startswith("win"):
            where = f"Windows ({first})"
        elif first.startswith("macosx"):
            where = f"macOS ({first.split('_', 3)[-1]})"
        else:
            where = first
        return f"CPython {self.python_version}, {where}"


def _machine() -> str:
    """This machine's architecture as wheel tags spell it."""
    m = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(m, m)


def platform_tags(system: Optional[str] = None, machine: Optional[str] = None,
                  glibc: Optional[str] = None) -> List[str]:
    """Wheel platform tags for GIMP's Python on ``system``/``machine`` (defaults: this one)."""
    system = system or platform.system()
    machine = machine or _machine()
    if system == "Windows":
        return ["win_arm64" if machine == "aarch64" else "win_amd64"]
    if system == "Darwin":
        arch = "arm64" if machine in ("arm64", "aarch64") else "x86_64"
        vers = [(10, m) for m in range(9, 16)] + [(v, 0) for v in range(11, 16)]
        return [f"macosx_{a}_{b}_{arch}" for a, b in reversed(vers)] + \
               [f"macosx_{a}_{b}_universal2" for a, b in reversed(vers)]
    if glibc is None:
        lib, ver = platform.libc_ver()
        glibc = ver if lib == "glibc" and ver else "2.28"
    minor = int(glibc.split(".")[1])
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 16, -1)]
    if machine in ("x86_64", "aarch64", "i686"):
        tags.append(f"manylinux2014_{machine}")
    return tags


_INTERP_GLOBS = ("/usr/lib*/gimp/3.*/interpreters/*.interp",
                 "/usr/lib/*/gimp/3.*/interpreters/*.interp",
                 "/usr/local/lib*/gimp/3.*/interpreters/*.interp")


def gimp_python() -> Optional[str]:
    """The interpreter a locally installed (distribution) GIMP 3 runs Python plug-ins with, or
    None when no such GIMP is found (Flatpak, Snap, Windows and macOS bundle their own)."""
    for pattern in _INTERP_GLOBS:
        for interp in glob.glob(pattern):
            try:
                text = Path(interp).read_text(errors="replace")
            except OSError:
                continue
            m = re.search(r"^python3?=(\S+)", text, re.M)
            if m and os.access(m.group(1), os.X_OK):
                return m.group(1)
    for exe in ("gimp-3.0", "gimp-console-3.0", "gimp-3", "gimp-console-3"):
        if shutil.which(exe) and os.access("/usr/bin/python3", os.X_OK):
            return "/usr/bin/python3"  # plug-ins run through `#!/usr/bin/env python3`
    return None


def _sandboxed(profile: Optional[Path]) -> bool:
    """Whether ``profile`` belongs to a Flatpak or Snap GIMP (which runs its own Python)."""
    return profile is not None and any(s in str(profile) for s in ("/.var/app/", "/snap/"))


def detect_target(python_version: Optional[str] = None,
                  platforms: Optional[Sequence[str]] = None,
                  profile: Optional[Path] = None) -> Target:
    """GIMP's Python version and platform tags: given, asked of the local GIMP's interpreter,
    or the default (3.13, this machine's platform)."""
    if python_version and platforms:
        return Target(python_version, list(platforms), "as given")
    how = "as given"
    glibc: Optional[str] = None
    if not python_version:
        exe = None if _sandboxed(profile) else gimp_python()
        if exe:
            try:
                out = subprocess.run(
                    [exe, "-c", "import sys, platform; print('%d.%d' % sys.version_info[:2]); "
                                "print(platform.libc_ver()[1])"],
                    capture_output=True, text=True, timeout=30, check=True).stdout.split()
                python_version = out[0]
                glibc = out[1] if len(out) > 1 else None
                how = f"GIMP's Python {exe}"
            except (OSError, subprocess.SubprocessError, IndexError):
                exe = None
        if not python_version:
            python_version = DEFAULT_PYTHON
            how = (f"default: Python {DEFAULT_PYTHON}, as current GIMP 3 builds ship (no local "
                   "GIMP interpreter found; pass --python-version if yours differs)")
            if _sandboxed(profile):
                how += ("; a Flatpak/Snap GIMP runs its own Python: check it with e.g. `flatpak "
                        "run --command=python3 org.gimp.GIMP --version`")
    if not re.fullmatch(r"3\.\d+", python_version):
        raise LutError(f"--python-version must look like 3.13, got {python_version!r}")
    return Target(python_version, list(platforms) if platforms else platform_tags(glibc=glibc), how)

"""Host side of the GIMP tests and of benchmarks/gimp_speed.py (runs on the host, not in GIMP).

Drives ../shared/tools/gimp3/gimp3-chroot.sh: builds (once, cached) a Debian trixie rootfs with
GIMP 3 and Xvfb (for the dialog test), gets numpy/cryptography wheels for its Python 3.13 (once,
cached beside the rootfs), installs the filter with ``lutplug gimp install`` into a scratch
profile, and runs batch scripts in GIMP with that installed folder as the plug-in under test.

Environment: LUTPLUG_GIMP3_TOOL (the gimp3-chroot.sh to use), LUTPLUG_GIMP3_CI_ROOT (rootfs
location, default /var/cache/gimp3-ci-lutplug/root: separate from the tool's default rootfs,
since this one adds Xvfb).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("LUTPLUG_GIMP3_TOOL",
                           REPO.parent / "shared" / "tools" / "gimp3" / "gimp3-chroot.sh"))
ROOT = Path(os.environ.get("LUTPLUG_GIMP3_CI_ROOT", "/var/cache/gimp3-ci-lutplug/root"))
EXTRA_PACKAGES = "xvfb xauth"
WHEELS = ROOT.parent / "wheels"
REQUIRED_WHEELS = ("numpy", "cryptography", "cffi", "pycparser")


class Unavailable(Exception):
    """GIMP cannot be run here for an environmental reason (not root, no apt/PyPI access):
    tests skip with this message."""


def tool_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(GIMP3_CI_ROOT=str(ROOT), GIMP3_CI_EXTRA_PACKAGES=EXTRA_PACKAGES)
    env.update(extra or {})
    return env


def rootfs_ready() -> bool:
    return (ROOT / "opt" / "gimp3-ci" / "recipe").is_file()


def info() -> Dict[str, str]:
    out = {}
    path = ROOT / "opt" / "gimp3-ci" / "info.env"
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v.strip('"')
    return out


def _reachable(url: str, timeout: float = 10.0) -> bool:
    u = urlparse(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        with socket.create_connection((u.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_rootfs(log=print) -> None:
    """Build the cached rootfs if needed (about 1-2 minutes the first time)."""
    if os.geteuid() != 0:
        raise Unavailable("the GIMP tests need root (gimp3-chroot.sh uses chroot and mount "
                          "namespaces); run pytest as root to include them")
    if not TOOL.is_file():
        raise RuntimeError(f"gimp3-chroot.sh not found at {TOOL} (set LUTPLUG_GIMP3_TOOL)")
    if not rootfs_ready():
        log(f"building the GIMP 3 rootfs in {ROOT} (once, about 1-2 minutes)")
    proc = subprocess.run(["bash", str(TOOL), "build"], env=tool_env(), capture_output=True,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        mirror = os.environ.get("GIMP3_CI_MIRROR", "http://deb.debian.org/debian")
        if not rootfs_ready() and not _reachable(mirror):
            raise Unavailable(f"no apt access to {mirror} to build the GIMP 3 rootfs in {ROOT}")
        raise RuntimeError(f"gimp3-chroot.sh build failed (exit {proc.returncode}):\n"
                           + "\n".join((proc.stdout + proc.stderr).splitlines()[-30:]))


def target_args() -> List[str]:
    """``--python-version``/``--platform`` options matching the rootfs's Python and glibc."""
    inf = info()
    glibc_minor = int(inf["GLIBC_VERSION"].split(".")[1])
    arch = inf["ARCH"]
    args = ["--python-version", inf["PYTHON_VERSION"]]
    for m in range(glibc_minor, 16, -1):
        args += ["--platform", f"manylinux_2_{m}_{arch}"]
    return args + ["--platform", f"manylinux2014_{arch}"]


def lutplug_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lutplug.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def ensure_wheels(log=print) -> Path:
    """The wheel cache for the rootfs's Python (downloaded once with ``lutplug gimp
    download-wheels``)."""
    have = {re.sub(r"[-_.]+", "-", w.name.split("-")[0]).lower() for w in WHEELS.glob("*.whl")}
    tag = "cp" + info()["PYTHON_VERSION"].replace(".", "")
    numpy_ok = any(tag in w.name for w in WHEELS.glob("numpy-*.whl"))
    if all(r in have for r in REQUIRED_WHEELS) and numpy_ok:
        return WHEELS
    log(f"downloading wheels for GIMP's Python into {WHEELS}")
    proc = lutplug_cli("gimp", "download-wheels", "-d", str(WHEELS), *target_args())
    if proc.returncode != 0:
        if not _reachable("https://pypi.org") or not _reachable("https://files.pythonhosted.org"):
            raise Unavailable(f"no access to PyPI to download numpy/cryptography wheels for "
                              f"GIMP's Python, and none cached in {WHEELS}")
        raise RuntimeError("lutplug gimp download-wheels failed:\n" + proc.stdout + proc.stderr)
    return WHEELS


def install_plugin(profile: Path, *extra: str) -> Path:
    """``lutplug gimp install --gimp-dir PROFILE --wheels CACHE`` (offline, from the cache);
    returns the installed plug-in folder."""
    profile.mkdir(parents=True, exist_ok=True)
    proc = lutplug_cli("gimp", "install", "--gimp-dir", str(profile), "--wheels", str(WHEELS),
                       *target_args(), *extra)
    if proc.returncode != 0:
        raise RuntimeError("lutplug gimp install failed:\n" + proc.stdout + proc.stderr)
    return profile / "plug-ins" / "lutplug-apply"


def run_batch(plugin_dir: Path, script: Path, data: Optional[Path] = None,
              out: Optional[Path] = None, env: Sequence[str] = (), args: Sequence[str] = (),
              timeout: int = 900) -> subprocess.CompletedProcess:
    """``gimp3-chroot.sh run``: the plug-in folder (copied into a fresh profile: it must be
    self-contained) and a batch script; DATA is bound at /tmp/ci/data/cases, OUT at /tmp/ci/out."""
    cmd = ["bash", str(TOOL), "run", "--timeout", str(timeout)]
    if data is not None:
        cmd += ["--bind", f"{data}:cases"]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        cmd += ["--out", str(out)]
    for e in env:
        cmd += ["--env", e]
    cmd += [str(plugin_dir), str(script), *args]
    return subprocess.run(cmd, env=tool_env(), capture_output=True, text=True, timeout=timeout + 120)

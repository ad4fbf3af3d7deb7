"""The wheels the filter vendors for GIMP's Python: fetched with ``pip download`` (from PyPI, or
offline from a folder of wheels) and unpacked like ``pip install --target`` would."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from lutplug.errors import LutError
from lutplug.fileio import archive_member_path
from lutplug.hosts.gimp.target import Target

#: What GIMP's Python needs besides the standard library (cryptography: signature checks).
REQUIREMENTS = ("numpy", "cryptography")

#: Where progress is said (``print``, ``click.echo``).
Echo = Callable[[str], None]


def wheel_cache() -> Path:
    """Where downloaded wheels are kept for later offline installs."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lutplug" / "gimp-wheels"


def pip_command(dest: Path, target: Target, wheels: Optional[Path],
                requirements: Sequence[str] = REQUIREMENTS) -> List[str]:
    """``pip download`` of binary wheels for ``target`` into ``dest``; offline from ``wheels``."""
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
           "--dest", str(dest), "--only-binary=:all:", "--implementation", "cp",
           "--python-version", target.python_version, "--abi", target.abi, "--abi", "abi3",
           "--abi", "none"]
    for tag in target.platforms:
        cmd += ["--platform", tag]
    if wheels is not None:
        cmd += ["--no-index", "--find-links", str(wheels)]
    return cmd + list(requirements)


def fetch_wheels(dest: Path, target: Target, wheels: Optional[Path], echo: Echo,
                 keep_in: Optional[Path] = None) -> List[Path]:
    """Wheels for ``target`` in ``dest`` (downloaded, or copied from ``wheels``)."""
    if wheels is not None:
        wheels = Path(wheels)
        if not wheels.is_dir():
            raise LutError("wheel folder does not exist", wheels)
        echo(f"using wheels from {wheels} (offline): {', '.join(REQUIREMENTS)} and their "
             f"dependencies for {target.describe()}")
    else:
        echo(f"downloading from PyPI with pip: {', '.join(REQUIREMENTS)} (+ cffi, pycparser) "
             f"binary wheels for {target.describe()} (about 20 MB)")
    proc = subprocess.run(pip_command(dest, target, wheels), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        where = f"in {wheels}" if wheels is not None else "on PyPI (is the network reachable?)"
        raise LutError(f"pip could not get wheels for {target.describe()} {where}:\n{tail}")
    got = sorted(Path(dest).glob("*.whl"))
    names = {_wheel_name(w) for w in got}
    missing = [r for r in REQUIREMENTS if r not in names]
    if missing:
        raise LutError(f"no wheel for {', '.join(missing)} was found")
    for w in got:
        echo(f"  {w.name} ({w.stat().st_size / 1e6:.1f} MB)")
    if wheels is None and keep_in is not None:
        try:
            keep_in.mkdir(parents=True, exist_ok=True)
            for w in got:
                if not (keep_in / w.name).exists():
                    shutil.copy2(w, keep_in / w.name)
            echo(f"  (kept in {keep_in}; install offline later with --wheels {keep_in})")
        except OSError as exc:
            echo(f"  (could not keep the wheels in {keep_in}: {exc.strerror})")
    return got


def _wheel_name(path: Path) -> str:
    """The normalised project name of a wheel file."""
    return re.sub(r"[-_.]+", "-", path.name.split("-")[0]).lower()


def unpack_wheel(wheel: Path, dest: Path) -> List[str]:
    """Install a wheel's importable files into ``dest`` (what ``pip install --target`` does for
    pure and platform libraries; scripts, headers and data files are left out). Returns the
    relative paths written."""
    written = []
    dest = Path(dest)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename
            parts = name.split("/")
            if parts[0].endswith(".data"):
                if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
                    parts = parts[2:]
                else:
                    continue
            # no absolute path, '..', link or device file (zip-slip)
            rel = archive_member_path("/".join(parts), info.external_attr >> 16
                                      if info.create_system == 3 else 0, wheel)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, 0o755 if mode & 0o111 else 0o644)
            written.append(rel)
    return written

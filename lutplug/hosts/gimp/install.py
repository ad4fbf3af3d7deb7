"""``lutplug gimp install``: write the GIMP 3 filter into a GIMP profile.

``install`` writes one self-contained folder, ``PROFILE/plug-ins/lutplug-apply/``::

    lutplug-apply.py      the plug-in (executable; GIMP 3 wants plug-ins/NAME/NAME.py)
    lib/lutplug/...       a copy of exactly the lutplug modules it needs (numpy-only code,
                          found by :mod:`.vendor`)
    vendor/...            numpy + cryptography (+ cffi, pycparser) unpacked from wheels built
                          for GIMP's Python (CPython 3.13 on current GIMP 3 builds; :mod:`.target`)
    settings.json         signature policy (trusted keys in keys/, require a signature)
    keys/*.pub            trusted public keys (--trust)
    MANIFEST.json         every file written, with its SHA-256: what ``uninstall`` removes
                          (:mod:`.manifest`, :mod:`.installed`)

That folder alone, copied into any GIMP 3 profile of the same platform, works. Wheels come from
PyPI through ``pip download`` (said so before it happens, and kept in a cache folder for later
offline installs), or offline from a folder of wheels (``wheels=DIR``: ``pip --no-index
--find-links DIR``; :mod:`.wheels`). The folder is built beside its final place and swapped in,
so a failed install never leaves half a plug-in; files a user added to an earlier installation
are kept.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from lutplug import __version__
from lutplug.errors import LutError, PathLike
from lutplug.fileio import exchange, file_sha256
from lutplug.hosts.gimp import PLUGIN_NAME, PROC_NAME
from lutplug.hosts.gimp.manifest import (MANIFEST, MANIFEST_FORMAT, all_parents,
                                         foreign_files, read_manifest)
from lutplug.hosts.gimp.profiles import find_profile, plugin_dir
from lutplug.hosts.gimp.settings import SETTINGS_FILE
from lutplug.hosts.gimp.target import Target, detect_target
from lutplug.hosts.gimp.vendor import PLUGIN_SOURCE, vendored_sources
from lutplug.hosts.gimp.wheels import Echo, fetch_wheels, unpack_wheel, wheel_cache

#: plugin_dir, read_manifest and unpack_wheel are used here and offered with install.
__all__ = ["InstallResult", "install", "plugin_dir", "read_manifest", "unpack_wheel"]


@dataclasses.dataclass
class InstallResult:
    """What ``install`` wrote: the folder, its files and size, for which Python, which wheels,
    and the user's files it kept from an earlier installation."""

    folder: Path
    files: int
    bytes: int
    python_version: str
    wheels: List[str]
    kept: List[str]


def install(gimp_dir: Optional[PathLike] = None, wheels: Optional[PathLike] = None,
            no_wheels: bool = False, python_version: Optional[str] = None,
            platforms: Optional[Sequence[str]] = None, trust: Sequence[PathLike] = (),
            require_signature: bool = False, force: bool = False,
            echo: Echo = print, cache: Optional[Path] = None) -> InstallResult:
    """Write PROFILE/plug-ins/lutplug-apply/ (see the module docstring)."""
    profile = Path(gimp_dir).expanduser() if gimp_dir else find_profile()
    if not profile.is_dir():
        # Not created here: GIMP only sets up a profile folder that does not exist yet.
        raise LutError("GIMP profile folder does not exist: start GIMP 3 once so it creates it "
                       "(or give the right --gimp-dir)", profile)
    folder = plugin_dir(profile)
    old = read_manifest(folder) if folder.exists() else None
    if folder.exists() and old is None and not force:
        raise LutError("a plug-in folder that lutplug did not install is already there: move it "
                       "away, or pass --force to replace it (it is kept as a backup)", folder)
    target = detect_target(python_version, platforms, profile)
    echo(f"installing the lutplug GIMP filter into {folder}")
    echo(f"  GIMP's Python: {target.python_version} ({target.how})")
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}.new-", dir=folder.parent))
    try:
        files, wheel_names = _build(stage, target, wheels, no_wheels, trust, require_signature,
                                    echo, cache if cache is not None else wheel_cache())
        kept: List[str] = []
        ours = set(files)
        if old is not None:  # keep what the user added to the previous installation
            for rel in foreign_files(folder, old):
                dst = stage / rel
                if rel in ours or dst.exists():
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(folder / rel, dst)
                kept.append(rel)
        manifest = _manifest(stage, target, files, wheel_names)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.chmod(stage, 0o755)
        _swap_in(stage, folder, old is None and folder.exists(), echo)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    total = sum((folder / r).stat().st_size for r in manifest["files"])
    echo(f"installed {len(manifest['files'])} files ({total / 1e6:.1f} MB): restart GIMP, then "
         f"Filters > Colors > Apply Compressed LUT... (PDB: {PROC_NAME})")
    if kept:
        echo(f"  kept {len(kept)} file(s) you had added: {', '.join(kept[:5])}")
    return InstallResult(folder, len(manifest["files"]), total, target.python_version,
                         manifest["wheels"], kept)


def _manifest(stage: Path, target: Target, files: List[str], wheel_names: List[str]) -> dict:
    """The manifest of a staged folder: ``files`` are ours (files carried over from an earlier
    installation are the user's: not listed)."""
    parents = {Path(rel).parent.as_posix() for rel in files} - {"."}
    return {
        "format": MANIFEST_FORMAT, "plugin": PLUGIN_NAME, "procedure": PROC_NAME,
        "lutplug": __version__,
        "installed": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "python_version": target.python_version, "platforms": target.platforms,
        "wheels": sorted(wheel_names),
        "files": {rel: file_sha256(stage / rel) for rel in sorted(files)},
        "dirs": sorted(all_parents(parents)),
    }


def _build(stage: Path, target: Target, wheels: Optional[PathLike], no_wheels: bool,
           trust: Sequence[PathLike], require_signature: bool, echo: Echo,
           cache: Path) -> Tuple[List[str], List[str]]:
    """Fill ``stage``; returns (relative path of every file written, names of the wheels)."""
    files: List[str] = []
    main = stage / f"{PLUGIN_NAME}.py"
    shutil.copyfile(PLUGIN_SOURCE, main)
    os.chmod(main, 0o755)
    files.append(main.name)
    for src, rel in vendored_sources():
        dst = stage / "lib" / "lutplug" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)
        files.append(f"lib/lutplug/{rel}")
    names: List[str] = []
    if no_wheels:
        echo("  no wheels: GIMP's Python must provide numpy (and cryptography for signatures)")
    else:
        with tempfile.TemporaryDirectory(prefix="lutplug-wheels-") as tmp:
            for whl in fetch_wheels(Path(tmp), target, Path(wheels) if wheels else None, echo,
                                    keep_in=cache):
                files += [f"vendor/{rel}" for rel in unpack_wheel(whl, stage / "vendor")]
                names.append(whl.name)
    keys = _write_keys(stage, trust)
    files += keys
    settings = {"trusted_keys": keys, "require_signature": bool(require_signature)}
    (stage / SETTINGS_FILE).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
    files.append(SETTINGS_FILE)
    if keys or require_signature:
        echo(f"  signature policy: {len(keys)} trusted key(s), "
             f"{'unsigned files refused' if require_signature else 'unsigned files accepted'}")
    return list(dict.fromkeys(files)), names


def _write_keys(stage: Path, trust: Sequence[PathLike]) -> List[str]:
    """Copy the trusted PEM public keys into ``stage/keys/``; their relative paths."""
    keys: List[str] = []
    for i, key in enumerate(map(Path, trust)):
        data = key.read_bytes() if key.is_file() else None
        if not data or b"PUBLIC KEY" not in data:
            raise LutError("not a PEM public key file", key)
        rel = f"keys/{i:02d}-{re.sub(r'[^A-Za-z0-9._-]', '_', key.name)}"
        (stage / "keys").mkdir(exist_ok=True)
        (stage / rel).write_bytes(data)
        keys.append(rel)
    return keys


def _swap_in(stage: Path, folder: Path, foreign: bool, echo: Echo) -> None:
    """Put the staged folder in place of ``folder`` (a folder lutplug did not install, when
    ``foreign``, is moved to a backup first)."""
    if folder.exists():
        if foreign:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            backup = folder.with_name(f"{folder.name}.backup-{stamp}")
            os.replace(folder, backup)
            echo(f"  the previous folder (not installed by lutplug) was moved to {backup}")
        else:
            if exchange(stage, folder):  # one atomic step: GIMP never sees a missing folder
                shutil.rmtree(stage, ignore_errors=True)
                return
            old = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}.old-", dir=folder.parent))
            os.rmdir(old)
            os.replace(folder, old)
            os.replace(stage, folder)
            shutil.rmtree(old, ignore_errors=True)
            return
    os.replace(stage, folder)

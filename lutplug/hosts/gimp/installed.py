"""An installed filter folder: ``lutplug gimp uninstall`` (remove exactly what ``install``
wrote) and ``lutplug gimp status`` (what is installed where, and whether it is up to date)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Optional

from lutplug import __version__
from lutplug.fileio import file_sha256
from lutplug.errors import LutError, PathLike
from lutplug.hosts.gimp import PLUGIN_NAME
from lutplug.hosts.gimp.manifest import MANIFEST, read_manifest
from lutplug.hosts.gimp.profiles import find_profile, plugin_dir
from lutplug.hosts.gimp.vendor import PLUGIN_SOURCE, vendored_sources
from lutplug.hosts.gimp.wheels import Echo


@dataclasses.dataclass
class UninstallResult:
    """What ``uninstall`` did: files removed, ours that had been changed, others left."""

    folder: Path
    removed: int
    modified: List[str]
    left: List[str]


def uninstall(gimp_dir: Optional[PathLike] = None, echo: Echo = print) -> UninstallResult:
    """Remove exactly what ``install`` wrote (the manifest's files, the bytecode Python made
    beside them, the folders that end up empty); anything else in the folder is left."""
    profile = Path(gimp_dir).expanduser() if gimp_dir else find_profile()
    folder = plugin_dir(profile)
    if not folder.exists():
        raise LutError("the lutplug GIMP filter is not installed here", folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise LutError(f"no {MANIFEST}: this folder was not installed by lutplug; nothing removed",
                       folder)
    removed = 0
    modified: List[str] = []
    for rel, digest in manifest["files"].items():
        p = folder / rel
        if not p.is_file():
            continue
        if file_sha256(p) != digest:
            modified.append(rel)
        p.unlink()
        removed += 1
    dirs = sorted(set(manifest.get("dirs", [])), key=lambda d: d.count("/"), reverse=True)
    for d in dirs + ["."]:  # bytecode written by GIMP's Python next to our modules
        base = folder / d
        for cache in list(base.glob("__pycache__")):
            if cache.is_dir():
                for f in cache.iterdir():
                    if f.is_file() and f.suffix == ".pyc":
                        f.unlink()
                        removed += 1
                _rmdir_if_empty(cache)
    for d in dirs:
        _rmdir_if_empty(folder / d)
    (folder / MANIFEST).unlink()
    removed += 1
    left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    _rmdir_if_empty(folder)
    echo(f"removed {removed} files installed by lutplug from {folder}")
    if modified:
        echo(f"  ({len(modified)} of them had been changed since: {', '.join(modified[:5])})")
    if left:
        echo(f"  left {len(left)} file(s) lutplug did not install: {', '.join(left[:5])}")
    return UninstallResult(folder, removed, modified, left)


def _rmdir_if_empty(path: Path) -> None:
    """Remove a folder if it is empty; leave it otherwise."""
    try:
        path.rmdir()
    except OSError:
        pass


def status(gimp_dir: Optional[PathLike] = None) -> Dict[str, Any]:
    """What is installed where, and whether it is up to date with this lutplug."""
    profile = Path(gimp_dir).expanduser() if gimp_dir else find_profile()
    folder = plugin_dir(profile)
    out: Dict[str, Any] = {"profile": str(profile), "folder": str(folder), "installed": False}
    manifest = read_manifest(folder) if folder.exists() else None
    if manifest is None:
        out["foreign_folder"] = folder.exists()
        return out
    changed = [rel for rel, d in manifest["files"].items()
               if not (folder / rel).is_file() or file_sha256(folder / rel) != d]
    current = {f"lib/lutplug/{rel}": file_sha256(src) for src, rel in vendored_sources()}
    current[f"{PLUGIN_NAME}.py"] = file_sha256(PLUGIN_SOURCE)
    stale = sorted(rel for rel, d in current.items()
                   if not (folder / rel).is_file() or file_sha256(folder / rel) != d)
    out.update(installed=True, lutplug=manifest.get("lutplug"), when=manifest.get("installed"),
               python_version=manifest.get("python_version"), wheels=manifest.get("wheels", []),
               files=len(manifest["files"]), changed_since_install=changed,
               differs_from_this_lutplug=stale, this_lutplug=__version__)
    return out

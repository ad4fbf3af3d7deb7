"""The install manifest, ``MANIFEST.json`` in the plug-in folder: every file ``lutplug gimp
install`` wrote, with its SHA-256 — what ``uninstall`` removes and ``status`` checks."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, List, Optional, Set

from lutplug.errors import LutError

MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = "lutplug-gimp-plugin/1"
#: Folders Python writes beside the modules it imports (never ours, never the user's).
BYTECODE = ("__pycache__",)




def read_manifest(folder: Path) -> Optional[dict]:
    """The manifest of an installed folder; None when there is none (not installed by lutplug).
    Raises :class:`LutError` when it is unreadable or not a lutplug manifest."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LutError(f"install manifest is unreadable ({exc})", path) from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise LutError("not a lutplug install manifest", path)
    return data


def foreign_files(folder: Path, manifest: dict) -> List[str]:
    """Files in an installed folder that the installation did not write (bytecode excluded)."""
    ours = set(manifest.get("files", {}))
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if (p.is_dir() or rel in ours or rel == MANIFEST
                or any(part in BYTECODE for part in p.parts)):
            continue
        out.append(rel)
    return out


def all_parents(dirs: Iterable[str]) -> Set[str]:
    """Every folder on the way to each of ``dirs`` (relative POSIX paths), those included."""
    out = set()
    for d in dirs:
        parts = d.split("/")
        for k in range(1, len(parts) + 1):
            out.add("/".join(parts[:k]))
    return out

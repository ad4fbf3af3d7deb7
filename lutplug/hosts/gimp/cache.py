"""Parsed LUT files kept between runs of the filter (a 65³ .cube takes about a second to parse,
its cached table milliseconds)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from lutplug import __version__
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.errors import PathLike


class LutCache:
    """Parsed LUT files, keyed by the SHA-256 of the file's bytes and the lutplug version, as
    .npz files in ``folder`` (at most ``keep`` of them, the least recently used go first).
    A damaged or unreadable entry is ignored (the file is parsed again)."""

    def __init__(self, folder: PathLike, keep: int = 32):
        self.folder = Path(folder)
        self.keep = keep

    def _path(self, digest: str) -> Path:
        return self.folder / f"{digest[:32]}-{__version__}.npz"

    def get(self, digest: str) -> Optional[Tuple[LUT3D, str]]:
        """(LUT, how it was read) cached for a file with this SHA-256, or None."""
        path = self._path(digest)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("sha256") != digest:
                    return None
                shaper = None
                if "shaper" in z.files:
                    shaper = LUT1D(z["shaper"], z["shaper_domain"][0], z["shaper_domain"][1])
                lut = LUT3D(z["table"], z["domain"][0], z["domain"][1], shaper=shaper,
                            title=meta.get("title", ""), comments=meta.get("comments", []),
                            interpolation=meta.get("interpolation", "tetrahedral"))
            os.utime(path)
            return lut, meta.get("detail", "")
        except Exception:  # noqa: BLE001 - a cache miss, whatever the reason
            return None

    def put(self, digest: str, lut: LUT3D, detail: str = "") -> None:
        """Keep ``lut`` for the file with this SHA-256 (a read-only or full folder is no error)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            meta = {"sha256": digest, "title": lut.title, "comments": list(lut.comments)[:20],
                    "interpolation": lut.interpolation, "detail": detail}
            arrays: Dict[str, Any] = {  # (Any: np.savez's keywords)
                "table": lut.table, "domain": np.stack([lut.domain_min, lut.domain_max]),
                "meta": np.array(json.dumps(meta))}
            if lut.shaper is not None:
                arrays["shaper"] = lut.shaper.table
                arrays["shaper_domain"] = np.stack([lut.shaper.domain_min, lut.shaper.domain_max])
            final = self._path(digest)
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, final)
            entries = sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)
            for old in entries[:-self.keep] if len(entries) > self.keep else []:
                old.unlink()
        except OSError:
            pass  # a read-only or full cache folder only costs speed

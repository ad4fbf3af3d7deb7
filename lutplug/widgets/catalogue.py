"""The items of a :class:`~lutplug.widgets.PackBrowser`: LUT and .nlut files of a folder, each
.nlut paired with the LUT it was made from when that file is there too, with size, ratio, ΔE00,
the .nlut's info text and a thumbnail of the picture through the grade."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Iterable, List, Optional, Union

import numpy as np

from lutplug.errors import LutError
from lutplug.metrics import quality_report
from lutplug.widgets.comparison import apply_grade
from lutplug.widgets.images import ImageLike, downscale, encode_png, load_image, to_uint8

#: Extensions listed when a folder is scanned (the LUT formats lutplug reads, and .nlut).
LUT_SUFFIXES = (".cube", ".3dl", ".spi3d", ".spi1d", ".csp", ".clf", ".ctf", ".png", ".tif", ".tiff")
NLUT_SUFFIX = ".nlut"
THUMB_WIDTH = 200

Paths = Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]]]


@dataclasses.dataclass
class PackItem:
    """One card. ``compressed`` is the .nlut (None for a LUT without one), ``original`` the LUT
    (None for a .nlut whose source is not in the folder). ``nbytes`` is the size of the file the
    card stands for (the .nlut when there is one); ``ratio`` = original bytes / ``nbytes``.
    ``de_mean`` / ``de_max``: ΔE00 over the LUT domain, ``quality`` says where they come from;
    ``info``: the .nlut's info text (:meth:`~lutplug.codec.nlut.OpenedNlut.summary_lines`)."""

    name: str
    compressed: Optional[Path]
    original: Optional[Path]
    nbytes: int
    original_bytes: Optional[int] = None
    ratio: Optional[float] = None
    de_mean: Optional[float] = None
    de_max: Optional[float] = None
    quality: str = ""
    error: str = ""
    thumbnail: bytes = b""
    info: str = ""

    @property
    def comparable(self) -> bool:
        return self.compressed is not None and not self.error


def collect_files(paths: Paths) -> List[Path]:
    """Files to list: a folder gives its LUT and .nlut files (not recursive, sorted by name); a
    file is taken as is; an iterable may mix both."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: List[Path] = []
    for entry in paths:
        p = Path(entry)
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file()
                            and f.suffix.lower() in LUT_SUFFIXES + (NLUT_SUFFIX,))
        elif p.is_file():
            files.append(p)
        else:
            raise LutError("no such file or folder", p)
    return files


def _source_name(nlut: Any) -> Optional[str]:
    return nlut.description.get("provenance", {}).get("source")


def _find_original(nlut_path: Path, nlut: Any, luts: List[Path]) -> Optional[Path]:
    """The LUT a .nlut was made from: the file its provenance names, else one with its stem."""
    by_name = {p.name: p for p in luts}
    source = _source_name(nlut)
    if source in by_name:
        return by_name[source]
    same_stem = [p for p in luts if p.stem == nlut_path.stem]
    return same_stem[0] if same_stem else None


def scan_pack(paths: Paths, image: ImageLike = None, thumb_width: int = THUMB_WIDTH,
              n_random: int = 20_000) -> List[PackItem]:
    """One :class:`PackItem` per .nlut (with its original when found) and per LUT that no .nlut
    was made from. A pair's ΔE00 is measured (lattice + ``n_random`` seeded points); a lone
    .nlut shows the quality stored in it at compression. A file that cannot be read becomes an
    item with ``error`` set. A .nlut is opened under the environment's trust policy
    (:func:`~lutplug.codec.nlut.open_nlut`)."""
    from lutplug.codec.nlut import is_nlut_path, open_nlut
    from lutplug.core.load import load_lut3d

    files = collect_files(paths)
    nluts = [p for p in files if is_nlut_path(p)]
    luts = [p for p in files if p not in nluts]
    pixels, _ = load_image(image)
    h, w = pixels.shape[:2]
    small = downscale(pixels, max(1, thumb_width * round(thumb_width * h / w)))
    items: List[PackItem] = []
    used: set = set()
    for path in nluts:
        item = PackItem(path.stem, path, None, path.stat().st_size)
        try:
            opened = open_nlut(path)
            nlut, item.info = opened.nlut, "\n".join(opened.summary_lines())
            item.original = _find_original(path, nlut, luts)
            if item.original is not None:
                used.add(item.original)
                original = load_lut3d(item.original)
                item.original_bytes = item.original.stat().st_size
                rep = quality_report(original, nlut, n_random=n_random)
                item.de_mean, item.de_max = rep.de_mean, rep.de_max
                item.quality = f"measured against {item.original.name} ({rep.points} points)"
            else:
                stored = nlut.description.get("quality", {})
                item.original_bytes = nlut.description.get("provenance", {}).get("source_bytes")
                item.de_mean, item.de_max = stored.get("de_mean"), stored.get("de_max")
                item.quality = (f"stored in the .nlut (source {_source_name(nlut) or 'unknown'} "
                                "not in the folder)")
            if item.original_bytes:
                item.ratio = item.original_bytes / item.nbytes
            item.thumbnail = _thumbnail(nlut, small)
        except LutError as exc:
            item.error = str(exc)
        items.append(item)
    for path in luts:
        if path in used:
            continue
        item = PackItem(path.stem, None, path, path.stat().st_size, original_bytes=path.stat().st_size,
                        quality="no .nlut made from it here")
        try:
            item.thumbnail = _thumbnail(load_lut3d(path), small)
        except LutError as exc:
            item.error = str(exc)
        items.append(item)
    return items


def _thumbnail(transform: Any, pixels: np.ndarray) -> bytes:
    return encode_png(to_uint8(apply_grade(transform, pixels)))

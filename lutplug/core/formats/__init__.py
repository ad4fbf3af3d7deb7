"""LUT file formats: one module per format (``read``/``write`` pair), a registry, detection.

>>> from lutplug.core.formats import format_names
>>> "cube" in format_names()
True
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from lutplug.core.lut import LUT1D, LUT3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import NamedBytes, Source, local_file


@dataclass(frozen=True)
class Format:
    """A registered format: its module (imported lazily) and the extensions it claims."""

    name: str
    module: str
    extensions: Tuple[str, ...]
    writable: bool

    def load(self):
        return importlib.import_module(f"lutplug.core.formats.{self.module}")


_FORMATS: Dict[str, Format] = {f.name: f for f in (
    Format("cube", "cube", (".cube",), True),
    Format("3dl", "threedl", (".3dl",), False),
    Format("spi3d", "spi", (".spi3d",), True),
    Format("spi1d", "spi", (".spi1d",), False),
    Format("csp", "csp", (".csp",), False),
    Format("clf", "clf", (".clf", ".ctf"), True),
    Format("hald", "hald", (".png", ".tif", ".tiff"), True),
    Format("strip", "hald", (), False),
    Format("ocio", "ocio_sampled", (), False),
)}


def format_names() -> Tuple[str, ...]:
    """Names of all registered formats."""
    return tuple(_FORMATS)


def writable_formats() -> Tuple[str, ...]:
    """Names of formats lutplug can write."""
    return tuple(n for n, f in _FORMATS.items() if f.writable)


def _by_extension(path: Path) -> Optional[Format]:
    ext = path.suffix.lower()
    for fmt in _FORMATS.values():
        if ext in fmt.extensions:
            return fmt
    return None


#: Formats read by a library that opens the file itself (given bytes, they get a file to open).
_NEED_A_FILE = ("clf", "hald", "strip", "ocio")


def detect_format(path: Source) -> str:
    """Format name for ``path`` (or a file's :class:`~lutplug.fileio.NamedBytes`): by extension,
    then by content; ``"ocio"`` (sample through an OpenColorIO processor) for anything else."""
    fmt = _by_extension(Path(str(path)))
    if fmt is not None:
        return fmt.name
    if isinstance(path, NamedBytes):
        head = path.data[:4096]
    else:
        try:
            with open(path, "rb") as fh:
                head = fh.read(4096)
        except OSError as exc:
            raise LutError(f"cannot read file ({exc.strerror})", path) from None
    for name in ("cube", "3dl", "spi3d", "spi1d", "csp", "clf", "hald"):
        module = _FORMATS[name].load()
        sniff = getattr(module, f"sniff_{name}", None) or getattr(module, "sniff", None)
        if sniff is not None and sniff(head):
            return name
    return "ocio"


def _module_for(path: Source, format: Optional[str]):
    name = format or detect_format(path)
    if name not in _FORMATS:
        raise LutError(f"unknown format {name!r}; known: {', '.join(_FORMATS)}", path)
    return name, _FORMATS[name].load()


def read_lut(path: Source, format: Optional[str] = None) -> Union[LUT3D, LUT1D]:
    """Read any supported LUT file (a path, or its :class:`~lutplug.fileio.NamedBytes`) into a
    :class:`LUT3D` or :class:`LUT1D`.

    Raises :class:`LutError` naming the file (and line) for anything unusable.
    """
    name, module = _module_for(path, format)
    reader = getattr(module, f"read_{name}", None) or module.read
    if isinstance(path, NamedBytes) and name in _NEED_A_FILE:
        with local_file(path) as file:
            try:
                lut = reader(file)
            except LutError as exc:
                raise LutError(exc.message, path, exc.line) from None
        lut.source = path.name
        return lut
    try:
        return reader(path)
    except LutError as exc:
        raise exc.with_path(path) from None


def write_lut(lut: Union[LUT3D, LUT1D], path: PathLike, format: Optional[str] = None,
              **options) -> None:
    """Write ``lut`` to ``path`` atomically in ``format`` (default: from the extension)."""
    p = Path(path)
    fmt = _FORMATS.get(format) if format else _by_extension(p)
    if fmt is None or not fmt.writable:
        raise LutError(f"cannot write this format; writable: {', '.join(writable_formats())} "
                       f"(extensions .cube .spi3d .clf .png)", path)
    module = fmt.load()
    writer = getattr(module, f"write_{fmt.name}", None) or module.write
    writer(lut, p, **options)

"""A grade to compare: a LUT file, a .nlut, or an object already loaded, with the name and the
byte size a reviewer wants to see next to it."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from lutplug.core.lut import LUT1D
from lutplug.errors import LutError


@dataclasses.dataclass
class Grade:
    """``transform`` maps input RGB (..., 3) to output RGB (``apply``, ``input_domain``).

    ``nbytes``: size of the file it came from; for an object without a file, the bytes it would
    take (``to_bytes`` of a NeuralLUT) or None (a LUT3D built in memory)."""

    transform: Any
    name: str
    path: Optional[Path] = None
    nbytes: Optional[int] = None


def open_grade(grade: Any, role: str = "grade") -> Grade:
    """``grade``: a path to any LUT file or .nlut (opened under the environment's trust policy,
    :func:`~lutplug.codec.nlut.open_nlut`), a :class:`~lutplug.core.lut.LUT3D` / ``LUT1D``, a
    ``NeuralLUT``, or a :class:`Grade` (returned as is). ``role`` names it in errors."""
    if isinstance(grade, Grade):
        return grade
    if isinstance(grade, (str, os.PathLike)):
        from lutplug.codec.nlut import is_nlut_path, open_nlut
        from lutplug.core.load import load_lut3d

        path = Path(grade)
        if not path.is_file():
            raise LutError(f"{role}: file not found", path)
        transform = open_nlut(path).nlut if is_nlut_path(path) else load_lut3d(path)
        return Grade(transform, path.name, path, path.stat().st_size)
    if isinstance(grade, LUT1D):
        from lutplug.core.load import as_lut3d

        grade = as_lut3d(grade)
    if not (hasattr(grade, "apply") and hasattr(grade, "input_domain")):
        raise LutError(f"{role}: expected a LUT or .nlut path, a LUT3D or a NeuralLUT, got "
                       f"{type(grade).__name__}")
    found = _file_of(grade)
    if found is not None:
        return Grade(grade, found.name, found, found.stat().st_size)
    if hasattr(grade, "to_bytes"):  # a NeuralLUT not saved yet: the bytes its file would have
        return Grade(grade, getattr(grade, "title", "") or "NeuralLUT (not saved)", None,
                     len(grade.to_bytes()))
    size = getattr(grade, "size", "?")
    return Grade(grade, f"{getattr(grade, 'title', '') or 'LUT3D'} {size}³ (in memory)", None, None)


def _file_of(grade: Any) -> Optional[Path]:
    """The file ``grade`` was read from, if it still holds exactly that: a LUT3D keeps its
    ``source`` through ``resample`` and edits, so its table is checked against the file."""
    source = getattr(grade, "source", None)
    if not (isinstance(source, (str, os.PathLike)) and os.path.isfile(source)):
        return None
    if not hasattr(grade, "table"):  # some other transform object: trust its source
        return Path(source)
    from lutplug.core.load import load_lut3d

    try:
        on_disk = load_lut3d(source)
    except LutError:
        return None
    same = (on_disk.table.shape == grade.table.shape and np.array_equal(on_disk.table, grade.table)
            and (on_disk.shaper is None) == (grade.shaper is None))
    return Path(source) if same else None

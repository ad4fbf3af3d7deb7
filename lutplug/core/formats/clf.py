"""Academy/ASC Common LUT Format ``.clf`` (SMPTE ST 2136-1, CLF 2 and 3) and OCIO ``.ctf``.

Reading goes through OpenColorIO (the reference CLF implementation): the file's processor ops are
inspected and, when they are a per-channel pre part (``Range``, diagonal ``Matrix``, one
``LUT1D``) followed by one forward ``LUT3D`` (plus trailing scale/offset ops), the tables are
extracted exactly — values normalised by the file's bit depths as OCIO does (a ``12i`` table is
divided by 4095; a ``10i`` input means 0..1023 ↦ 0..1, so the domain is 0..1 in normalised
units). Anything else (matrices mixing channels before the LUT, CDL, log ops, ``InverseLUT3D``)
is sampled from the processor on a 65³ lattice (see
:mod:`lutplug.core.formats.ocio_sampled`), and the comments say so. A ``LUT3D`` whose file asks
for ``trilinear`` interpolation is recorded in the comments ("interpolation: trilinear").

``ProcessList`` ``name`` becomes the title; ``Description`` elements become comments.

Writing (:func:`write_clf`) produces CLF 3.0: ``[Range|Matrix → LUT1D (shaper)] → [Range|Matrix]
→ LUT3D`` (tetrahedral), 32-bit float throughout, values with 9 significant digits (float32
exact). ``Range`` (clamping, as the LUTs clamp their input anyway) is used when the domain is the
same on every channel, a 3×4 ``Matrix`` otherwise. LUT3D arrays are blue fastest.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import List, Union
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from lutplug.core.formats import ocio_sampled
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write, read_bytes

EXTENSIONS = (".clf", ".ctf")
_CLF_NS = "http://www.smpte-ra.org/ns/2136-1/2024"
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def sniff(head: bytes) -> bool:
    """True when ``head`` looks like a CLF/CTF XML document."""
    return b"<ProcessList" in head


def read(path: PathLike) -> Union[LUT3D, LUT1D]:
    """Read a .clf/.ctf file through OpenColorIO (exact tables where possible, else sampled)."""
    data = read_bytes(path)
    if b"<" not in data[:4096]:
        raise LutError("not an XML document: a .clf/.ctf file starts with '<?xml' or "
                       "'<ProcessList'", path)
    processor = ocio_sampled.load_processor(path)
    lut = ocio_sampled.lut_from_processor(processor, path)
    try:
        meta = processor.createGroupTransform().getFormatMetadata()
        attrs = dict(meta.getAttributes())
        title = attrs.get("name", "") or ""
        notes = [c.getElementValue().strip() for c in meta.getChildElements()
                 if c.getElementName() in ("Description", "InputDescriptor", "OutputDescriptor")]
    except Exception:  # pragma: no cover - metadata is a nicety
        title, notes = "", []
    lut.title = title
    lut.comments = [n for n in notes if n] + list(lut.comments)
    return lut


read_clf = read


def _num(v: float) -> str:
    return f"{float(v):.9g}"


def _xml_text(s: str) -> str:
    return escape(_BAD_XML_CHARS.sub(" ", str(s)))


def _range_or_matrix(dmin: np.ndarray, dmax: np.ndarray, name: str) -> List[str]:
    """Op mapping ``[dmin, dmax]`` per channel onto 0..1 (none when already 0..1)."""
    if np.all(dmin == 0) and np.all(dmax == 1):
        return []
    if np.all(dmin == dmin[0]) and np.all(dmax == dmax[0]):
        return [f'    <Range inBitDepth="32f" outBitDepth="32f" name={quoteattr(name)}>',
                f"        <minInValue>{dmin[0]:.17g}</minInValue>",
                f"        <maxInValue>{dmax[0]:.17g}</maxInValue>",
                "        <minOutValue>0</minOutValue>",
                "        <maxOutValue>1</maxOutValue>",
                "    </Range>"]
    scale = 1.0 / (dmax - dmin)
    offset = -dmin * scale
    rows = []
    for c in range(3):
        row = [0.0, 0.0, 0.0, offset[c]]
        row[c] = scale[c]
        rows.append("            " + " ".join(f"{v:.17g}" for v in row))
    return [f'    <Matrix inBitDepth="32f" outBitDepth="32f" name={quoteattr(name)}>',
            '        <Array dim="3 4">', *rows, "        </Array>", "    </Matrix>"]


def _lut1d(table: np.ndarray, name: str) -> List[str]:
    rows = "\n".join(" ".join(_num(v) for v in row) for row in table.tolist())
    return [f'    <LUT1D inBitDepth="32f" outBitDepth="32f" interpolation="linear" '
            f"name={quoteattr(name)}>",
            f'        <Array dim="{table.shape[0]} 3">', rows, "        </Array>", "    </LUT1D>"]


def write_clf(lut: Union[LUT3D, LUT1D], path: PathLike) -> None:
    """Write ``lut`` as CLF 3.0 that OpenColorIO reads back to the same numbers."""
    if not isinstance(lut, (LUT3D, LUT1D)):
        raise LutError("write_clf needs a LUT3D or LUT1D", path)
    ops: List[str] = []
    if isinstance(lut, LUT1D):
        ops += _range_or_matrix(lut.domain_min, lut.domain_max, "input range")
        ops += _lut1d(lut.table, "1D LUT")
    else:
        if lut.shaper is not None:
            ops += _range_or_matrix(lut.shaper.domain_min, lut.shaper.domain_max, "shaper range")
            ops += _lut1d(lut.shaper.table, "shaper")
        ops += _range_or_matrix(lut.domain_min, lut.domain_max, "3D LUT domain")
        n = lut.size
        values = lut.table.transpose(2, 1, 0, 3).reshape(-1, 3)  # blue fastest
        rows = "\n".join(" ".join(_num(v) for v in row) for row in values.tolist())
        ops += [f'    <LUT3D inBitDepth="32f" outBitDepth="32f" interpolation="{lut.interpolation}" '
                'name="3D LUT">',
                f'        <Array dim="{n} {n} {n} 3">', rows, "        </Array>", "    </LUT3D>"]
    digest = hashlib.sha1("\n".join(ops).encode()).hexdigest()
    uid = f"lutplug-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    name = quoteattr(_BAD_XML_CHARS.sub(" ", lut.title or Path(path).stem))
    head = ['<?xml version="1.0" encoding="UTF-8"?>',
            f'<ProcessList compCLFversion="3.0" id="{uid}" name={name} xmlns="{_CLF_NS}">']
    notes = [c for c in lut.comments if str(c).strip()] or ["written by lutplug"]
    head += [f"    <Description>{_xml_text(c)}</Description>" for c in notes]
    atomic_write(path, "\n".join(head + ops + ["</ProcessList>"]) + "\n")


write = write_clf

"""A grade for OCIO: open a .nlut (path, bytes or object) under the trust policy, name its baked
cube by content hash, bake and write that cube."""
from __future__ import annotations

import collections
import copy
import os
import secrets
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Tuple, Union

from lutplug.errors import LutError, PathLike

if TYPE_CHECKING:  # the codec (numpy) is imported when a grade is used
    from lutplug.codec.nlut import NeuralLUT
    from lutplug.core.lut import LUT3D

#: Cube size written by default: the size ``lutplug apply --engine cube`` bakes, so images graded
#: through a config equal ``lutplug apply``.
DEFAULT_SIZE = 65
MIN_SIZE, MAX_SIZE = 2, 129


def load_grade(grade: Any, trusted_keys: Any = (), require_signature: bool = False) -> "NeuralLUT":
    """A ``NeuralLUT`` from a NeuralLUT, a path or .nlut bytes.

    A path or bytes is opened with :func:`lutplug.codec.nlut.open_nlut`: under the environment's
    trust policy merged with ``trusted_keys`` (a trust store or public keys) and
    ``require_signature``. An object carries only the verdict it was read with: it is accepted
    unless ``trusted_keys`` / ``require_signature`` ask for a valid signature it lacks."""
    from lutplug.codec import trust
    from lutplug.codec.nlut import NeuralLUT, open_nlut

    if isinstance(grade, NeuralLUT):
        if trusted_keys or require_signature:
            # re-check the signature from its bytes: an object carries only the earlier verdict
            if grade.signature.state != "valid":
                raise LutError(f"grade is {grade.signature.state}, but a trusted signature is "
                               "required", grade.source or "grade")
        return grade
    policy = trust.as_store(trusted_keys, require_signature)
    if isinstance(grade, (bytes, bytearray, memoryview)):
        opened = open_nlut("<bytes>", policy, data=bytes(grade))
    elif isinstance(grade, (str, os.PathLike)):
        opened = open_nlut(grade, policy)
    else:
        raise LutError(f"expected a .nlut path, bytes or NeuralLUT, got {type(grade).__name__}")
    for text in opened.warnings:  # e.g. a signature left unchecked (no cryptography package)
        warnings.warn(f"lutplug: {opened.path}: {text}", RuntimeWarning, stacklevel=2)
    return opened.nlut


def grade_hash(nlut: "NeuralLUT") -> str:
    """The grade's content hash (SHA-256 hex), computed when the object never was a file."""
    if nlut.content_hash:
        return nlut.content_hash
    from lutplug.codec import container

    nlut.content_hash = container.content_hash(nlut.to_bytes())  # unsigned bytes
    return nlut.content_hash


_BAKED: "collections.OrderedDict[Tuple[str, int], LUT3D]" = collections.OrderedDict()
_BAKED_KEEP = 4


def baked(nlut: "NeuralLUT", size: int) -> "LUT3D":
    """``nlut.bake(size)``, memoised by content hash (a 65³ bake of the network takes about a
    second; adding, verifying and packing ask for the same cube several times). Do not modify
    the returned LUT3D. A grade ending in a residual lattice is baked at its grid
    (:meth:`~lutplug.codec.nlut.NeuralLUT.bake_size`)."""
    size = nlut.bake_size(check_size(size))
    key = (grade_hash(nlut), size)
    if key in _BAKED:
        _BAKED.move_to_end(key)
        return _BAKED[key]
    lut = nlut.bake(size)
    _BAKED[key] = lut
    while len(_BAKED) > _BAKED_KEEP:
        _BAKED.popitem(last=False)
    return lut


def check_size(size: int) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
        raise LutError(f"cube size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    return size


def cube_stem(nlut: "NeuralLUT", size: int) -> str:
    """File name (no extension) of a grade's baked cube: content hash and size, so a changed
    grade or size never reuses a stale file."""
    return f"lutplug-{grade_hash(nlut)[:16]}-{size}"


def write_cube(nlut: "NeuralLUT", size: int, folder: PathLike) -> Tuple[Path, bool]:
    """Bake ``nlut`` to ``size``³ and write it into ``folder`` as .cube (a Resolve 1D+3D cube when
    it has a shaper), or .clf when .cube cannot hold its per-channel ranges.

    Returns (path, written): an identical existing file is left alone (written False)."""
    from lutplug.core.formats import write_lut

    size = nlut.bake_size(check_size(size))
    folder = Path(folder)
    stem = cube_stem(nlut, size)
    lut = copy.copy(baked(nlut, size))
    lut.comments = [f"lutplug grade {grade_hash(nlut)}, baked to {size}^3 "
                    f"({lut.interpolation}); named by content hash: do not edit"]
    for ext, fmt in ((".cube", "cube"), (".clf", "clf")):
        path = folder / (stem + ext)
        tmp = folder / f".{stem}{ext}.{os.getpid()}-{secrets.token_hex(4)}.candidate"  # unique:
        # concurrent adds of one grade each write their own candidate
        try:
            write_lut(lut, tmp, fmt)
        except LutError as exc:
            if ext == ".cube" and "per-channel" in str(exc):
                continue
            raise
        except OSError as exc:
            raise LutError(f"cannot write the baked cube ({exc.strerror})", folder) from None
        try:
            if path.is_file() and path.read_bytes() == tmp.read_bytes():
                tmp.unlink()
                return path, False
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise LutError(f"cannot write the baked cube ({exc.strerror})", path) from None
        return path, True
    raise LutError("no cube format can hold this grade")  # pragma: no cover


def grade_tags(nlut: "NeuralLUT") -> Tuple[str, str]:
    """(input, output) colour-space tags stored in the grade ("" when absent)."""
    cs = nlut.description.get("colorspace") or {}
    if not isinstance(cs, dict):
        return "", ""
    return str(cs.get("input") or ""), str(cs.get("output") or "")


def grade_label(nlut: "NeuralLUT", fallback: str = "") -> str:
    return nlut.title or fallback or grade_hash(nlut)[:16]


GradeLike = Union[str, "os.PathLike[str]", bytes]

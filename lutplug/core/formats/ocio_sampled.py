"""Any LUT file OpenColorIO can read, brought into the lutplug model through OCIO itself.

:func:`lut_from_ocio` loads the file as an OCIO ``FileTransform`` and inspects the processor's ops
(``createGroupTransform()``):

* **Exact** — when the ops are ``[per-channel affine] [Lut1D] [per-channel affine] Lut3D
  [per-channel affine]`` (affine = diagonal ``Matrix``/``Range`` ops, whose clamps must be no
  stricter than the LUTs' own clamping), the tables are copied as they are: the 1D LUT becomes
  the shaper, the affines become the domains, a trailing affine is folded into the table values.
  ``[affine] Lut1D [affine]`` alone gives a :class:`LUT1D`. OCIO's ``Lut3DTransform.getData()``
  is blue-fastest (``data[r, g, b]``) and already normalised by the file's bit depths.
* **Sampled** — otherwise (matrices mixing channels, CDL, log, inverse LUTs, …) the processor is
  evaluated on a lattice (65³ by default). The input domain comes from the ops ahead of the
  first LUT: the box of inputs that reach the LUT's 0..1 range (0..1 when that cannot be
  told). A wide domain (more than 4 units, scene-linear data) gets a log-like shaper
  ``log(1 + K·t) / log(1 + K)`` on the normalised input ``t`` so that dark values keep lattice
  nodes. Processors without channel crosstalk are sampled into a 4096-entry :class:`LUT1D`.
  The comments record what was sampled.

``read(path)`` is the entry point for files no other lutplug reader claims.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from lutplug.core.lut import LUT1D, LUT3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import read_bytes
from lutplug.optional import import_ocio

#: Lattice size used when a processor has to be sampled.
SAMPLE_SIZE = 65
#: Entries of a sampled 1D LUT (processors without crosstalk).
SAMPLE_LENGTH_1D = 4096
#: Entries of the log-like shaper used for wide (scene-linear) sampled domains.
SHAPER_LENGTH = 4096
#: Shaper curvature: ``log(1 + K t) / log(1 + K)``; the first of 65 lattice nodes above the
#: domain minimum then sits ~1e-3 of the domain width above it.
SHAPER_K = 64.0
_UNIT_TOL = 1e-6
#: Grid of the forward LUT OpenColorIO bakes an inverse 3D LUT into (Lut3DOpData.cpp).
FAST_INVERSE_GRID = 48


def _ocio():
    return import_ocio("reading this format")


def load_processor(path: PathLike):
    """OCIO processor of ``path`` as a ``FileTransform`` (tetrahedral where the file does not
    name an interpolation). Raises :class:`LutError` when OCIO cannot read the file."""
    ocio = _ocio()
    read_bytes(path)  # existence, size, emptiness checks with clear messages
    ocio.ClearAllCaches()  # OCIO caches files by path: a rewritten file must be read anew
    config = ocio.Config.CreateRaw()
    transform = ocio.FileTransform(os.fspath(os.path.abspath(os.fspath(path))),
                                   interpolation=ocio.INTERP_TETRAHEDRAL)
    try:
        return config.getProcessor(transform)
    except Exception as exc:  # OCIO raises its own Exception type (and sometimes ValueError)
        msg = " ".join(str(exc).split())
        raise LutError(f"OpenColorIO cannot read this file: {msg[:300]}", path) from None


def apply_processor(processor, rgb: np.ndarray) -> np.ndarray:
    """Evaluate an OCIO processor's default CPU path at float32 RGB (..., 3)."""
    rgb = np.asarray(rgb, dtype=np.float32)
    buf = np.ascontiguousarray(rgb.reshape(-1)).copy()
    processor.getDefaultCPUProcessor().applyRGB(buf)
    return buf.reshape(rgb.shape)


# ----------------------------------------------------------------------------------------------
# Exact extraction


@dataclass
class _Affine:
    """Per-channel ``y = scale * x + offset`` with the clamp ``[lo, hi]`` applied to y."""

    scale: np.ndarray = field(default_factory=lambda: np.ones(3))
    offset: np.ndarray = field(default_factory=lambda: np.zeros(3))
    lo: np.ndarray = field(default_factory=lambda: np.full(3, -np.inf))
    hi: np.ndarray = field(default_factory=lambda: np.full(3, np.inf))

    def then(self, other: "_Affine") -> "_Affine":
        """This map followed by ``other``."""
        s, o = other.scale, other.offset
        a = s * self.lo + o
        b = s * self.hi + o
        with np.errstate(invalid="ignore"):
            lo = np.where(s >= 0, a, b)
            hi = np.where(s >= 0, b, a)
        lo = np.where(np.isnan(lo), -np.inf, lo)
        hi = np.where(np.isnan(hi), np.inf, hi)
        return _Affine(s * self.scale, s * self.offset + o,
                       np.maximum(lo, other.lo), np.minimum(hi, other.hi))

    def domain_of_unit(self) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Inputs mapped onto 0..1 — the domain of a LUT that follows — or None when the map
        reverses or its clamp is stricter than 0..1 (not representable exactly)."""
        if np.any(self.scale <= 0) or not np.all(np.isfinite(self.scale)):
            return None
        if np.any(self.lo > _UNIT_TOL) or np.any(self.hi < 1 - _UNIT_TOL):
            return None
        return (0.0 - self.offset) / self.scale, (1.0 - self.offset) / self.scale


def _as_affine(ocio, t) -> Optional[_Affine]:
    """Per-channel affine equivalent of a Matrix or Range transform, else None."""
    inverse = t.getDirection() == ocio.TRANSFORM_DIR_INVERSE
    if isinstance(t, ocio.MatrixTransform):
        m = np.asarray(t.getMatrix(), dtype=np.float64).reshape(4, 4)[:3, :3]
        off = np.asarray(t.getOffset(), dtype=np.float64)[:3]
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(off))):
            return None
        if np.any(m - np.diag(np.diag(m))) or np.any(np.diag(m) == 0):
            return None
        s = np.diag(m).copy()
        if inverse:
            s, off = 1.0 / s, -off / s
        return _Affine(s, off)
    if isinstance(t, ocio.RangeTransform):
        has = (t.hasMinInValue(), t.hasMaxInValue(), t.hasMinOutValue(), t.hasMaxOutValue())
        mn_i = t.getMinInValue() if has[0] else None
        mx_i = t.getMaxInValue() if has[1] else None
        mn_o = t.getMinOutValue() if has[2] else None
        mx_o = t.getMaxOutValue() if has[3] else None
        if inverse:
            mn_i, mn_o, mx_i, mx_o = mn_o, mn_i, mx_o, mx_i
        if (mn_i is None) != (mn_o is None) or (mx_i is None) != (mx_o is None):
            return None
        if mn_i is not None and mx_i is not None and mn_o is not None and mx_o is not None:
            if mx_i == mn_i:
                return None
            scale = (mx_o - mn_o) / (mx_i - mn_i)
            offset = mn_o - scale * mn_i
        elif mn_i is not None:
            scale, offset = 1.0, mn_o - mn_i
        elif mx_i is not None:
            scale, offset = 1.0, mx_o - mx_i
        else:
            return _Affine()
        aff = _Affine(np.full(3, scale), np.full(3, offset))
        if t.getStyle() == ocio.RANGE_CLAMP:
            if mn_o is not None:
                aff.lo = np.full(3, float(min(mn_o, mx_o) if mx_o is not None else mn_o))
            if mx_o is not None:
                aff.hi = np.full(3, float(max(mn_o, mx_o) if mn_o is not None else mx_o))
        return aff
    return None


def _lut1d_table(ocio, t) -> Optional[np.ndarray]:
    if (t.getDirection() != ocio.TRANSFORM_DIR_FORWARD or t.getInputHalfDomain()
            or t.getOutputRawHalfs() or t.getHueAdjust() != ocio.HUE_NONE
            or t.getInterpolation() == ocio.INTERP_NEAREST):
        return None
    return np.asarray(t.getData(), dtype=np.float64).reshape(t.getLength(), 3)


def _lut3d_table(ocio, t) -> Optional[Tuple[np.ndarray, str]]:
    if (t.getDirection() != ocio.TRANSFORM_DIR_FORWARD
            or t.getInterpolation() == ocio.INTERP_NEAREST):
        return None
    n = t.getGridSize()
    data = np.asarray(t.getData(), dtype=np.float64).reshape(n, n, n, 3)  # [r, g, b]
    interp = t.getInterpolation()
    method = ("tetrahedral" if interp in (ocio.INTERP_TETRAHEDRAL, ocio.INTERP_BEST)
              else "trilinear")
    return data.transpose(2, 1, 0, 3), method


def _describe(ocio, ops) -> str:
    return ", ".join(type(t).__name__.replace("Transform", "") for t in ops) or "no ops"


def extract_exact(ocio, ops, source: str) -> Tuple[Optional[Union[LUT3D, LUT1D]], str]:
    """The exact :class:`LUT3D`/:class:`LUT1D` of an op list, or (None, reason)."""
    stages: List[Any] = []
    affine = _Affine()
    for t in ops:
        aff = _as_affine(ocio, t)
        if aff is not None:
            affine = affine.then(aff)
            continue
        if isinstance(t, ocio.Lut1DTransform):
            table = _lut1d_table(ocio, t)
            if table is None:
                return None, "a 1D LUT that is inverse, half-domain, hue-adjusted or nearest"
            stages += [affine, ("1d", table)]
        elif isinstance(t, ocio.Lut3DTransform):
            got = _lut3d_table(ocio, t)
            if got is None:
                return None, "an inverse (or nearest-neighbour) 3D LUT"
            stages += [affine, ("3d",) + got]
        else:
            return None, f"a {type(t).__name__} that is not a per-channel scale/offset"
        affine = _Affine()
    stages.append(affine)
    kinds = [s[0] for s in stages[1::2]]
    if kinds not in (["1d"], ["3d"], ["1d", "3d"]):
        return None, f"LUT sequence {kinds or 'with no LUT'} (need [1D] + 3D, or one 1D)"
    post: _Affine = stages[-1]
    # The final affine is folded into the table values; its clamp must not bite.
    def fold(values: np.ndarray) -> Optional[np.ndarray]:
        out = values * post.scale + post.offset
        if np.any(out < post.lo - 1e-7) or np.any(out > post.hi + 1e-7):
            return None
        return out

    first = stages[0].domain_of_unit()
    if first is None:
        return None, "a reversing scale or a clamp narrower than the LUT input"
    if kinds == ["1d"]:
        table = fold(stages[1][1])
        if table is None:
            return None, "a clamp after the LUT that changes its values"
        return LUT1D(table, first[0], first[1], source=source), ""
    shaper = None
    if kinds == ["1d", "3d"]:
        shaper = LUT1D(stages[1][1], first[0], first[1], source=source)
        mid = stages[2].domain_of_unit()
        if mid is None:
            return None, "a reversing scale or a clamp narrower than the 3D LUT input"
        dmin, dmax = mid
        _, table, method = stages[3]
    else:
        dmin, dmax = first
        _, table, method = stages[1]
    table = fold(table)
    if table is None:
        return None, "a clamp after the LUT that changes its values"
    comments = []
    if method != "tetrahedral":
        comments.append("interpolation: trilinear (as the file requests)")
    return LUT3D(table, dmin, dmax, shaper=shaper, comments=comments, source=source,
                 interpolation=method if method == "trilinear" else "tetrahedral"), ""


# ----------------------------------------------------------------------------------------------
# Sampling


def infer_domain(ocio, ops) -> Tuple[np.ndarray, np.ndarray, str]:
    """Input box whose image reaches the first LUT's 0..1 input, from the (any 3×4) affine ops
    ahead of it; 0..1 when there is no such LUT or a non-affine op comes first."""
    m = np.eye(3)
    o = np.zeros(3)
    for t in ops:
        if isinstance(t, ocio.MatrixTransform):
            mm = np.asarray(t.getMatrix(), dtype=np.float64).reshape(4, 4)[:3, :3]
            oo = np.asarray(t.getOffset(), dtype=np.float64)[:3]
            if not (np.all(np.isfinite(mm)) and np.all(np.isfinite(oo))):
                break
            if t.getDirection() == ocio.TRANSFORM_DIR_INVERSE:
                try:
                    mm = np.asarray(np.linalg.inv(mm), dtype=np.float64)
                except np.linalg.LinAlgError:
                    break
                oo = -mm @ oo
            m, o = mm @ m, mm @ o + oo
            continue
        aff = _as_affine(ocio, t)
        if aff is not None:
            m, o = aff.scale[:, None] * m, aff.scale * o + aff.offset
            continue
        is_lut = ((isinstance(t, ocio.Lut1DTransform) and not t.getInputHalfDomain())
                  or isinstance(t, ocio.Lut3DTransform))
        if is_lut and t.getDirection() == ocio.TRANSFORM_DIR_FORWARD:
            try:
                inv = np.linalg.inv(m)
            except np.linalg.LinAlgError:
                break
            corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)],
                               dtype=np.float64)
            pts = (corners - o) @ inv.T
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi > lo):
                return lo, hi, f"the input range of the first {type(t).__name__}"
        break
    return np.zeros(3), np.ones(3), "default 0..1"


def _log_shaper(lo: np.ndarray, hi: np.ndarray, source: Optional[str]) -> LUT1D:
    t = np.linspace(0.0, 1.0, SHAPER_LENGTH)
    curve = np.log1p(SHAPER_K * t) / np.log1p(SHAPER_K)
    return LUT1D(np.repeat(curve[:, None], 3, axis=1), lo, hi, source=source,
                 comments=[f"log shaper log(1+{SHAPER_K:g}t)/log(1+{SHAPER_K:g})"])


def sample_processor(processor, lo: np.ndarray, hi: np.ndarray, size: int = SAMPLE_SIZE,
                     source: Optional[str] = None, shaper: Optional[bool] = None
                     ) -> Union[LUT3D, LUT1D]:
    """Sample ``processor`` over the input box ``[lo, hi]``: a 1D LUT without crosstalk, else a
    ``size``³ lattice (with a log-like shaper when ``shaper`` or, by default, the box is wider
    than 4)."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    if not processor.hasChannelCrosstalk():
        x = lo + np.linspace(0.0, 1.0, SAMPLE_LENGTH_1D)[:, None] * (hi - lo)
        return LUT1D(apply_processor(processor, x), lo, hi, source=source,
                     comments=[f"sampled from OpenColorIO: {SAMPLE_LENGTH_1D} entries over "
                               f"{_fmt(lo)}..{_fmt(hi)}"])
    if shaper is None:
        shaper = bool(np.any(hi - lo > 4.0))
    u = np.linspace(0.0, 1.0, size)
    comments = [f"sampled from OpenColorIO on a {size}³ lattice over {_fmt(lo)}..{_fmt(hi)}"]
    sh = None
    if shaper:
        sh = _log_shaper(lo, hi, source)
        ramp = np.linspace(0.0, 1.0, sh.size)
        # Node inputs: the exact inverse of the piecewise-linear shaper (so nodes sit where the
        # shaper sends them).
        axes = [lo[c] + np.interp(u, sh.table[:, c].astype(np.float64), ramp) * (hi[c] - lo[c])
                for c in range(3)]
        comments.append(sh.comments[0] + " ahead of the lattice")
    else:
        axes = [lo[c] + u * (hi[c] - lo[c]) for c in range(3)]
    b, g, r = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    nodes = np.stack([r, g, b], axis=-1).astype(np.float32)
    table = apply_processor(processor, nodes)
    if not np.all(np.isfinite(table)):
        raise LutError("the OpenColorIO transform gives NaN or infinite values on its domain",
                       source)
    if sh is not None:
        return LUT3D(table, shaper=sh, comments=comments, source=source)
    return LUT3D(table, lo, hi, comments=comments, source=source)


def _fmt(v: np.ndarray) -> str:
    v = np.asarray(v)
    if np.all(v == v[0]):
        return f"{v[0]:.6g}"
    return "(" + ", ".join(f"{x:.6g}" for x in v) + ")"


# ----------------------------------------------------------------------------------------------
# Entry points


def lut_from_ocio(path: PathLike, size: int = SAMPLE_SIZE) -> Union[LUT3D, LUT1D]:
    """Read ``path`` through OpenColorIO: exact tables when the ops allow, else sampled."""
    return lut_from_processor(load_processor(path), path, size)


def lut_from_processor(processor, path: PathLike, size: int = SAMPLE_SIZE
                       ) -> Union[LUT3D, LUT1D]:
    """The LUT of an OCIO processor loaded from ``path`` (see :func:`lut_from_ocio`)."""
    ocio = _ocio()
    src = os.fspath(path)
    try:
        ops = list(processor.createGroupTransform())
    except Exception as exc:  # pragma: no cover - defensive
        raise LutError(f"OpenColorIO cannot list the file's ops: {exc}", path) from None
    try:
        lut, reason = extract_exact(ocio, ops, src)
        if lut is not None:
            lut.comments = [f"read through OpenColorIO (ops: {_describe(ocio, ops)})"] + list(
                lut.comments)
            return lut
        if (len(ops) == 1 and isinstance(ops[0], ocio.Lut3DTransform)
                and ops[0].getDirection() == ocio.TRANSFORM_DIR_INVERSE):
            # OCIO's CPU processor renders an inverse 3D LUT as a forward 48³ LUT (trilinear)
            # built by exact inversion (MakeFastLut3DFromInverse, OPTIMIZATION_LUT_INV_FAST):
            # sampling that very lattice reproduces it exactly when evaluated trilinearly.
            lo, hi, why = np.zeros(3), np.ones(3), "the inverse 3D LUT (0..1)"
            lut = sample_processor(processor, lo, hi, FAST_INVERSE_GRID, src, shaper=False)
            if not isinstance(lut, LUT3D):  # pragma: no cover - a 3D grid samples a 3D LUT
                raise LutError("OpenColorIO gave no 3D table for the inverse 3D LUT", path)
            lut.comments = list(lut.comments)
            lut.comments.append("interpolation: trilinear (OpenColorIO renders an inverse 3D "
                                f"LUT as a {FAST_INVERSE_GRID}³ trilinear forward LUT)")
            lut.interpolation = "trilinear"
        else:
            lo, hi, why = infer_domain(ocio, ops)
            lut = sample_processor(processor, lo, hi, size, src)
    except LutError as exc:
        raise exc.with_path(path) from None
    lut.comments = [f"ops: {_describe(ocio, ops)}; not an exact LUT because of {reason}",
                    f"domain from {why}"] + list(lut.comments)
    return lut


def read(path: PathLike) -> Union[LUT3D, LUT1D]:
    """Read any LUT file OpenColorIO understands (.spimtx, .lut, .vf, .mga, .cc, .cdl, …)."""
    return lut_from_ocio(path)


read_ocio = read

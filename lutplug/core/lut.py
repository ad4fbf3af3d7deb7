"""The one in-memory LUT model: :class:`LUT3D` (with optional per-channel shaper) and :class:`LUT1D`.

Index order (documented once, used everywhere): a 3D table is float32 ``(N, N, N, 3)`` indexed
``table[b, g, r, channel]`` — R varies fastest in memory, exactly the order of .cube files.
Node ``(i_r, i_g, i_b)`` sits at input ``domain_min + (i / (N - 1)) * (domain_max - domain_min)``
per channel. A shaper (:class:`LUT1D`) is applied first; its *output* values are read as input
values of the 3D part (so they are normalised with the 3D part's domain).
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Union

import numpy as np

from lutplug.core.interpolate import linear_1d, tetrahedral, trilinear
from lutplug.errors import LutError

#: Largest grid accepted by readers (per axis). 256³×3 float32 is 200 MB; larger is refused
#: before any allocation, whatever a header claims.
MAX_GRID_3D = 256
#: Largest 1D LUT length accepted by readers.
MAX_LENGTH_1D = 1 << 20

_METHODS = ("tetrahedral", "trilinear")


def _domain(value, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise LutError(f"{name} must be 3 finite numbers, got {value!r}")
    return arr


def _finish_init(lut, table: np.ndarray, kind: str) -> None:
    """Shared checks of LUT1D/LUT3D construction: finite table, valid domain."""
    if not np.all(np.isfinite(table)):
        raise LutError(f"{kind} table contains NaN or infinite values", lut.source)
    lut.table = np.ascontiguousarray(table)
    lut.domain_min = _domain(lut.domain_min, "domain_min")
    lut.domain_max = _domain(lut.domain_max, "domain_max")
    if np.any(lut.domain_max <= lut.domain_min):
        raise LutError(f"domain_max {lut.domain_max.tolist()} must exceed domain_min "
                       f"{lut.domain_min.tolist()}", lut.source)
    lut.comments = list(lut.comments)


def _normalise(rgb: np.ndarray, dmin: np.ndarray, dmax: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.shape[-1] != 3:
        raise LutError(f"RGB input must have shape (..., 3), got {rgb.shape}")
    scale = (1.0 / (dmax - dmin)).astype(np.float32)
    return (rgb - dmin.astype(np.float32)) * scale


@dataclasses.dataclass(eq=False)
class LUT1D:
    """Per-channel 1D LUT.

    Attributes:
        table: float32 (M, 3), one curve per channel; entry i at input
            ``domain_min + i / (M - 1) * (domain_max - domain_min)``.
        domain_min, domain_max: float64 (3,), input range per channel.
        title, comments, source: descriptive metadata (source = path it was read from).
    """

    table: np.ndarray
    domain_min: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    domain_max: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(3))
    title: str = ""
    comments: Sequence[str] = ()
    source: Optional[str] = None

    def __post_init__(self) -> None:
        table = np.asarray(self.table, dtype=np.float32)
        if table.ndim == 1:
            table = np.repeat(table[:, None], 3, axis=1)
        if table.ndim != 2 or table.shape[1] != 3 or table.shape[0] < 2:
            raise LutError(f"1D table must have shape (M>=2, 3), got {table.shape}", self.source)
        _finish_init(self, table, "1D")

    @property
    def size(self) -> int:
        """Number of entries per channel."""
        return int(self.table.shape[0])

    @property
    def input_domain(self) -> tuple:
        """(min (3,), max (3,)) of the input this LUT accepts."""
        return self.domain_min, self.domain_max

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Evaluate at RGB (..., 3) in input units; returns float32 (..., 3)."""
        return linear_1d(self.table, _normalise(rgb, self.domain_min, self.domain_max))

    def is_identity(self, atol: float = 1e-6) -> bool:
        """True when the curve maps its domain onto itself linearly."""
        ramp = np.linspace(self.domain_min, self.domain_max, self.size)
        return bool(np.allclose(self.table, ramp, atol=atol))


@dataclasses.dataclass(eq=False)
class LUT3D:
    """3D LUT with an optional per-channel 1D shaper applied before it.

    Attributes:
        table: float32 (N, N, N, 3), ``table[b, g, r]`` (R fastest), N >= 2.
        domain_min, domain_max: float64 (3,), the input range the lattice spans (after the shaper).
        shaper: optional :class:`LUT1D` applied first; its domain is then the LUT's input domain.
        title, comments, source: descriptive metadata.
        interpolation: how the file asks to be evaluated, ``"tetrahedral"`` (default) or
            ``"trilinear"``; :meth:`apply` and the OCIO engine honour it.

    >>> lut = LUT3D.identity(2)
    >>> lut.apply([[0.25, 0.5, 0.75]]).tolist()
    [[0.25, 0.5, 0.75]]
    """

    table: np.ndarray
    domain_min: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    domain_max: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(3))
    shaper: Optional[LUT1D] = None
    title: str = ""
    comments: Sequence[str] = ()
    source: Optional[str] = None
    interpolation: str = "tetrahedral"

    def __post_init__(self) -> None:
        if self.interpolation not in _METHODS:
            raise LutError(f"unknown interpolation {self.interpolation!r}; use one of {_METHODS}",
                           self.source)
        table = np.asarray(self.table, dtype=np.float32)
        if (table.ndim != 4 or table.shape[3] != 3
                or not table.shape[0] == table.shape[1] == table.shape[2] or table.shape[0] < 2):
            raise LutError(f"3D table must have shape (N, N, N, 3) with N >= 2, got {table.shape}",
                           self.source)
        _finish_init(self, table, "3D")

    @classmethod
    def identity(cls, size: int = 33, domain_min=(0, 0, 0), domain_max=(1, 1, 1)) -> "LUT3D":
        """The identity mapping on ``[domain_min, domain_max]`` sampled on ``size`` nodes per axis."""
        return cls(lattice(size, domain_min, domain_max).reshape(size, size, size, 3),
                   domain_min, domain_max, title="identity")

    @property
    def size(self) -> int:
        """Nodes per axis (N)."""
        return int(self.table.shape[0])

    @property
    def input_domain(self) -> tuple:
        """(min (3,), max (3,)) of the input this LUT accepts (the shaper's domain if any)."""
        if self.shaper is not None:
            return self.shaper.domain_min, self.shaper.domain_max
        return self.domain_min, self.domain_max

    def lattice_coordinates(self, rgb: np.ndarray) -> np.ndarray:
        """Map input RGB (..., 3) through the shaper (if any) to normalised lattice coordinates
        in [0, 1] (unclamped), float32 (..., 3)."""
        rgb = np.asarray(rgb, dtype=np.float32)
        if self.shaper is not None:
            rgb = self.shaper.apply(rgb)
        return _normalise(rgb, self.domain_min, self.domain_max)

    def apply(self, rgb: np.ndarray, method: Optional[str] = None) -> np.ndarray:
        """Evaluate at input RGB (..., 3); returns float32 (..., 3).

        ``method`` is ``"tetrahedral"`` (as OCIO and Resolve) or ``"trilinear"``; default: the
        LUT's own :attr:`interpolation`.
        """
        method = method or self.interpolation
        if method not in _METHODS:
            raise LutError(f"unknown interpolation {method!r}; use one of {_METHODS}")
        u = self.lattice_coordinates(rgb)
        return (tetrahedral if method == "tetrahedral" else trilinear)(self.table, u)

    def lattice_inputs(self) -> np.ndarray:
        """Input RGB of every lattice node, float32 (N³, 3), R fastest — only meaningful
        without a shaper (with one, nodes sit at shaper *outputs*)."""
        return lattice(self.size, self.domain_min, self.domain_max)

    def resample(self, size: int, method: Optional[str] = None) -> "LUT3D":
        """The same transform on a ``size``³ lattice over the same domain (shaper kept),
        sampled with ``method`` (default: the LUT's own interpolation)."""
        u = lattice(size, (0, 0, 0), (1, 1, 1))
        fn = tetrahedral if (method or self.interpolation) == "tetrahedral" else trilinear
        table = fn(self.table, u).reshape(size, size, size, 3)
        return dataclasses.replace(self, table=table, comments=list(self.comments))


def lattice(size: int, domain_min=(0, 0, 0), domain_max=(1, 1, 1)) -> np.ndarray:
    """Lattice node positions, float32 (size³, 3) RGB, R fastest (``[b, g, r]`` order flattened)."""
    if not 2 <= size <= MAX_GRID_3D:
        raise LutError(f"lattice size must be between 2 and {MAX_GRID_3D}, got {size}")
    dmin = _domain(domain_min, "domain_min")
    dmax = _domain(domain_max, "domain_max")
    ramp = np.linspace(0.0, 1.0, size)
    out = np.empty((size, size, size, 3), dtype=np.float32)  # [b, g, r, channel]
    out[..., 0] = (dmin[0] + ramp * (dmax[0] - dmin[0]))[None, None, :]
    out[..., 1] = (dmin[1] + ramp * (dmax[1] - dmin[1]))[None, :, None]
    out[..., 2] = (dmin[2] + ramp * (dmax[2] - dmin[2]))[:, None, None]
    return out.reshape(-1, 3)


AnyLUT = Union[LUT1D, LUT3D]

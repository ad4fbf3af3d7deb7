"""Residual lattices (see :mod:`lutplug.codec.model`) and the numpy entry points that handle them:
:func:`forward_numpy` and :func:`forward_numpy_lattice`."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np

from lutplug.codec.model.bake import bake_plain, default_workers
from lutplug.codec.model.numpy_net import forward_plain, np_params


def hdr_encode(v: np.ndarray, dtype=np.float64) -> np.ndarray:
    """v up to 1, 1 + ln v above (the space residual lattices are stored in); a new array.
    Branch-free (``ln max(v, 1) + min(v, 1)``): a masked gather and scatter cost ~4x more."""
    v = np.asarray(v, dtype=dtype)
    out = np.log(np.maximum(v, 1))
    out += np.minimum(v, 1)
    return out


def hdr_decode(w: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Inverse of :func:`hdr_encode` (exponent capped at e^79); a new array."""
    w = np.asarray(w, dtype=dtype)
    e = np.clip(w, 1, 80)
    e -= 1
    return np.where(w > 1, np.exp(e, out=e), w)


def without_lattice(config: dict) -> dict:
    """``config`` less its residual lattice: the network that predicts the lattice's nodes."""
    return {k: v for k, v in config.items() if k != "lattice"}


def lattice_nodes(params, config: dict, workers: Optional[int] = None) -> np.ndarray:
    """Node values of a network with a residual lattice (see the module docstring): float32
    (N, N, N, 3) ``[b, g, r]``, the network baked to the N³ grid and corrected (slice by slice,
    on the bake's threads)."""
    spec = config["lattice"]
    p = np_params(params)
    residual = p.pop("lattice")
    step = float(spec["step"])

    def correct(b: int, nodes: np.ndarray) -> None:
        nodes[...] = corrected_nodes(hdr_encode(nodes, np.float32), step, residual[b])

    return bake_plain(p, without_lattice(config), int(spec["grid"]), workers, correct)


def residual_steps(encoded_target: np.ndarray, encoded_predicted: np.ndarray, step: float) -> np.ndarray:
    """The integer residual of a lattice: ``(target - predicted) / step`` rounded (both
    :func:`hdr_encode`-d), as :func:`residual_ints`."""
    return residual_ints(np.rint((encoded_target - encoded_predicted) / step))


def residual_ints(steps: np.ndarray) -> np.ndarray:
    """Whole numbers of steps clipped to int16, stored as int8 where every value fits, else int16."""
    q = np.clip(steps, -32767, 32767)
    return q.astype(np.int8 if np.abs(q).max(initial=0) <= np.iinfo(np.int8).max else np.int16)


def corrected_nodes(encoded: np.ndarray, step: float, residual: np.ndarray) -> np.ndarray:
    """Node values from the predictor's :func:`hdr_encode`-d nodes float32 (N, N, N, 3) and the
    integer residual: ``hdr_decode(encoded + step * residual)``, float32 (the size search
    measures exactly what decoders compute)."""
    return hdr_decode(encoded + np.float32(step) * np.asarray(residual, np.float32), np.float32)


def lattice_read(nodes: np.ndarray, u: np.ndarray, interpolation: str) -> np.ndarray:
    """``nodes`` (N, N, N, 3) read at clamped lattice coordinates ``u`` (M, 3): float32 (M, 3)."""
    from lutplug.core.interpolate import tetrahedral, trilinear

    read = {"tetrahedral": tetrahedral, "trilinear": trilinear}[interpolation]
    return read(nodes, np.clip(np.asarray(u, np.float32), 0, 1)).astype(np.float32)


def forward_numpy(params, config: dict, u: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Numpy forward pass, float32 in and out. ``u`` (M,3) in [0,1] (clamped).

    Evaluated in row chunks so the hidden activations stay in cache. With a residual lattice:
    its node values (:func:`lattice_nodes`, computed on every call) read at ``u``."""
    if "lattice" in config:
        return lattice_read(lattice_nodes(params, config), u, config["lattice"]["interpolation"])
    return forward_plain(params, config, u, chunk)


def forward_numpy_lattice(params, config: dict, size: int, workers: Optional[int] = None) -> np.ndarray:
    """The network at every node of the ``size``³ lattice over [0,1]³: float32 (size, size,
    size, 3), ``[b, g, r]`` (R fastest) — :func:`forward_numpy` of ``lattice(size)``, faster
    (:func:`lutplug.codec.model.bake.bake_plain`; ``workers`` threads). With a residual lattice:
    its nodes, read at the new grid's nodes unless it is the lattice's own."""
    if "lattice" in config:
        nodes = lattice_nodes(params, config, workers)
        if size == nodes.shape[0]:
            return nodes
        return resample_nodes(nodes, size, config["lattice"]["interpolation"], workers)
    return bake_plain(params, config, size, workers)


#: Points per task when :func:`resample_nodes` reads a lattice on threads.
RESAMPLE_CHUNK = 32_768


def resample_nodes(nodes: np.ndarray, size: int, interpolation: str,
                   workers: Optional[int] = None) -> np.ndarray:
    """``nodes`` (N, N, N, 3) read at every node of the ``size``³ lattice: float32 (size, size,
    size, 3) ``[b, g, r]``. Trilinear one axis at a time; tetrahedral point by point, in chunks
    on ``workers`` threads (default: the CPU count, at most 8): the same values on any thread
    count."""
    from lutplug.core.interpolate import trilinear_resample
    from lutplug.core.lut import lattice

    if interpolation == "trilinear":  # separable: the same values, axis by axis
        return trilinear_resample(nodes, size)
    u = lattice(size)
    out = np.empty((len(u), 3), np.float32)
    bounds = list(range(0, len(u), RESAMPLE_CHUNK)) + [len(u)]

    def read(i: int) -> None:
        out[bounds[i]:bounds[i + 1]] = lattice_read(nodes, u[bounds[i]:bounds[i + 1]], interpolation)

    workers = min(workers or default_workers(), len(bounds) - 1)
    if workers <= 1:
        for i in range(len(bounds) - 1):
            read(i)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(read, range(len(bounds) - 1)))
    return out.reshape(size, size, size, 3)

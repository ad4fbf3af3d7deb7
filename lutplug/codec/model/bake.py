"""The network at every node of a dense lattice, fast: separable first layer, reused buffers,
slices on every core with BLAS held to one thread (the same bits on any thread count)."""
from __future__ import annotations

import os
import threading
from typing import Optional

import numpy as np

from lutplug.codec.model.numpy_net import act_np, fix_rows, fix_tables, forward_plain, np_params, pwl_np


def bake_plain(params, config: dict, size: int, workers: Optional[int] = None) -> np.ndarray:
    """A network without a residual lattice at every node of the ``size``³ lattice over [0,1]³:
    float32 (size, size, size, 3), ``[b, g, r]`` (R fastest) — :func:`forward_plain` of
    ``lattice(size)``, faster.

    The input curves are per channel and the first layer (and skip) are affine, so the first
    layer's pre-activation is a sum of three per-axis tables; each B slice then needs only the
    broadcast sum, the activation and the later layers, in reused buffers. Slices run on
    ``workers`` threads (default: the CPU count, at most 8) with BLAS held to one thread each
    (threadpoolctl), so the result is the same for any ``workers``; without threadpoolctl, on one
    thread (BLAS threads inside each product and slice threads would oversubscribe the cores)."""
    L = len(config["hidden"])
    ramp = np.linspace(0.0, 1.0, size).astype(np.float32)
    if config.get("fourier", 0) or config.get("minmax", False) or not L:  # not separable
        from lutplug.core.lut import lattice

        return forward_plain(params, config, lattice(size)).reshape(size, size, size, 3)
    p = np_params(params)
    x = np.repeat(ramp[:, None], 3, axis=1)  # (size, 3): column c = channel c's values
    if config.get("in_curve", 0):
        x = x + pwl_np(p["cin"], x)
    W0, b0 = p["W0"], p["b0"]
    if config.get("center", False):
        b0 = b0 - W0.sum(axis=1)
        W0 = W0 * np.float32(2.0)
    pre = [x[:, c:c + 1] * W0[:, c][None, :] for c in range(3)]  # per axis (size, w)
    pre[2] = pre[2] + b0
    skip = config.get("skip", "identity")
    A = p["A"] if skip == "linear" else np.eye(3, dtype=np.float32)
    lin = [x[:, c:c + 1] * A[:, c][None, :] for c in range(3)]  # per axis (size, 3)
    if skip == "linear":
        lin[2] = lin[2] + p["c"]
    act = config["act"]
    hidden = config["hidden"]
    W_T = [np.ascontiguousarray(p[f"W{i}"].T) for i in range(L + 1)]  # (in, out)
    fix = _FixSlabs(p, config, ramp) if "fix" in config else None
    out = np.empty((size, size, size, 3), np.float32)
    local = threading.local()

    def slab(b: int) -> None:
        if not hasattr(local, "bufs"):  # one set of activation buffers a thread
            local.bufs = [np.empty((size, size, w), np.float32) for w in hidden]
        h = np.add(pre[0][None, :, :], (pre[1] + pre[2][b])[:, None, :], out=local.bufs[0])
        h = act_np(act, h.reshape(size * size, -1))
        for i in range(1, L):
            h = np.matmul(h, W_T[i], out=local.bufs[i].reshape(size * size, -1))
            h += p[f"b{i}"]
            h = act_np(act, h)
        y = (h @ W_T[L]).reshape(size, size, 3)
        y += p[f"b{L}"]
        if skip != "none":
            y += lin[0][None, :, :]
            y += (lin[1] + lin[2][b])[:, None, :]
        if config.get("out_curve", 0):
            y += pwl_np(p["cout"], y.reshape(-1, 3)).reshape(size, size, 3)
        if fix is not None:
            fix.add(b, y)
        out[b] = y

    def slabs(first: int, stop: int) -> None:
        for b in range(first, stop):
            slab(b)

    blas = _blas_controller()
    if blas is None:
        slabs(0, size)
        return out
    workers = min(workers or default_workers(), size)
    # BLAS on one thread also when ``workers`` is 1: the bake is then the same bits on any core count
    with blas.limit(limits=1, user_api="blas"):
        if workers <= 1:
            slabs(0, size)
        else:  # one contiguous run of slices a thread (many small tasks cost more in GIL hand-overs)
            from concurrent.futures import ThreadPoolExecutor

            bounds = np.linspace(0, size, workers + 1).round().astype(int)
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(slabs, bounds[:-1], bounds[1:]))
    return out


def default_workers() -> int:
    """Threads a bake runs on unless told: the CPU count, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


_BLAS: list = []  # [threadpoolctl.ThreadpoolController or None], made once (finding the libraries is slow)


def _blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries, or None without threadpoolctl."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _BLAS.append(None)
        else:
            _BLAS.append(ThreadpoolController())
    return _BLAS[0]


class _FixSlabs:
    """Node corrections added to the lattice over ``ramp`` (size,) per axis one B slice at a
    time: at the corrections' own grid just the corrections at their nodes, else their
    tetrahedral interpolation (as :func:`_add_fix_np`) at the nodes whose cells, found per axis,
    touch a corrected node."""

    def __init__(self, p, config, ramp: np.ndarray):
        dense, cells = fix_tables(p, config)
        self.dense, self.ramp = dense, ramp
        n = dense.shape[0]
        if ramp.size == n:
            nodes, d = fix_rows(p, config)
            self.at_nodes: Optional[dict] = {b: (nodes[nodes[:, 2] == b], d[nodes[:, 2] == b])
                                             for b in np.unique(nodes[:, 2])}
            return
        self.at_nodes = None
        i0 = np.minimum((ramp * np.float32(n - 1)).astype(np.int32), n - 2)
        self.touched = cells[np.ix_(i0, i0, i0)]

    def add(self, b: int, y: np.ndarray) -> None:
        """Add the corrections to slice ``b``, ``y`` float32 (size, size, 3) ``[g, r]``, in place."""
        if self.at_nodes is not None:
            if b in self.at_nodes:
                nodes, d = self.at_nodes[b]
                np.add.at(y, (nodes[:, 1], nodes[:, 0]), d)
            return
        touched = self.touched[b]
        if not touched.any():
            return
        from lutplug.core.interpolate import tetrahedral  # Kuhn hats summed = tetrahedral

        ramp, dense = self.ramp, self.dense
        if touched.all():
            u = np.empty(y.shape, np.float32)
            u[..., 0], u[..., 1], u[..., 2] = ramp[None, :], ramp[:, None], ramp[b]
            y += tetrahedral(dense, u)
            return
        g, r = np.nonzero(touched)
        y[g, r] += tetrahedral(dense, np.stack([ramp[r], ramp[g], np.full(r.size, ramp[b])], axis=1))

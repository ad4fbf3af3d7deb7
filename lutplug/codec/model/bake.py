"""The network at every node of a dense lattice, fast: separable first layer, reused buffers,
slices on every core with BLAS held to one thread (the same bits on any thread count)."""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable, Optional

import numpy as np

from lutplug.codec.model.numpy_net import act_np, fix_rows, fix_tables, forward_plain, np_params, pwl_np


def bake_plain(params, config: dict, size: int, workers: Optional[int] = None,
               finish: Optional[Callable[[int, np.ndarray], None]] = None) -> np.ndarray:
    """A network without a residual lattice at every node of the ``size``³ lattice over [0,1]³:
    float32 (size, size, size, 3), ``[b, g, r]`` (R fastest) — :func:`forward_plain` of
    ``lattice(size)``, faster.

    The input curves are per channel and the first layer (and skip) are affine, so the first
    layer's pre-activation is a sum of three per-axis float32 tables; each B slice then needs only
    the broadcast sum (for ReLU folded into the activation: ``relu(a + s) @ W = max(a, -s) @ W +
    s @ W``), the later layers and the per-channel output work on 3 long rows, in buffers reused
    between slices (float32 rounding: outputs in [0, 1] within ~5e-6 of :func:`forward_plain`).
    Slices run on ``workers`` threads (default: the CPU count, at most 8) with BLAS held to one thread each
    (threadpoolctl), so the result is the same for any ``workers``; without threadpoolctl, on one
    thread (BLAS threads inside each product and slice threads would oversubscribe the cores).
    ``finish(b, slice)``, when given, then changes each finished B slice float32 (size, size, 3)
    in place, on the same threads."""
    L = len(config["hidden"])
    ramp = np.linspace(0.0, 1.0, size).astype(np.float32)
    if config.get("fourier", 0) or config.get("minmax", False) or not L:  # not separable
        from lutplug.core.lut import lattice

        plain = forward_plain(params, config, lattice(size)).reshape(size, size, size, 3)
        if finish is not None:
            for b in range(size):
                finish(b, plain[b])
        return plain
    p = np_params(params)
    pre, lin = _axis_tables(p, config, ramp)
    act, hidden, skip = config["act"], config["hidden"], config.get("skip", "identity")
    W_T = [np.ascontiguousarray(p[f"W{i}"].T) for i in range(L)]  # hidden layers (in, out)
    W_out, b_out = np.ascontiguousarray(p[f"W{L}"].T), p[f"b{L}"][:, None]  # (in, 3), (3, 1)
    out = np.empty((size, size, size, 3), np.float32)
    local = threading.local()

    def slab(b: int) -> None:
        """B slice ``b``: activations float32 (G·R, width), G slowest."""
        if not hasattr(local, "bufs"):  # one set of buffers a thread: no allocation per slice
            local.bufs = [np.empty((size * size, w), np.float32) for w in hidden]
            local.row = np.empty((size, hidden[0]), np.float32)
            local.y = np.empty((size * size, 3), np.float32)
            local.rows = np.empty((3, size * size), np.float32)
            local.curve = {}
        s = np.add(pre[1], pre[2][b], out=local.row)  # (G, width): the first layer's G and B part
        h = local.bufs[0].reshape(size, size, -1)
        if act == "relu":  # relu(a + s) @ W = max(a, -s) @ W + s @ W: one pass over the activations
            np.maximum(pre[0][None, :, :], np.negative(s)[:, None, :], out=h)
            shift = s @ (W_T[1] if L > 1 else W_out)  # (G, next width): added after the next product
        else:
            h = act_np(act, np.add(pre[0][None, :, :], s[:, None, :], out=h))
            shift = np.zeros((size, 1), np.float32)
        h = h.reshape(size * size, -1)
        for i in range(1, L):
            h = np.matmul(h, W_T[i], out=local.bufs[i])
            z = h.reshape(size, size, -1)
            z += (shift + p["b1"])[:, None, :] if i == 1 else p[f"b{i}"]
            h = act_np(act, h)
        y = local.rows  # the output as 3 rows (BLAS writes 3 long rows slower: the product is copied)
        np.copyto(y, np.matmul(h, W_out, out=local.y).T)
        per_g = b_out + lin[1] + lin[2][:, b:b + 1]  # (3, G): the output's bias, the skip's G and B part
        if L == 1:
            per_g += shift.T
        y3 = y.reshape(3, size, size)
        y3 += per_g[:, :, None]
        if skip != "none":
            y3 += lin[0][:, None, :]
        if config.get("out_curve", 0):
            y += pwl_np(p["cout"], y, local.curve, axis=0)
        out[b] = y.T.reshape(size, size, 3)

    blas = _blas_controller()
    workers = min(workers or default_workers(), size) if blas is not None else 1
    with blas.limit(limits=1, user_api="blas") if blas is not None else contextlib.nullcontext():
        # BLAS on one thread also for one worker: the bake is then the same bits on any core count
        each_slab(slab, size, workers)
        if "fix" in config:
            _add_node_corrections(p, config, ramp, out)
        if finish is not None:
            each_slab(lambda b: finish(b, out[b]), size, workers)
    return out


def _axis_tables(p, config: dict, ramp: np.ndarray) -> tuple:
    """The first layer's pre-activation and the skip as sums of per-axis tables over ``ramp``
    (size,): ``pre`` three float32 (size, w) (bias in the B table), ``lin`` three float32 (3, size)
    (the linear skip's bias in the B table). Computed in float64, rounded once."""
    x = np.repeat(ramp[:, None], 3, axis=1).astype(np.float64)  # (size, 3): column c = channel c's values
    if config.get("in_curve", 0):
        x = x + pwl_np(p["cin"], ramp[:, None].repeat(3, axis=1))
    W0, b0 = p["W0"].astype(np.float64), p["b0"].astype(np.float64)
    if config.get("center", False):
        b0 = b0 - W0.sum(axis=1)
        W0 = W0 * 2.0
    pre = [x[:, c:c + 1] * W0[:, c][None, :] for c in range(3)]
    pre[2] = pre[2] + b0
    skip = config.get("skip", "identity")
    linear = skip == "linear"
    A = p["A"].astype(np.float64) if linear else np.eye(3) * (skip != "none")
    lin = [x[:, c:c + 1] * A[:, c][None, :] for c in range(3)]
    if linear:
        lin[2] = lin[2] + p["c"]
    return [t.astype(np.float32) for t in pre], [np.ascontiguousarray(t.T, np.float32) for t in lin]


def _add_node_corrections(p, config: dict, ramp: np.ndarray, out: np.ndarray, chunk: int = 1 << 18) -> None:
    """Add a network's node corrections to its lattice ``out`` float32 (size, size, size, 3)
    ``[b, g, r]`` over ``ramp`` (size,) per axis, in place: at the corrections' own grid just the
    corrections at their nodes, else their tetrahedral interpolation (as ``forward_plain``) at
    the nodes whose cells, found per axis, touch a corrected node (``chunk`` points at a time)."""
    dense, cells = fix_tables(p, config)
    n = dense.shape[0]
    if ramp.size == n:
        nodes, d = fix_rows(p, config)
        np.add.at(out, (nodes[:, 2], nodes[:, 1], nodes[:, 0]), d)
        return
    from lutplug.core.interpolate import tetrahedral  # Kuhn hats summed = tetrahedral

    i0 = np.minimum((ramp * np.float32(n - 1)).astype(np.int32), n - 2)
    b, g, r = np.nonzero(cells[np.ix_(i0, i0, i0)])
    for s in range(0, b.size, chunk):
        at = (b[s:s + chunk], g[s:s + chunk], r[s:s + chunk])
        out[at] += tetrahedral(dense, np.stack([ramp[at[2]], ramp[at[1]], ramp[at[0]]], axis=1))


def each_slab(work: Callable[[int], None], size: int, workers: int) -> None:
    """``work(b)`` for every B slice ``b`` < ``size``, on ``workers`` threads taking the next
    slice as they finish one (a thread the machine slows down then holds up no others)."""
    if workers <= 1:
        for b in range(size):
            work(b)
        return
    from concurrent.futures import ThreadPoolExecutor

    todo = iter(range(size))
    lock = threading.Lock()

    def run() -> None:
        while True:
            with lock:
                b = next(todo, None)
            if b is None:
                return
            work(b)

    with ThreadPoolExecutor(workers) as pool:
        for job in [pool.submit(run) for _ in range(workers)]:
            job.result()


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

"""The neural-LUT network: pure functions (torch and numpy twins) + a thin nn.Module.

Network (every stage optional, driven by ``config``)::

    u (M,3) RGB in [0,1] (lattice coordinates of the original 3D table; clamped)
    x = u + C_in(u)                      # per-channel input curves (residual, PWL, uniform knots)
    f = [x, sin(pi*2^k*x), cos(pi*2^k*x) for k < F]   # optional Fourier features
    f = [f, max(x_r,x_g,x_b), min(x_r,x_g,x_b)]         # optional "minmax" inputs
    f = 2 f - 1                          # optional "center"
    h = act(W_i h + b_i) for each hidden layer           # MLP
    y = A x + c + W_o h + b_o            # skip: "identity" (A=I, c=0), "linear" (A, c learned) or "none"
    y = y + C_out(clamp(y, 0, 1))        # per-channel output curves (residual, PWL)
    y = y + sum_k hat_k(u) * d_k         # optional node corrections (below)

``config`` (JSON-able)::

    {"format": "lutplug-mlp", "version": 1,
     "in_curve": K_in,           # knots per channel, 0 = none; params "cin" (3, K_in)
     "fourier": F,               # frequency count, 0 = none
     "minmax": bool,             # append max and min of the (curved) rgb to the MLP input
     "center": bool,             # MLP input is 2*f - 1 (applied after fourier/minmax)
     "hidden": [w1, w2, ...],    # params "W0","b0",...,"W{L}","b{L}" (W shape (out, in), y = x @ W.T + b)
     "act": "relu" | "silu" | "tanh" | "sin",
     "skip": "identity" | "linear" | "none",   # "linear": params "A" (3,3), "c" (3,)
     "out_curve": K_out,         # 0 = none; params "cout" (3, K_out)
     "quant": {name: {"bits": b, "mode": "tensor"|"row"}},  # informational
     "fix": {"grid": N, "count": K, "scale": s},  # optional node corrections; param "fix" int8 (K, 6)
     "lattice": {"grid": N, "step": s, "interpolation": "tetrahedral" | "trilinear"}
                                 # optional residual lattice; param "lattice" int8/int16 (N, N, N, 3)
    }

Node corrections ("fix"): K rows ``(r, g, b, dr, dg, db)`` of int8 — a node of the N³ lattice
over [0,1]³ (0 <= r,g,b <= N-1) and its correction ``d = (dr, dg, db) * s``, added with the weight
``hat_k(u) = max(0, 1 - max(0, v) + min(0, v))``, ``v = u (N-1) - node`` (max/min over the three
components) of the clamped input ``u``: a sparse residual lattice at the source table's grid,
interpolated tetrahedrally (the Kuhn triangulation's hat, :func:`kuhn_hat`) — exact at the
corrected nodes, 0 from their neighbours on. Rows add up (a node listed twice gets both).

Residual lattice ("lattice"): the function becomes a dense N³ table read with ``interpolation``
between its nodes, whose node values are the network's (everything above) corrected by the
stored integers ``Q`` (``[b, g, r, c]``, R fastest) in a log-compressed space::

    node = hdr_decode(hdr_encode(y(node coordinates)) + s * Q)
    hdr_encode(v) = v (v <= 1), 1 + ln v (v > 1);  hdr_decode its inverse

so that a value beyond display white costs bits in proportion to its logarithm. The size search
(``train.lattice_tier``) adds it only when no network meets the target: tables whose features
are as fine as their grid (film print emulations, inverse transforms, LMTs with a shaper).

``params`` may be float arrays keyed by name, or the stored form (``name.q`` int8 + ``name.s``
float16 scales, see :mod:`lutplug.codec.quantize`); both forward functions accept either.

Ops used (for GLSL / BlinkScript ports): clamp, floor, 1D linear interpolation between
uniformly spaced knots, multiply-add, sin/cos (Fourier features, "sin" act), relu/silu/tanh,
max/min, small dense matrix-vector products.

PWL curve semantics (both curves): knots at k/(K-1), k = 0..K-1; the curve input is clamped to
[0,1]; i = min(floor(t*(K-1)), K-2); value = c[i] + (c[i+1]-c[i]) * (t*(K-1) - i); the curve
value is ADDED to its input (residual form). For the output curve the lookup uses clamp(y,0,1)
but the value is added to the unclamped y.

What fit() currently produces: act "relu", skip "linear", center true, fourier 0, minmax false,
hidden = one or two layers and in_curve = out_curve = 8 or 16 knots (see train.LADDER); all
tensors int8 with a float16 scale per tensor (curves: one scale per channel row); node
corrections when the network alone narrowly misses its target, or at every node of a table of at
most 5³ (train.add_fixes); a residual lattice when no network meets it (train.lattice_tier).
"""
from __future__ import annotations

import math
import os
import threading
from typing import Dict, Optional

import numpy as np

FORMAT = "lutplug-mlp"


def make_config(hidden=(16, 16), act="silu", in_curve=0, out_curve=0, fourier=0, skip="identity",
                quant=None, center=False, minmax=False) -> dict:
    return {"format": FORMAT, "version": 1, "in_curve": int(in_curve), "fourier": int(fourier),
            "center": bool(center), "minmax": bool(minmax),
            "hidden": [int(h) for h in hidden], "act": act, "skip": skip,
            "out_curve": int(out_curve), "quant": dict(quant or {})}


def param_shapes(config: dict) -> Dict[str, tuple]:
    shapes: Dict[str, tuple] = {}
    if config.get("in_curve", 0):
        shapes["cin"] = (3, config["in_curve"])
    d = 3 + 6 * config.get("fourier", 0) + (2 if config.get("minmax", False) else 0)
    for i, w in enumerate(config["hidden"]):
        shapes[f"W{i}"] = (w, d)
        shapes[f"b{i}"] = (w,)
        d = w
    L = len(config["hidden"])
    shapes[f"W{L}"] = (3, d)
    shapes[f"b{L}"] = (3,)
    if config.get("skip", "identity") == "linear":
        shapes["A"] = (3, 3)
        shapes["c"] = (3,)
    if config.get("out_curve", 0):
        shapes["cout"] = (3, config["out_curve"])
    if "fix" in config:
        shapes["fix"] = (int(config["fix"]["count"]), 6)
    if "lattice" in config:
        n = int(config["lattice"]["grid"])
        shapes["lattice"] = (n, n, n, 3)
    return shapes


def n_params(config: dict) -> int:
    return int(sum(int(np.prod(s)) for s in param_shapes(config).values()))


def describe(config: dict) -> str:
    """One line naming the network, e.g. ``[96] relu, skip linear, 747 parameters + 64 node
    corrections (16³ grid)`` — what every host's info panel shows."""
    fix, grid = config.get("fix"), config.get("lattice")
    plain = {k: v for k, v in config.items() if k not in ("fix", "lattice")}
    text = (f"{config.get('hidden')} {config.get('act')}, skip {config.get('skip', 'identity')}, "
            f"{n_params(plain):,} parameters")
    text += f" + {fix['count']} node corrections ({fix['grid']}³ grid)" if fix else ""
    return text + (f" + {grid['grid']}³ residual lattice (step {grid['step']:.3g})" if grid else "")


# ----------------------------------------------------------------------------- numpy twin

def _np_params(params) -> Dict[str, np.ndarray]:
    if any(k.endswith(".q") for k in params):
        from lutplug.codec.quantize import dequantize_params
        return dequantize_params(params)
    return {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}


def _pwl_np(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-channel PWL curve values at x (M,3); c (3,K) knot values at k/(K-1)."""
    K = c.shape[1]
    t = np.clip(x, 0.0, 1.0) * np.float32(K - 1)
    i = np.minimum(t.astype(np.int32), K - 2)
    f = t - i
    flat = c.reshape(-1)
    idx = i + (np.arange(3, dtype=np.int32) * K)[None, :]
    lo = flat[idx]
    hi = flat[idx + 1]
    return lo + (hi - lo) * f


def _act_np(name, z):
    if name == "relu":
        return np.maximum(z, np.float32(0.0), out=z)
    if name == "silu":
        return z / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "sin":
        return np.sin(z)
    raise ValueError(name)


def _hidden_to_output(p, h: np.ndarray, L: int, act: str) -> np.ndarray:
    """From the first hidden layer's activations (M, w) through the later layers to the
    network's output before skip and output curves, float32 (M, 3)."""
    for i in range(1, L):
        h = h @ p[f"W{i}"].T
        h += p[f"b{i}"]
        h = _act_np(act, h)
    y = h @ p[f"W{L}"].T
    y += p[f"b{L}"]
    return y


def _forward_numpy_chunk(p, config, x, L, act, skip):
    x0 = x
    if config.get("in_curve", 0):
        x = x + _pwl_np(p["cin"], x)
    F = config.get("fourier", 0)
    if F:
        feats = [x]
        for k in range(F):
            z = x * np.float32(math.pi * (2 ** k))
            feats.append(np.sin(z))
            feats.append(np.cos(z))
        if config.get("minmax", False):
            feats += [x.max(axis=1, keepdims=True), x.min(axis=1, keepdims=True)]
        h = np.concatenate(feats, axis=1)
        if config.get("center", False):
            h = h * np.float32(2.0) - np.float32(1.0)
        h = h @ p["W0"].T
        h += p["b0"]
    else:
        # first layer on the 3 inputs (centering folded into W0/b0 by the caller)
        # the bias rides along as a constant-1 input column (saves a pass over the activations)
        cols = [x, np.ones((x.shape[0], 1), np.float32)]
        if config.get("minmax", False):
            cols[1:1] = [x.max(axis=1, keepdims=True), x.min(axis=1, keepdims=True)]
        h = np.concatenate(cols, axis=1) @ p["_W0c"]
    y = _hidden_to_output(p, _act_np(act, h), L, act)
    if skip == "identity":
        y += x
    elif skip == "linear":
        y += x @ p["A"].T
        y += p["c"]
    if config.get("out_curve", 0):
        y = y + _pwl_np(p["cout"], y)
    if "fix" in config:
        _add_fix_np(p, config, x0, y)
    return y


def _fix_rows(p, config) -> tuple:
    """(nodes int64 (K, 3) r,g,b; corrections float32 (K, 3)) of the "fix" tensor."""
    fix = np.asarray(p["fix"], np.float32).reshape(-1, 6)
    return fix[:, :3].astype(np.int64), fix[:, 3:] * np.float32(config["fix"]["scale"])


def _fix_tables(p, config) -> tuple:
    """The corrections as a dense N³ lattice float32 (N, N, N, 3) ``[b, g, r]`` plus a bool
    (N-1)³ mask of the cells that touch a corrected node (cached in ``p``)."""
    if "_fix_dense" not in p:
        n = int(config["fix"]["grid"])
        nodes, d = _fix_rows(p, config)
        dense = np.zeros((n, n, n, 3), np.float32)
        np.add.at(dense, (nodes[:, 2], nodes[:, 1], nodes[:, 0]), d)
        cells = np.zeros((n - 1,) * 3, bool)
        for off in np.ndindex(2, 2, 2):  # the up-to-8 cells with the node as a corner
            c = nodes - np.asarray(off)
            ok = np.all((c >= 0) & (c <= n - 2), axis=1)
            cells[c[ok, 2], c[ok, 1], c[ok, 0]] = True
        p["_fix_dense"], p["_fix_cells"] = dense, cells
    return p["_fix_dense"], p["_fix_cells"]


def _add_fix_np(p, config, u: np.ndarray, y: np.ndarray) -> None:
    """Add the node corrections at clamped inputs ``u`` (M, 3) to ``y`` (M, 3) in place."""
    dense, cells = _fix_tables(p, config)
    n = dense.shape[0]
    t = u * np.float32(n - 1)
    i0 = np.minimum(t.astype(np.int32), n - 2)
    hit = np.flatnonzero(cells[i0[:, 2], i0[:, 1], i0[:, 0]])
    if not hit.size:
        return
    # the Kuhn hats summed over the dense grid are its tetrahedral interpolation
    from lutplug.core.interpolate import tetrahedral

    y[hit] += tetrahedral(dense, u[hit])


def kuhn_hat(v):
    """Weight of a lattice node at offset ``v`` (..., 3) from it, in cells: the piecewise-linear
    "hat" of the Kuhn triangulation (tetrahedra along each cell's main diagonal, the ones
    tetrahedral LUT interpolation uses) — ``max(0, 1 - max(0, v) + min(0, v))`` over the components.
    Numpy or torch arrays."""
    if isinstance(v, np.ndarray):
        top = np.maximum(v.max(axis=-1), 0)
        low = np.minimum(v.min(axis=-1), 0)
        return np.maximum(1 - top + low, 0)
    import torch

    return torch.clamp(1 - torch.clamp(v.amax(dim=-1), min=0) + torch.clamp(v.amin(dim=-1), max=0), min=0)


def forward_numpy(params, config: dict, u: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Numpy forward pass, float32 in and out. ``u`` (M,3) in [0,1] (clamped).

    Evaluated in row chunks so the hidden activations stay in cache. With a residual lattice:
    its node values (:func:`lattice_nodes`, computed on every call) read at ``u``."""
    if "lattice" in config:
        return lattice_read(lattice_nodes(params, config), u, config["lattice"]["interpolation"])
    p = _np_params(params)
    L = len(config["hidden"])
    act = config["act"]
    skip = config.get("skip", "identity")
    if L and not config.get("fourier", 0):
        W0 = p["W0"]
        b0 = p["b0"]
        if config.get("center", False):  # (2x-1) @ W.T + b == x @ (2W).T + (b - W.sum(1))
            b0 = b0 - W0.sum(axis=1)
            W0 = W0 * np.float32(2.0)
        p["_W0c"] = np.ascontiguousarray(np.concatenate([W0.T, b0[None, :]], axis=0), dtype=np.float32)  # (d+1, w)
    elif not L:
        raise ValueError("config needs at least one hidden layer")
    x = np.clip(np.asarray(u, dtype=np.float32).reshape(-1, 3), 0.0, 1.0)
    n = x.shape[0]
    if n <= chunk:
        return _forward_numpy_chunk(p, config, x, L, act, skip).astype(np.float32, copy=False)
    out = np.empty((n, 3), np.float32)
    for s in range(0, n, chunk):
        out[s:s + chunk] = _forward_numpy_chunk(p, config, x[s:s + chunk], L, act, skip)
    return out


def forward_numpy_lattice(params, config: dict, size: int, workers: Optional[int] = None) -> np.ndarray:
    """The network at every node of the ``size``³ lattice over [0,1]³: float32 (size, size,
    size, 3), ``[b, g, r]`` (R fastest) — :func:`forward_numpy` of ``lattice(size)``, faster.

    The input curves are per channel and the first layer (and skip) are affine, so the first
    layer's pre-activation is a sum of three per-axis tables; each B slice then needs only the
    broadcast sum, the activation and the later layers, in reused buffers. Slices run on
    ``workers`` threads (default: the CPU count, at most 8) with BLAS held to one thread each
    (threadpoolctl), so the result is the same for any ``workers``; without threadpoolctl, on one
    thread (BLAS threads inside each product and slice threads would oversubscribe the cores)."""
    if "lattice" in config:
        nodes = lattice_nodes(params, config, workers)
        if size == nodes.shape[0]:
            return nodes
        from lutplug.core.lut import lattice

        return lattice_read(nodes, lattice(size), config["lattice"]["interpolation"]).reshape(
            size, size, size, 3)
    L = len(config["hidden"])
    ramp = np.linspace(0.0, 1.0, size).astype(np.float32)
    if config.get("fourier", 0) or config.get("minmax", False) or not L:  # not separable
        from lutplug.core.lut import lattice

        return forward_numpy(params, config, lattice(size)).reshape(size, size, size, 3)
    p = _np_params(params)
    x = np.repeat(ramp[:, None], 3, axis=1)  # (size, 3): column c = channel c's values
    if config.get("in_curve", 0):
        x = x + _pwl_np(p["cin"], x)
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
        h = _act_np(act, h.reshape(size * size, -1))
        for i in range(1, L):
            h = np.matmul(h, W_T[i], out=local.bufs[i].reshape(size * size, -1))
            h += p[f"b{i}"]
            h = _act_np(act, h)
        y = (h @ W_T[L]).reshape(size, size, 3)
        y += p[f"b{L}"]
        if skip != "none":
            y += lin[0][None, :, :]
            y += (lin[1] + lin[2][b])[:, None, :]
        if config.get("out_curve", 0):
            y += _pwl_np(p["cout"], y.reshape(-1, 3)).reshape(size, size, 3)
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
    workers = min(workers or max(1, min(8, os.cpu_count() or 1)), size)
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
        dense, cells = _fix_tables(p, config)
        self.dense, self.ramp = dense, ramp
        n = dense.shape[0]
        if ramp.size == n:
            nodes, d = _fix_rows(p, config)
            self.at_nodes = {b: (nodes[nodes[:, 2] == b], d[nodes[:, 2] == b]) for b in np.unique(nodes[:, 2])}
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


# ----------------------------------------------------------------------------- residual lattice

def hdr_encode(v: np.ndarray, dtype=np.float64) -> np.ndarray:
    """v up to 1, 1 + ln v above (the space residual lattices are stored in); a new array."""
    out = np.array(v, dtype=dtype)
    above = out > 1
    out[above] = 1 + np.log(out[above])
    return out


def hdr_decode(w: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Inverse of :func:`hdr_encode` (exponent capped at e^79); a new array."""
    out = np.array(w, dtype=dtype)
    above = out > 1
    out[above] = np.exp(np.minimum(out[above], 80) - 1)
    return out


def without_lattice(config: dict) -> dict:
    """``config`` less its residual lattice: the network that predicts the lattice's nodes."""
    return {k: v for k, v in config.items() if k != "lattice"}


def lattice_nodes(params, config: dict, workers: Optional[int] = None) -> np.ndarray:
    """Node values of a network with a residual lattice (see the module docstring): float32
    (N, N, N, 3) ``[b, g, r]``, the network baked to the N³ grid and corrected."""
    spec = config["lattice"]
    p = _np_params(params)
    residual = p.pop("lattice")
    net = hdr_encode(forward_numpy_lattice(p, without_lattice(config), int(spec["grid"]), workers), np.float32)
    return corrected_nodes(net, float(spec["step"]), residual)


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


# ----------------------------------------------------------------------------- torch

def _torch_params(params, like):
    import torch

    out = {}
    if any(k.endswith(".q") for k in params):
        from lutplug.codec.quantize import dequantize_params
        params = dequantize_params({k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v))
                                    for k, v in params.items()})
    for k, v in params.items():
        if not isinstance(v, torch.Tensor):
            v = torch.as_tensor(np.asarray(v, dtype=np.float32))
        out[k] = v.to(device=like.device, dtype=like.dtype)
    return out


def _pwl_t(c, x):
    import torch

    K = c.shape[1]
    t = torch.clamp(x, 0.0, 1.0) * (K - 1)
    i = torch.clamp(torch.floor(t), max=K - 2).long()
    f = t - i.to(t.dtype)
    idx = i + (torch.arange(3, device=x.device) * K)[None, :]
    flat = c.reshape(-1)
    lo = flat[idx]
    hi = flat[idx + 1]
    return lo + (hi - lo) * f


def _act_t(name, z):
    import torch

    if name == "relu":
        return torch.relu(z)
    if name == "silu":
        return z * torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "sin":
        return torch.sin(z)
    raise ValueError(name)


def forward(params, config: dict, u):
    """Torch forward pass (differentiable w.r.t. float params). Device/dtype follow ``u``."""
    import torch

    if "lattice" in config:
        spec = config["lattice"]
        return lattice_read_t(lattice_nodes_t(params, config, u), int(spec["grid"]),
                              torch.clamp(u.reshape(-1, 3), 0.0, 1.0), spec["interpolation"])
    p = _torch_params(params, u)
    x = x0 = torch.clamp(u.reshape(-1, 3), 0.0, 1.0)
    if config.get("in_curve", 0):
        x = x + _pwl_t(p["cin"], x)
    F = config.get("fourier", 0)
    if F:
        feats = [x]
        for k in range(F):
            z = x * (math.pi * (2 ** k))
            feats.append(torch.sin(z))
            feats.append(torch.cos(z))
        if config.get("minmax", False):
            feats += [x.amax(dim=1, keepdim=True), x.amin(dim=1, keepdim=True)]
        h = torch.cat(feats, dim=1)
    elif config.get("minmax", False):
        h = torch.cat([x, x.amax(dim=1, keepdim=True), x.amin(dim=1, keepdim=True)], dim=1)
    else:
        h = x
    if config.get("center", False):
        h = h * 2.0 - 1.0
    L = len(config["hidden"])
    for i in range(L):
        h = _act_t(config["act"], h @ p[f"W{i}"].T + p[f"b{i}"])
    y = h @ p[f"W{L}"].T + p[f"b{L}"]
    skip = config.get("skip", "identity")
    if skip == "identity":
        y = y + x
    elif skip == "linear":
        y = y + x @ p["A"].T + p["c"]
    if config.get("out_curve", 0):
        y = y + _pwl_t(p["cout"], y)
    if "fix" in config:
        y = y + _fix_t(p["fix"], config["fix"], x0)
    return y


def _fix_t(fix, spec: dict, u):
    """Node corrections (see the module docstring) at clamped inputs ``u`` (M, 3), torch: the
    corrections scattered into a dense N³ lattice, interpolated tetrahedrally."""
    import torch

    n = int(spec["grid"])
    nodes = torch.round(fix[:, :3]).long()
    flat = (nodes[:, 2] * n + nodes[:, 1]) * n + nodes[:, 0]
    dense = torch.zeros(n ** 3, 3, dtype=u.dtype, device=u.device).index_add(
        0, flat, fix[:, 3:] * float(spec["scale"]))
    return lattice_read_t(dense, n, u, "tetrahedral")


def lattice_read_t(nodes, n: int, u, interpolation: str):
    """Torch twin of :func:`lattice_read`: ``nodes`` (N³, 3) (R fastest) read at clamped ``u``
    (M, 3) — a weighted sum over the 8 corners of each point's cell (Kuhn hats for tetrahedral
    reading, products of tents for trilinear)."""
    import torch

    t = u * (n - 1)
    i0 = torch.clamp(torch.floor(t), max=n - 2)
    f = t - i0
    i0 = i0.long()
    base = (i0[:, 2] * n + i0[:, 1]) * n + i0[:, 0]
    acc = torch.zeros_like(u)
    for ob, og, orr in ((b, g, r) for b in (0, 1) for g in (0, 1) for r in (0, 1)):
        v = f - torch.tensor([orr, og, ob], dtype=f.dtype, device=f.device)
        w = kuhn_hat(v) if interpolation == "tetrahedral" else torch.prod(1 - torch.abs(v), dim=1)
        acc = acc + w[:, None] * nodes[base + (ob * n + og) * n + orr]
    return acc


def lattice_nodes_t(params, config: dict, like):
    """Torch twin of :func:`lattice_nodes`, flat (N³, 3) (R fastest) on ``like``'s device/dtype."""
    import torch

    spec = config["lattice"]
    n = int(spec["grid"])
    p = _torch_params(params, like)
    residual = p.pop("lattice").reshape(-1, 3)
    ramp = torch.linspace(0, 1, n, dtype=like.dtype, device=like.device)
    b, g, r = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
    net = forward(p, without_lattice(config), torch.stack([r, g, b], dim=-1).reshape(-1, 3))
    w = torch.where(net > 1, 1 + torch.log(torch.clamp(net, min=1)), net) + float(spec["step"]) * residual
    return torch.where(w > 1, torch.exp(torch.clamp(w, max=80.0) - 1), w)


def init_params(config: dict, seed: int = 0) -> Dict[str, np.ndarray]:
    """Deterministic initial float params: curves 0, skip = identity, last layer 0."""
    rng = np.random.default_rng(seed)
    shapes = param_shapes(config)
    L = len(config["hidden"])
    p = {}
    for k, s in shapes.items():
        if k.startswith("W"):
            i = int(k[1:])
            fan_in = s[1]
            if i == L:
                p[k] = (rng.standard_normal(s) * 0.01 / math.sqrt(fan_in)).astype(np.float32)
            elif config["act"] == "sin" and i == 0:
                p[k] = rng.uniform(-3.0, 3.0, s).astype(np.float32)
            else:
                p[k] = (rng.standard_normal(s) * math.sqrt(2.0 / fan_in)).astype(np.float32)
        elif k.startswith("b"):
            i = int(k[1:])
            if i < L and config["act"] == "sin":
                p[k] = rng.uniform(-math.pi, math.pi, s).astype(np.float32)
            elif i < L:
                p[k] = rng.uniform(-0.5, 0.5, s).astype(np.float32)
            else:
                p[k] = np.zeros(s, np.float32)
        elif k == "A":
            p[k] = np.eye(3, dtype=np.float32)
        else:
            p[k] = np.zeros(s, np.float32)
    return p


def torch_module(config: dict, params=None, seed: int = 0):
    """A thin ``torch.nn.Module`` around :func:`forward` with trainable float parameters
    (``params`` stored or float; default :func:`init_params`). Imports torch only when called."""
    import torch

    class NetworkModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = config
            p = params if params is not None else init_params(config, seed)
            if any(k.endswith(".q") for k in p):
                from lutplug.codec.quantize import dequantize_params
                p = dequantize_params(p)
            self.params = torch.nn.ParameterDict(
                {k: torch.nn.Parameter(torch.as_tensor(np.asarray(v, np.float32))) for k, v in p.items()})

        def forward(self, u):  # noqa: D401
            return forward(dict(self.params), self.config, u)

        def numpy_params(self) -> Dict[str, np.ndarray]:
            return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.params.items()}

    return NetworkModule()

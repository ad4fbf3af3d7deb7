"""The network's numpy evaluation (no torch): curves, layers, skip, node corrections."""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np


def np_params(params) -> Dict[str, np.ndarray]:
    if any(k.endswith(".q") for k in params):
        from lutplug.codec.quantize import dequantize_params
        return dequantize_params(params)
    return {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}


def pwl_np(c: np.ndarray, x: np.ndarray, scratch: Optional[dict] = None, axis: int = -1) -> np.ndarray:
    """Per-channel PWL curve values at ``x`` float32 with its 3 channels along ``axis`` ((M, 3)
    by default; (3, M) with ``axis=0``); ``c`` (3, K) knot values at k/(K-1); float32
    arithmetic, shaped as ``x``. With ``scratch`` (a dict kept between calls) the temporaries
    and the result live in its buffers, made once per shape: freeing and regrowing the heap for
    ~100 KB temporaries costs more than the arithmetic; the same values either way."""
    s = {} if scratch is None else scratch
    if s.get("key") != (x.shape, axis, c.shape[1]):
        offsets = np.arange(3, dtype=np.int32) * np.int32(c.shape[1])  # channel c's knots in the flat (3K,)
        s.update({k: np.empty(x.shape, np.int32 if k == "i" else np.float32) for k in ("t", "f", "i", "lo", "hi")})
        s.update(key=(x.shape, axis, c.shape[1]),
                 offsets=offsets.reshape((3,) + (1,) * (x.ndim - 1)) if axis == 0 else offsets)
    K = c.shape[1]
    t = np.clip(x, 0.0, 1.0, out=s["t"])
    t *= np.float32(K - 1)
    f = np.floor(t, out=s["f"])
    np.minimum(f, np.float32(K - 2), out=f)  # the knot below, the last segment for t = K - 1
    i = s["i"]
    np.copyto(i, f, casting="unsafe")
    np.subtract(t, f, out=f)  # the fraction (exact)
    i += s["offsets"]
    flat = np.asarray(c, np.float32).reshape(-1)
    lo = np.take(flat, i, out=s["lo"])
    i += 1
    hi = np.take(flat, i, out=s["hi"])
    hi -= lo
    hi *= f
    return np.add(hi, lo, out=hi)


def act_np(name, z):
    if name == "relu":  # in place; against a row of zeros: numpy's loop for a scalar is ~3x slower
        return np.maximum(z, np.zeros(z.shape[-1:], z.dtype), out=z)
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
        h = act_np(act, h)
    y = h @ p[f"W{L}"].T
    y += p[f"b{L}"]
    return y


def _forward_numpy_chunk(p, config, x, L, act, skip):
    x0 = x
    if config.get("in_curve", 0):
        x = x + pwl_np(p["cin"], x)
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
    y = _hidden_to_output(p, act_np(act, h), L, act)
    if skip == "identity":
        y += x
    elif skip == "linear":
        y += x @ p["A"].T
        y += p["c"]
    if config.get("out_curve", 0):
        y = y + pwl_np(p["cout"], y)
    if "fix" in config:
        _add_fix_np(p, config, x0, y)
    return y


def fix_rows(p, config) -> tuple:
    """(nodes int64 (K, 3) r,g,b; corrections float32 (K, 3)) of the "fix" tensor."""
    fix = np.asarray(p["fix"], np.float32).reshape(-1, 6)
    return fix[:, :3].astype(np.int64), fix[:, 3:] * np.float32(config["fix"]["scale"])


def fix_tables(p, config) -> tuple:
    """The corrections as a dense N³ lattice float32 (N, N, N, 3) ``[b, g, r]`` plus a bool
    (N-1)³ mask of the cells that touch a corrected node (cached in ``p``)."""
    if "_fix_dense" not in p:
        n = int(config["fix"]["grid"])
        nodes, d = fix_rows(p, config)
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
    dense, cells = fix_tables(p, config)
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


def forward_plain(params, config: dict, u: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Numpy forward pass of a network without a residual lattice, float32 in and out. ``u``
    (M,3) in [0,1] (clamped). Evaluated in row chunks so the hidden activations stay in cache."""
    p = np_params(params)
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

"""Quantisation helpers for the neural-LUT codec.

Storage convention (what :func:`lutplug.codec.train.fit` returns in ``FitResult.params``):

* a quantised tensor ``NAME`` is stored as two arrays, ``NAME.q`` (int8, values in
  ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]``) and ``NAME.s`` (float16 scale: shape ``()`` for a
  per-tensor scale, ``(rows,)`` for a per-row scale, broadcast along axis 0);
  the real value is ``q.astype(float32) * s.astype(float32)[..., None]`` (per row) or
  ``q * s`` (per tensor);
* a tensor kept in float is stored as ``NAME`` (float16 or float32).

The bit width used for each tensor is recorded in ``config["quant"][NAME]`` as
``{"bits": b, "mode": "tensor" | "row"}`` (purely informational for decoders: the stored ints
and scales are already self-sufficient).

Numpy-only except the ``fake_quant*`` functions, which import torch lazily.
"""
from __future__ import annotations

import zlib
from typing import Dict

import numpy as np


def qmax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def compute_scale(w: np.ndarray, bits: int, mode: str) -> np.ndarray:
    """Symmetric scale so that max |w| maps to qmax(bits). Returned as float16 (rounded up
    so that nothing overflows after rounding the scale)."""
    w = np.asarray(w, dtype=np.float32)
    qm = qmax(bits)
    if mode == "row" and w.ndim >= 1:
        amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    else:
        amax = np.asarray(np.abs(w).max())
    s = np.maximum(amax / qm, 1e-7).astype(np.float32)
    s16 = s.astype(np.float16)
    # make sure the float16 scale does not underflow/overflow and covers amax
    s16 = np.where(s16.astype(np.float32) < s, np.nextafter(s16, np.float16(np.inf)), s16)
    s16 = np.maximum(s16, np.float16(6.2e-5))  # smallest normal-ish half, avoids 0 scales
    return s16.astype(np.float16)


def _bcast(s: np.ndarray, ndim: int) -> np.ndarray:
    s = np.asarray(s, dtype=np.float32)
    if s.ndim == 0:
        return s
    return s.reshape(s.shape + (1,) * (ndim - 1))


def quantize(w: np.ndarray, bits: int = 8, mode: str = "tensor", scale: np.ndarray | None = None):
    """Quantise ``w`` -> (q int8, scale float16)."""
    w = np.asarray(w, dtype=np.float32)
    s = compute_scale(w, bits, mode) if scale is None else np.asarray(scale, dtype=np.float16)
    qm = qmax(bits)
    q = np.clip(np.round(w / _bcast(s, w.ndim)), -qm, qm).astype(np.int8)
    return q, s


def dequantize(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    return (q.astype(np.float32) * _bcast(s, q.ndim)).astype(np.float32)


def dequantize_params(params: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Stored params (``X.q``/``X.s`` pairs and plain float arrays) -> float32 dict."""
    out: Dict[str, np.ndarray] = {}
    for k, v in params.items():
        if k.endswith(".q"):
            name = k[:-2]
            out[name] = dequantize(v, params[name + ".s"])
        elif k.endswith(".s"):
            continue
        else:
            out[k] = np.asarray(v, dtype=np.float32)
    return out


def quantize_params(params: Dict[str, np.ndarray], qconf: Dict[str, dict]) -> Dict[str, np.ndarray]:
    """Float params -> stored params following ``qconf[name] = {"bits", "mode"}``; names not in
    qconf are stored as float16."""
    out: Dict[str, np.ndarray] = {}
    for k in sorted(params):
        v = np.asarray(params[k], dtype=np.float32)
        if k in qconf:
            q, s = quantize(v, qconf[k]["bits"], qconf[k]["mode"])
            out[k + ".q"] = q
            out[k + ".s"] = s
        else:
            out[k] = v.astype(np.float16)
    return out


def stored_bytes(params: Dict[str, np.ndarray]) -> int:
    """zlib -9 size of the concatenated raw bytes of all stored tensors (sorted by name).

    The int tensors come first (grouped, they compress together), then the scales/floats."""
    ints = [np.ascontiguousarray(params[k]).tobytes() for k in sorted(params) if params[k].dtype == np.int8]
    rest = [np.ascontiguousarray(params[k]).tobytes() for k in sorted(params) if params[k].dtype != np.int8]
    return len(zlib.compress(b"".join(ints + rest), 9))


def raw_bytes(params: Dict[str, np.ndarray]) -> int:
    return int(sum(np.asarray(v).nbytes for v in params.values()))


# ----------------------------------------------------------------------------- torch fake quant

def fake_quant(w, bits: int, mode: str = "tensor"):
    """Straight-through fake quantisation (torch). Scale follows the same float16 rounding
    as :func:`compute_scale`, so the dequantised numpy model equals the fake-quantised one
    (up to float rounding)."""
    import torch

    qm = float(qmax(bits))
    with torch.no_grad():
        if mode == "row" and w.dim() >= 1:
            amax = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1)
        else:
            amax = w.detach().abs().amax()
        s = torch.clamp(amax / qm, min=1e-7)
        s16 = s.to(torch.float16)
        bump = s16.to(s.dtype) < s
        s16 = torch.where(bump, torch.nextafter(s16, torch.tensor(float("inf"), dtype=torch.float16)), s16)
        s16 = torch.clamp(s16, min=6.2e-5)
        s = s16.to(w.dtype)
        if s.dim() == 1:
            s = s.reshape((-1,) + (1,) * (w.dim() - 1))
    q = torch.clamp(torch.round(w / s), -qm, qm) * s
    return w + (q - w).detach()


def fake_quant_half(w):
    """Straight-through float16 rounding (for tensors stored as float16)."""
    return w + (w.detach().to(__import__("torch").float16).to(w.dtype) - w).detach()

"""Warm starts between the sizes of the search: a network trained at one size of the ladder turned
into the initial weights of another, so that the second trains in a fraction of the steps.

* narrower (the same depth): the hidden units that matter least are dropped — a unit's weight is
  the norm of its outgoing weights times that of its incoming ones (for a two-layer network, each
  layer in turn);
* wider (the same depth): the trained units are kept and new ones added with fresh incoming
  weights and zero outgoing weights, so the network starts as the one it grew from;
* another depth: only what both share — the input and output curves and the linear skip — is
  carried over, the hidden layers start fresh.

Curves of another knot count are resampled (they are piecewise linear over [0, 1], so the new
knots take the old curve's values there). Everything here is numpy on float parameters, the
third result of :func:`lutplug.codec.train.single.train_config`.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from lutplug.codec import model as M

Params = Dict[str, np.ndarray]


def resample_curve(curve: np.ndarray, knots: int) -> np.ndarray:
    """A (3, K) piecewise-linear curve over uniform knots at ``knots`` uniform knots, float32."""
    old = np.linspace(0.0, 1.0, curve.shape[1])
    new = np.linspace(0.0, 1.0, knots)
    return np.stack([np.interp(new, old, row) for row in np.asarray(curve, np.float64)]).astype(np.float32)


def _keep(importance: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` largest entries of ``importance``, in their original order."""
    return np.sort(np.argsort(-importance, kind="stable")[:count])


def _shared(src: Params, dst: Params) -> None:
    """Copy the curves (resampled) and the linear skip from ``src`` into ``dst``, in place."""
    for name in ("cin", "cout"):
        if name in src and name in dst:
            dst[name] = resample_curve(src[name], dst[name].shape[1])
    for name in ("A", "c"):
        if name in src and name in dst and src[name].shape == dst[name].shape:
            dst[name] = np.asarray(src[name], np.float32).copy()


def resize(src: Params, src_config: dict, dst_config: dict, seed: int = 0) -> Params:
    """Initial float parameters for ``dst_config`` from a network trained as ``src_config``
    (``src``: float parameters). Same depth: units dropped or added (see the module docstring);
    another depth: curves and skip only."""
    dst = M.init_params(dst_config, seed)
    _shared(src, dst)
    hs, hd = list(src_config["hidden"]), list(dst_config["hidden"])
    if len(hs) != len(hd) or src_config.get("fourier", 0) != dst_config.get("fourier", 0) \
            or src_config.get("minmax", False) != dst_config.get("minmax", False):
        return dst
    L = len(hd)
    rows: List[np.ndarray] = []  # per hidden layer: which source units fill the first slots
    for i in range(L):
        w_in = np.asarray(src[f"W{i}"], np.float64)
        w_out = np.asarray(src[f"W{i + 1}"], np.float64)
        importance = np.linalg.norm(w_out, axis=0) * np.linalg.norm(w_in, axis=1)
        rows.append(_keep(importance, min(hs[i], hd[i])))
    for i in range(L + 1):
        name_w, name_b = f"W{i}", f"b{i}"
        w_src = np.asarray(src[name_w], np.float32)
        out_idx = rows[i] if i < L else np.arange(3)
        in_idx = rows[i - 1] if i > 0 else np.arange(w_src.shape[1])
        block = w_src[np.ix_(out_idx, in_idx)]
        w = dst[name_w]
        if i > 0:  # added units of the layer below start silent: the network starts as the trained one
            w[:, block.shape[1]:] = 0.0
        if i == L:
            w[:] = 0.0
        w[:block.shape[0], :block.shape[1]] = block
        b = dst[name_b]
        b[:len(out_idx)] = np.asarray(src[name_b], np.float32)[out_idx]
    return dst

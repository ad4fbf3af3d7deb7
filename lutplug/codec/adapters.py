"""Per-look adapters of a look pack (.nlutpack): which tensors are shared, which belong to one look,
and how a look's tensors fold into the plain network of :mod:`lutplug.codec.model`.

A pack holds one *base* (the network's hidden and output layers, shared by every look) and, per
look, an *adapter*: the look's own input/output curves ``cin``/``cout`` (3, K), linear skip ``A``
(3, 3) and ``c`` (3,), plus

* ``"cond"`` (conditioning vector): ``z`` (dim,). The base has one matrix ``V{i}`` (H_i, dim) per
  hidden layer; folding adds ``V{i} @ z`` to hidden bias ``b{i}``.
* ``"lora"`` (low-rank weight deltas): ``U{i}`` (H_i, dim) and ``D{i}`` (dim, H_{i-1}) for every
  hidden-to-hidden layer i >= 1; folding adds ``U{i} @ D{i}`` to ``W{i}``.
* ``"head"`` (own output layer): ``W{L}`` (3, H_last) and ``b{L}`` (3,); the hidden layers are
  shared (``dim`` is 0).

Folding gives exactly the parameters of a plain network with the base's ``model`` configuration, so
an extracted look is an ordinary .nlut. :func:`fold` uses only ``+`` and ``@``: it works on numpy
arrays (extraction) and on torch tensors (training, under ``torch.func.vmap``). Numpy only here.
"""
from __future__ import annotations

from typing import Dict, Mapping

import numpy as np

from lutplug.codec import layout
from lutplug.codec import model as M
from lutplug.errors import LutError

KINDS = ("cond", "lora", "head")
#: Tensor names every adapter owns, whatever its kind.
LOOK_COMMON = ("A", "c", "cin", "cout")
MAX_DIM = 256


def make_spec(hidden, kind: str = "cond", dim: int = 16, curves: int = 8) -> dict:
    """JSON-able adapter specification: the folded network's ``model`` config (the codec's fitted
    architecture: ReLU, centred input, PWL curves with ``curves`` knots, linear skip), the adapter
    ``kind`` and its size ``dim`` (conditioning dimensions, or the rank of the deltas)."""
    spec = {"kind": kind, "dim": int(dim),
            "model": M.make_config(hidden=hidden, act="relu", in_curve=curves, out_curve=curves,
                                   skip="linear", center=True)}
    check_spec(spec)
    return spec


def check_spec(spec: object) -> None:
    """Raise :class:`LutError` when ``spec`` is not a usable adapter specification."""
    if not isinstance(spec, Mapping):
        raise LutError("adapter specification is not an object")
    kind, dim, cfg = spec.get("kind"), spec.get("dim"), spec.get("model")
    if kind not in KINDS:
        raise LutError(f"adapter kind {kind!r} is not one of {KINDS}")
    lo, hi = (0, 0) if kind == "head" else (1, MAX_DIM)
    if not isinstance(dim, int) or isinstance(dim, bool) or not lo <= dim <= hi:
        raise LutError(f"adapter dim {dim!r} must be an integer {lo}..{hi} for {kind}")
    if not isinstance(cfg, Mapping):
        raise LutError("adapter specification has no model configuration")
    try:
        layout.check_config(dict(cfg))
    except ValueError as exc:
        raise LutError(f"adapter model: {exc}") from None
    if cfg.get("act") != "relu" or cfg.get("skip") != "linear" or cfg.get("fourier", 0) \
            or cfg.get("minmax", False) or not cfg.get("in_curve") or not cfg.get("out_curve"):
        raise LutError("adapter model must be a ReLU network with curves, a linear skip and no "
                       "Fourier or min/max inputs")
    if kind == "lora" and len(cfg["hidden"]) < 2:
        raise LutError("a lora adapter needs at least two hidden layers")


def _head(spec: Mapping) -> tuple:
    L = len(spec["model"]["hidden"])
    return (f"W{L}", f"b{L}") if spec["kind"] == "head" else ()


def shared_shapes(spec: Mapping) -> Dict[str, tuple]:
    """Shapes of the base's tensors (shared by every look)."""
    cfg = spec["model"]
    own = LOOK_COMMON + _head(spec)
    shapes = {k: v for k, v in M.param_shapes(cfg).items() if k not in own}
    if spec["kind"] == "cond":
        for i, width in enumerate(cfg["hidden"]):
            shapes[f"V{i}"] = (width, spec["dim"])
    return shapes


def look_shapes(spec: Mapping) -> Dict[str, tuple]:
    """Shapes of one look's adapter tensors."""
    cfg = spec["model"]
    all_shapes = M.param_shapes(cfg)
    shapes = {k: all_shapes[k] for k in LOOK_COMMON + _head(spec)}
    r = spec["dim"]
    if spec["kind"] == "cond":
        shapes["z"] = (r,)
    elif spec["kind"] == "lora":
        hidden = cfg["hidden"]
        for i in range(1, len(hidden)):
            shapes[f"U{i}"] = (hidden[i], r)
            shapes[f"D{i}"] = (r, hidden[i - 1])
    return shapes


def fold(spec: Mapping, shared: Mapping, look: Mapping) -> dict:
    """Plain-network parameters of one look (numpy arrays or torch tensors, float)."""
    L = len(spec["model"]["hidden"])
    params = {k: v for k, v in shared.items() if not k.startswith("V")}
    params.update({k: look[k] for k in LOOK_COMMON + _head(spec)})
    if spec["kind"] == "cond":
        for i in range(L):
            params[f"b{i}"] = shared[f"b{i}"] + shared[f"V{i}"] @ look["z"]
    elif spec["kind"] == "lora":
        for i in range(1, L):
            params[f"W{i}"] = shared[f"W{i}"] + look[f"U{i}"] @ look[f"D{i}"]
    return params


def init_shared(spec: Mapping, seed: int) -> Dict[str, np.ndarray]:
    """Initial float32 base tensors (the codec's initialisation; ``V`` small random)."""
    rng = np.random.default_rng(seed + 101)
    base = M.init_params(spec["model"], seed)
    out = {k: base[k] for k in shared_shapes(spec) if k in base}
    for k, shape in shared_shapes(spec).items():
        if k.startswith("V"):
            out[k] = (rng.standard_normal(shape) * 0.3 / np.sqrt(shape[1])).astype(np.float32)
    return out


def init_look(spec: Mapping, seed: int) -> Dict[str, np.ndarray]:
    """Initial float32 adapter of one look: identity curves and skip, small random ``z``/``U``,
    zero ``D`` (so every lora look starts at the base)."""
    rng = np.random.default_rng(seed + 202)
    base = M.init_params(spec["model"], seed + 303)
    out = {}
    for k, shape in look_shapes(spec).items():
        if k == "A":
            out[k] = np.eye(3, dtype=np.float32)
        elif k in _head(spec):
            out[k] = base[k]
        elif k == "z" or k.startswith("U"):
            out[k] = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        else:
            out[k] = np.zeros(shape, np.float32)
    return out


def qconf(names) -> Dict[str, dict]:
    """int8 storage of adapter/base tensors: curves one scale per channel, the rest per tensor."""
    return {k: {"bits": 8, "mode": "row" if k in ("cin", "cout") else "tensor"} for k in names}

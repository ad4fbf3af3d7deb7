"""A network's configuration: its format, tensor shapes, size, one-line description and
deterministic initial weights (see :mod:`lutplug.codec.model`)."""
from __future__ import annotations

import math
from typing import Dict

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

"""Build small .nlut objects without training (random but fixed networks) for fast tests."""
from __future__ import annotations

import numpy as np

from lutplug.codec import model
from lutplug.codec.nlut import NeuralLUT
from lutplug.codec.quantize import quantize_params
from lutplug.core.lut import LUT1D


def random_nlut(seed: int = 0, shaper: bool = False, act: str = "silu", skip: str = "linear",
                fourier: int = 2, hidden=(12, 12), curves: int = 8, center: bool = False,
                minmax: bool = False, fixes: int = 0, fix_grid: int = 9) -> NeuralLUT:
    """A random network; ``fixes`` > 0 adds that many random node corrections on a
    ``fix_grid``³ lattice (some nodes on the lattice's faces, one listed twice)."""
    cfg = model.make_config(hidden=hidden, act=act, in_curve=curves, out_curve=curves,
                            fourier=fourier, skip=skip, center=center, minmax=minmax)
    rng = np.random.default_rng(seed)
    params = {k: (v + rng.normal(0, 0.1, v.shape)).astype(np.float32)
              for k, v in model.init_params(cfg, seed).items()}
    stored = quantize_params(params, {k: {"bits": 8, "mode": "row"} for k in params if k.startswith("W")})
    if fixes:
        nodes = rng.integers(0, fix_grid, (fixes, 3))
        nodes[0] = [0, fix_grid - 1, 0]
        nodes[-1] = nodes[1]
        deltas = rng.integers(-127, 128, (fixes, 3))
        cfg["fix"] = {"grid": fix_grid, "count": fixes, "scale": 0.002}
        stored["fix"] = np.concatenate([nodes, deltas], 1).astype(np.int8)
    sh = LUT1D(np.linspace(0, 1, 32) ** 0.5 * 2.0, -0.1, 3.0) if shaper else None
    dmax = [2.0, 2.0, 2.0] if shaper else [1.0, 1.0, 1.0]
    return NeuralLUT(cfg, stored, [0, 0, 0], dmax, sh,
                     {"title": "test", "provenance": {"grid": 17}, "colorspace": {"input": "ACEScct"}})


def fit_stored_nlut(seed: int = 8, hidden=(6,), fixes: int = 5) -> NeuralLUT:
    """A random network stored the way :func:`lutplug.codec.train.fit` stores one (every tensor
    int8 with a float16 scale: one a row for the curves, one per tensor else; node corrections
    on a 4³ grid) — what .nlut format version 2 packs."""
    from lutplug.codec.quantize import dequantize_params

    n = random_nlut(seed, act="relu", fourier=0, center=True, hidden=hidden, fixes=fixes, fix_grid=4)
    qconf = {k: {"bits": 8, "mode": "row" if k in ("cin", "cout") else "tensor"}
             for k in model.param_shapes(n.config) if k != "fix"}
    floats = dequantize_params({k: v for k, v in n.params.items() if k != "fix"})
    n.params = dict(quantize_params(floats, qconf), **({"fix": n.params["fix"]} if fixes else {}))
    return n


def lattice_nlut(seed: int = 2, grid: int = 5, wide: bool = False, interpolation: str = "tetrahedral",
                 shaper: bool = False) -> NeuralLUT:
    """A fit-stored network (:func:`fit_stored_nlut`, no node corrections) plus a random residual
    lattice on a ``grid``³ grid: int8, or int16 with values beyond int8 when ``wide``."""
    n = fit_stored_nlut(seed, fixes=0)
    rng = np.random.default_rng(seed)
    top = 900 if wide else 127
    n.config["lattice"] = {"grid": grid, "step": 1 / 256, "interpolation": interpolation}
    n.params["lattice"] = rng.integers(-top, top + 1, (grid, grid, grid, 3)).astype(
        np.int16 if wide else np.int8)
    if shaper:
        n.shaper = LUT1D(np.linspace(0, 1, 32) ** 0.5 * 2.0, -0.1, 3.0)
        n.domain_max = np.array([2.0, 2.0, 2.0])
    return n

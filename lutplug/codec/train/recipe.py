"""The codec's training settings: the recipes (steps, rates, loss weights, quantisation) and the
architecture ladder the size search walks, smallest first."""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from lutplug.codec import model as M
from lutplug.errors import LutError
from lutplug.metrics import T1

#: The T1 thresholds by figure name, the search's default target.
T1_LIMITS = T1.as_dict()


DEFAULT_RECIPE: Dict[str, Any] = {
    "adam_steps": 1500,
    "lr": 1e-2,
    "batch": 8192,
    "n_random_train": 60000,
    "max_lattice_train": 40000,
    "tail_weight": 0.5,    # weight of the soft-max tail term
    "tail_power": 4.0,     # tail term = mean(dE^p)^(1/p)
    "mse_weight": 2000.0,  # RGB MSE term (PSNR)
    "lbfgs_steps": 0,
    "qat_steps": 400,
    "qat_lr": 2e-3,
    "bits": 8,
    "bias_bits": 8,
    "curve_bits": 8,
    "qmode": "tensor",
}


#: What :func:`lutplug.codec.train.fit` trains with (over :data:`DEFAULT_RECIPE`). Networks of two
#: hidden layers train ``deep_steps_factor`` times as many steps (they converge more slowly).
FIT_RECIPE: Dict[str, Any] = {"adam_steps": 1200, "batch": 4096, "lr": 3e-2, "qat_steps": 150,
                              "mse_weight": 1e4, "tail_weight": 1.0, "deep_steps_factor": 2.0}


def quant_config(config: dict, recipe: dict) -> Dict[str, dict]:
    qc = {}
    for name in M.param_shapes(config):
        if name.startswith("W") or name == "A":
            qc[name] = {"bits": recipe["bits"], "mode": recipe["qmode"]}
        elif name in ("cin", "cout"):
            qc[name] = {"bits": recipe["curve_bits"], "mode": "row"}
        else:
            qc[name] = {"bits": recipe["bias_bits"], "mode": "tensor"}
    return qc


#: Architecture ladder searched by fit(), smallest first: (hidden widths, knots of each curve).
#: The three smallest rungs (8-knot curves; 126-182 bytes of weights against 258 at [16]) serve
#: near-identity and gentle grades: re-run (format version 1), classic_film 678 -> 549 B ([8]),
#: clean_and_denoise 683 -> 505 B, crosstalk 658 -> 493 B, iridas 889 -> 512 B ([4]); rung 0 is
#: also lattice_only's net.
LADDER = [([4], 8), ([8], 8), ([12], 8)] + [
    (h, 16) for h in ([16], [24], [32], [40], [48], [64], [80], [96], [64, 16], [96, 16], [128, 16],
                      [128, 32], [192, 32], [256, 32], [256, 64])]


# 16-knot curves from [16] on: +48 bytes over 8 knots; better on 5 of the 6 grades tried (warm_correction
# [128, 16] mean 0.485 -> 0.352; dreamy [64, 16] 0.478 -> 0.426), worse on classic_film [16]
# (0.266 -> 0.299, still passing); over all 39 shared LUTs: 35 meet T1 (was 34), median 1,849 B (was 2,674)
BASE_ARCH = {"act": "relu", "skip": "linear", "center": True, "fourier": 0}


def ladder_config(i: int) -> dict:
    """The network config of :data:`LADDER` rung ``i`` (see :mod:`lutplug.codec.model`)."""
    hidden, knots = LADDER[i]
    return M.make_config(**BASE_ARCH, hidden=hidden, in_curve=knots, out_curve=knots)


def rung_recipe(recipe: Dict[str, Any], config: dict) -> Dict[str, Any]:
    """``recipe`` for training ``config``: Adam and QAT steps times ``deep_steps_factor`` for a
    network of more than one hidden layer."""
    out = dict(recipe)
    factor = float(out.pop("deep_steps_factor", 1.0))
    if len(config["hidden"]) > 1 and factor != 1.0:
        out["adam_steps"] = int(round(out["adam_steps"] * factor))
        out["qat_steps"] = int(round(out["qat_steps"] * factor))
    return out


def parse_recipe(text: Optional[str]) -> Optional[dict]:
    """Training overrides given as JSON text (``--recipe``), or None."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise LutError(f"--recipe is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise LutError("--recipe must be a JSON object")
    return value

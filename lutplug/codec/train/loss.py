"""The training loss (torch): CIEDE2000 linearised around each target colour (the terms come from
:mod:`lutplug.metrics.colour`), a tail term, and an RGB error log-compressed above white; and the
fake quantisation of quantisation-aware training."""
from __future__ import annotations

from lutplug.codec import quantize as Q
from lutplug.optional import import_torch


def linear_de(err, jac, eps: float = 0.0):
    """Linearised ΔE2000 (M,) of RGB errors ``err`` (M,3) at targets with Jacobian rows ``jac``."""
    torch = import_torch("training")
    v = torch.bmm(jac[:, :9].reshape(-1, 3, 3), err.unsqueeze(2)).squeeze(2)
    d2 = (v * v).sum(1) + jac[:, 9] * v[:, 1] * v[:, 2]
    return torch.sqrt(torch.clamp(d2, min=0.0) + eps)


def hdr_compress_t(v):
    """Identity on [-inf, 1], 1 + log(v) above: an error scale for values beyond display white."""
    torch = import_torch("training")
    return torch.where(v > 1, 1 + torch.log(torch.clamp(v, min=1)), v)


def colour_loss(pred, target, jac, recipe):
    """ΔE2000 (linearised) of the display-clipped prediction (straight-through clip) against the
    display-clipped target, plus a tail term, plus MSE on the unclipped values (log-compressed
    above 1) so that values beyond [0,1] — which interpolation between baked nodes still uses —
    are learnt too."""
    torch = import_torch("training")
    e = pred + (torch.clamp(pred, 0, 1) - pred).detach() - torch.clamp(target, 0, 1)
    de = linear_de(e, jac, eps=1e-6)
    p = recipe["tail_power"]
    loss = de.mean() + recipe["tail_weight"] * (de.pow(p).mean() + 1e-12).pow(1.0 / p)
    if recipe["mse_weight"]:
        loss = loss + recipe["mse_weight"] * (hdr_compress_t(pred) - hdr_compress_t(target)).square().mean()
    return loss


def fake_quant_params(params: dict, qconf: dict):
    return {k: Q.fake_quant(v, qconf[k]["bits"], qconf[k]["mode"]) if k in qconf else v
            for k, v in params.items()}

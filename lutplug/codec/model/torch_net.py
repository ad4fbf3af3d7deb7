"""The network in torch (training, GPU evaluation): the twin of the numpy functions, device and
dtype following the input, and a thin ``nn.Module``."""
from __future__ import annotations

import math
from typing import Dict

import numpy as np

from lutplug.codec.model.config import init_params
from lutplug.codec.model.lattice import without_lattice
from lutplug.codec.model.numpy_net import kuhn_hat


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

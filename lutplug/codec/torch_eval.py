"""Torch evaluator of a :class:`~lutplug.codec.nlut.NeuralLUT`: batched on the GPU (fp16) or CPU,
no Python loop over pixels. Device and dtype follow the input tensor."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from lutplug.codec import model
from lutplug.codec.nlut import NeuralLUT
from lutplug.codec.quantize import dequantize_params
from lutplug.errors import LutError
from lutplug.optional import import_torch


def _torch():
    return import_torch("the torch evaluator")


def _pwl(torch, table, x):
    """Per-channel linear interpolation of a (M, 3) table at x (N, 3) in [0, 1] (clamped)."""
    m = table.shape[0]
    t = torch.clamp(x, 0.0, 1.0) * (m - 1)
    i = torch.clamp(torch.floor(t), max=m - 2).long()
    f = t - i.to(t.dtype)
    lo = torch.gather(table, 0, i)
    hi = torch.gather(table, 0, i + 1)
    return lo + (hi - lo) * f


class TorchEvaluator:
    """Callable ``(rgb: Tensor (..., 3)) -> Tensor (..., 3)`` for one .nlut; tensors are moved to
    the input's device and dtype on first use and cached there."""

    def __init__(self, nlut: NeuralLUT):
        self.nlut = nlut
        self._float: Dict[str, np.ndarray] = dequantize_params(nlut.params)
        self._cache: Dict[tuple, dict] = {}

    def _tensors(self, like) -> dict:
        torch = _torch()
        key = (like.device, like.dtype)
        if key not in self._cache:
            n = self.nlut
            t = {k: torch.as_tensor(v).to(like.device, like.dtype) for k, v in self._float.items()}
            extra = {"dmin": torch.as_tensor(n.domain_min, dtype=like.dtype, device=like.device),
                     "dscale": torch.as_tensor(1.0 / (n.domain_max - n.domain_min), dtype=like.dtype,
                                               device=like.device)}
            if n.shaper is not None:
                s = n.shaper
                extra["shaper"] = torch.as_tensor(s.table, dtype=like.dtype, device=like.device)
                extra["smin"] = torch.as_tensor(s.domain_min, dtype=like.dtype, device=like.device)
                extra["sscale"] = torch.as_tensor(1.0 / (s.domain_max - s.domain_min),
                                                  dtype=like.dtype, device=like.device)
            if "lattice" in n.config:  # node values once (numpy), then 8 gathers a pixel
                nodes = model.lattice_nodes(n.params, n.config).reshape(-1, 3)
                extra["lattice"] = torch.as_tensor(nodes).to(like.device, like.dtype)
            self._cache[key] = {"params": t, **extra}
        return self._cache[key]

    def __call__(self, rgb, mix: Optional[float] = None):
        torch = _torch()
        if rgb.shape[-1] != 3:
            raise LutError(f"RGB input must have shape (..., 3), got {tuple(rgb.shape)}")
        c = self._tensors(rgb)
        x = rgb.reshape(-1, 3)
        chunk = CHUNK_ROWS["cuda" if x.is_cuda else "cpu"]
        if x.shape[0] > chunk and not torch.jit.is_tracing() and not _exporting(torch):
            y = torch.cat([self._forward(c, x[s:s + chunk]) for s in range(0, x.shape[0], chunk)])
        else:
            y = self._forward(c, x)
        y = y.reshape(rgb.shape)
        if mix is not None and mix != 1.0:
            y = rgb + (y - rgb) * mix
        return y

    def _forward(self, c: dict, x):
        torch = _torch()
        if "shaper" in c:
            x = _pwl(torch, c["shaper"], (x - c["smin"]) * c["sscale"])
        u = (x - c["dmin"]) * c["dscale"]
        if "lattice" in c:
            spec = self.nlut.config["lattice"]
            return model.lattice_read_t(c["lattice"], int(spec["grid"]), torch.clamp(u, 0.0, 1.0),
                                        spec["interpolation"])
        return model.forward(c["params"], self.nlut.config, u)


#: Rows evaluated at once: the hidden activations of a whole 4K frame (8.3 M rows × up to 256
#: wide) would take gigabytes; chunks keep them in cache on the CPU and bounded on the GPU.
CHUNK_ROWS = {"cpu": 1 << 16, "cuda": 1 << 22}


def _exporting(torch) -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())


def apply_image_torch(nlut: NeuralLUT, pixels: np.ndarray, mix: float = 1.0,
                      device: str = "auto", half: Optional[bool] = None) -> np.ndarray:
    """Apply to float32 (H, W, 3|4) pixels with torch (alpha kept). fp16 on CUDA by default."""
    torch = _torch()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    half = (device == "cuda") if half is None else half
    dtype = torch.float16 if half else torch.float32
    src = torch.as_tensor(np.ascontiguousarray(pixels, dtype=np.float32), device=device)
    with torch.no_grad():
        out = src.clone()
        out[..., :3] = TorchEvaluator(nlut)(src[..., :3].to(dtype), mix=mix).to(torch.float32)
    return out.cpu().numpy()

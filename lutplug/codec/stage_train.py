"""Fit the input stages of :mod:`lutplug.codec.stage`: for every look, its curve ``A`` and matrix
``M`` (and, when a pack is built, the pack's curve ``C``) so that the base table read through the
stage matches the look's nodes. All looks are fitted together (one batch per step: a sample of
each look's nodes); Adam with a cosine schedule on an L1 + L2 loss of display-clipped values.

A look starts where its grey axis lands on the base's: ``A`` (the same for R, G and B) maps each
code value to the base code value whose grey has the same mean output, ``M`` is the identity and
``C`` maps log-encoded light to itself — so that looks whose log curves differ widely start in
the right basin. Needs torch.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from lutplug.codec import stage as S
from lutplug.codec.model.torch_net import lattice_read_t
from lutplug.core.interpolate import tetrahedral
from lutplug.core.lut import lattice
from lutplug.optional import import_torch

#: Steps, nodes per look per step and peak learning rate of a fit.
STEPS = 1500
BATCH = 4096
LR = 3e-3
#: Weight of the squared error next to the absolute error.
L2_WEIGHT = 0.1

Progress = Callable[[dict], None]


def grey_init(base_nodes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Initial curve ``A`` float32 (3, KNOTS) of a look: its grey axis onto the base's."""
    xs = np.linspace(0, 1, 1025, dtype=np.float32)
    base_grey = np.maximum.accumulate(tetrahedral(base_nodes, np.stack([xs] * 3, 1)).mean(axis=1))
    rising = np.concatenate([[True], np.diff(base_grey) > 1e-6])
    knots = np.linspace(0, 1, S.KNOTS, dtype=np.float32)
    look_grey = tetrahedral(table, np.stack([knots] * 3, 1)).mean(axis=1)
    a = np.interp(look_grey, base_grey[rising], xs[rising]).astype(np.float32)
    return np.stack([a] * 3)


def identity_curve() -> np.ndarray:
    """The pack curve ``C`` that maps log-encoded light to itself, float32 (3, CURVE_KNOTS)."""
    return np.stack([np.linspace(S.CURVE_LO, S.CURVE_HI, S.CURVE_KNOTS, dtype=np.float32)] * 3)


def _curve_t(c, x, lo: float, hi: float):
    """Torch :func:`lutplug.codec.stage.value_curve` for L looks at once: ``c`` (L, 3, K) or
    (3, K), ``x`` (L, B, 3)."""
    torch = import_torch("training")
    k = c.shape[-1]
    t = (torch.clamp(x, lo, hi) - lo) * ((k - 1) / (hi - lo))
    i = torch.clamp(torch.floor(t), max=k - 2)
    f = t - i
    i = i.long()
    if c.dim() == 2:
        c = c.expand(x.shape[0], -1, -1)
    cc = c.unsqueeze(1).expand(-1, x.shape[1], -1, -1)
    lo_v = torch.gather(cc, 3, i.unsqueeze(-1)).squeeze(-1)
    hi_v = torch.gather(cc, 3, (i + 1).unsqueeze(-1)).squeeze(-1)
    return lo_v + (hi_v - lo_v) * f


def fit_stages(base_nodes: np.ndarray, tables: Sequence[np.ndarray], curve: Optional[np.ndarray] = None,
               steps: int = STEPS, seed: int = 0, progress: Optional[Progress] = None
               ) -> Tuple[np.ndarray, List[Dict[str, np.ndarray]]]:
    """(curve ``C``, per look {``a``, ``M``}) float32 fitted to ``tables`` (each (N, N, N, 3)
    float32, any N) through ``base_nodes`` (Nb, Nb, Nb, 3). ``curve`` given: it stays fixed (a
    look added to a built pack); else it is fitted too, from :func:`identity_curve`."""
    torch = import_torch("training")
    nb = base_nodes.shape[0]
    base = torch.as_tensor(np.ascontiguousarray(base_nodes, np.float32).reshape(-1, 3))
    coords = [torch.as_tensor(lattice(t.shape[0]).astype(np.float32)) for t in tables]
    targets = [torch.as_tensor(np.clip(t, 0, 1).reshape(-1, 3).astype(np.float32)) for t in tables]
    n_looks = len(tables)
    a = torch.nn.Parameter(torch.as_tensor(np.stack([grey_init(base_nodes, t) for t in tables])))
    mix = torch.nn.Parameter(torch.eye(3).repeat(n_looks, 1, 1))
    fixed = curve is not None
    c = torch.nn.Parameter(torch.as_tensor(np.asarray(identity_curve() if curve is None else curve, np.float32)),
                           requires_grad=not fixed)
    opt = torch.optim.Adam([a, mix] + ([] if fixed else [c]), lr=LR)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = LR * 0.5 * (1 + math.cos(math.pi * step / steps)) + LR * 0.01
        picks = [torch.randint(0, len(x), (BATCH,), generator=gen) for x in coords]
        u = torch.stack([x[p] for x, p in zip(coords, picks)])
        want = torch.stack([t[p] for t, p in zip(targets, picks)])
        light = S.log_decode(_curve_t(a, u, 0.0, 1.0))
        v = _curve_t(c, S.log_encode(torch.einsum("lij,lbj->lbi", mix, light)), S.CURVE_LO, S.CURVE_HI)
        got = lattice_read_t(base, nb, torch.clamp(v, 0, 1).reshape(-1, 3), "tetrahedral")
        err = torch.clamp(got.reshape(want.shape), 0, 1) - want
        loss = err.abs().mean() + L2_WEIGHT * err.square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None and (step + 1) % 50 == 0:
            progress({"stage": "stages", "step": step + 1, "total": steps, "loss": float(loss.detach())})
    looks = [{"a": a[i].detach().numpy().copy(), "M": mix[i].detach().numpy().copy()} for i in range(n_looks)]
    return c.detach().numpy().astype(np.float32), looks

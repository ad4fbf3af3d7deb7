"""Training one architecture: Adam on a one-cycle schedule, then quantisation-aware training;
the stored network is the int8 one."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from lutplug.codec import model as M
from lutplug.codec import quantize as Q
from lutplug.codec.train.loss import colour_loss, fake_quant_params, linear_de
from lutplug.codec.train.points import train_data
from lutplug.codec.train.recipe import DEFAULT_RECIPE, quant_config
from lutplug.optional import import_torch


PROGRESS_EVERY = 250  # optimiser steps between progress reports of train_config


def train_config(table: np.ndarray, config: dict, recipe: dict | None = None, seed: int = 0,
                 data=None, init: dict | None = None, device: str = "cpu",
                 progress: Optional[Callable[[int, float], None]] = None):
    """Train one architecture. Returns (config_with_quant, stored_params, float_params), or None
    when ``recipe["abort_de_mean"]`` is set and the float model's (linearised) ΔE mean on a fixed
    training subset still exceeds it at ``abort_frac`` of the Adam steps (hopeless attempt).
    ``progress(steps_done_since_last_call, linearised ΔE mean on that subset)`` is called every
    ``PROGRESS_EVERY`` optimiser steps."""
    torch = import_torch("training")
    rc = dict(DEFAULT_RECIPE)
    rc.update(recipe or {})
    if data is None:
        data = train_data(table, rc, seed)
    dev = torch.device(device)
    u, tc, jac = (torch.as_tensor(a).to(dev) for a in data)
    n = u.shape[0]
    p0 = init if init is not None else M.init_params(config, seed)
    params = {k: torch.nn.Parameter(torch.as_tensor(np.asarray(v, np.float32)).clone().to(dev))
              for k, v in p0.items()}
    plist = list(params.values())
    gen = torch.Generator().manual_seed(seed)

    n_chk = min(n, 16384)
    chk = torch.as_tensor(np.random.default_rng(seed + 7).choice(n, n_chk, replace=False)).to(dev)
    abort_tol = rc.get("abort_de_mean")
    trace = rc.get("trace")  # debugging: list to receive (step, ΔE mean on the check subset)

    def chk_de():
        with torch.no_grad():
            return float(linear_de(torch.clamp(M.forward(params, config, u[chk]), 0, 1) - torch.clamp(tc[chk], 0, 1),
                             jac[chk]).mean())

    def check_abort():
        return chk_de() > abort_tol

    def run_adam(steps, lr, qconf=None, abort_at=None):
        if steps <= 0:
            return False
        opt = torch.optim.Adam(plist, lr=lr)
        sched = None
        if steps >= 8:
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                        pct_start=max(0.05, 3.0 / steps), anneal_strategy="cos",
                                                        div_factor=10, final_div_factor=100)
        bs = min(rc["batch"], n)
        for step in range(steps):
            if abort_at is not None and step == abort_at and check_abort():
                return True
            if trace is not None and step % max(steps // 10, 1) == 0 and qconf is None:
                trace.append((step, chk_de()))
            if progress is not None and step and step % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY, chk_de())
            idx = torch.randint(0, n, (bs,), generator=gen).to(dev)
            pp = fake_quant_params(params, qconf) if qconf else params
            loss = colour_loss(M.forward(pp, config, u[idx]), tc[idx], jac[idx], rc)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        return False

    abort_at = int(rc["adam_steps"] * rc.get("abort_frac", 0.4)) if abort_tol else None
    if run_adam(rc["adam_steps"], rc["lr"], abort_at=abort_at):
        return None
    if rc["lbfgs_steps"] > 0:
        opt = torch.optim.LBFGS(plist, lr=1.0, max_iter=rc["lbfgs_steps"], history_size=20,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad(set_to_none=True)
            loss = colour_loss(M.forward(params, config, u), tc, jac, rc)
            loss.backward()
            return loss

        opt.step(closure)
    qconf = quant_config(config, rc)
    run_adam(rc["qat_steps"], rc["qat_lr"], qconf)
    fp = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in params.items()}
    cfg = dict(config)
    cfg["quant"] = qconf
    stored = Q.quantize_params(fp, qconf)
    return cfg, stored, fp

"""The size search (:func:`fit`): the smallest network of the ladder whose dequantised output meets
the target, with node corrections for near misses and the residual-lattice tier when none does."""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional

import numpy as np

from lutplug.codec import model as M
from lutplug.codec import quantize as Q
from lutplug.codec.train.fixes import add_fixes, identity_network, lattice_only, worth_fixing
from lutplug.codec.train.lattice_tier import lattice_tier
from lutplug.codec.train.points import ToLattice, eval_points, train_data
from lutplug.codec.train.recipe import DEFAULT_RECIPE, FIT_RECIPE, LADDER, T1_LIMITS, ladder_config
from lutplug.codec.train.scoring import badness, evaluate
from lutplug.codec.train.single import train_config
from lutplug.metrics import meets
from lutplug.optional import import_torch


@dataclass
class FitResult:
    config: dict
    params: Dict[str, np.ndarray]
    quality: Dict[str, float]
    stored_bytes: int
    seconds: float
    attempts: List[dict] = field(default_factory=list)
    cpu_seconds: float = 0.0  # process CPU time of the fit (= single-thread compute time at 1 thread)

    @property
    def n_params(self) -> int:
        return M.n_params(self.config)

    def meets(self, targets: Mapping[str, float] = T1_LIMITS) -> bool:
        return meets(self.quality, targets)


START_INDEX = 8  # [64]
#: CPU seconds of this process: no new size attempt starts after this (the best so far is returned).
#: CPU time, not wall time, so a loaded machine does not change results.
FIT_CPU_LIMIT = 300.0

# Abort an attempt whose ΔE mean at 40% of training is > 4x the target. At 40% the one-cycle schedule
# has just left its peak and the mean says little about the end: traces (check-subset ΔE at 40% ->
# final T1 mean) of 10 attempts next to their grade's answer ran 0.68-1.26 for passing and failing
# ones alike (dramatic [64] 1.26 -> 0.41 and golden_years [128, 16] 1.00 -> 0.42 both pass, but
# 2.2x, the old ratio, abandoned them and the search chose larger models).
ABORT_RATIO = 4.0


def estimate_bytes(config: dict) -> int:
    return int(M.n_params(config) * 1.05) + 20


SEED_STRIDE = 1009  # seed offset between the variants of one size trained by fit()


def better_attempt(r1: tuple, r2: tuple, targets: Mapping[str, float]) -> bool:
    """Whether attempt result ``r1`` (cfg, stored, quality, bytes, ok) beats ``r2`` of the same size."""
    return (not r1[4], badness(r1[2], targets), r1[2]["de_mean"]) < (not r2[4], badness(r2[2], targets),
                                                                     r2[2]["de_mean"])


def probe_indices(a: int, b: int, k: int, first: bool) -> List[int]:
    """Ladder indices to train at once in one search round over the open interval [a, b]: all of
    them when there are at most ``k``, else ``k`` points splitting it evenly; the first round
    brackets :data:`START_INDEX` (most grades need a model near it)."""
    n = b - a + 1
    if n <= k:
        return list(range(a, b + 1))
    if first and a <= START_INDEX <= b:
        if k == 1:
            return [START_INDEX]
        return sorted({min(max(START_INDEX + d, a), b) for d in np.linspace(-2, 2, k).round().astype(int)})
    return sorted({a + (j + 1) * n // (k + 1) for j in range(k)})


def fit(table: np.ndarray, *, targets: Mapping[str, float] = T1_LIMITS, budget_bytes: Optional[int] = None, seed: int = 0,
        device: str = "cpu", progress: Optional[Callable[[dict], None]] = None,
        recipe: Optional[dict] = None, workers: Optional[int] = None,
        to_lattice: Optional[ToLattice] = None, interpolation: str = "tetrahedral") -> FitResult:
    """Fit the smallest ladder model whose DEQUANTISED output meets ``targets``.

    ``table``: float32 (N,N,N,3) in lutplug layout ``[b,g,r,c]``. Search over :data:`LADDER`:
    each round trains ``workers`` sizes at once (threads, one torch thread each; default: 2 on CPU
    when the machine has 2+ cores, 1 on CUDA), splitting the interval still open, the first round
    bracketing :data:`START_INDEX`. ``to_lattice``: the LUT's shaper, when it has one: attempts
    are then judged at the T1 points of the input domain (see :func:`eval_points`; training
    stays uniform over the lattice, which measured better on the ARRI LMT). ``interpolation``: how
    the source table is read between its nodes (targets, and the baked cube's reading; see
    :data:`INTERPOLATORS`). If ``budget_bytes`` is given, models whose estimated size exceeds it
    are not tried. Returns the smallest passing model; when none passes, the
    :func:`lattice_tier` (a trained network or the identity plus a residual lattice on the
    table's grid) if it meets the targets within the budget, else the best (least bad) network.
    The result depends only on the table, its shaper and interpolation, the targets, budget, seed
    and recipe (each attempt is deterministic and rounds are decided in index
    order), not on ``workers``' timing.
    """
    torch = import_torch("training")
    t_start = time.time()
    cpu_start = time.process_time()
    table = np.ascontiguousarray(table, dtype=np.float32)
    if table.ndim != 4 or table.shape[-1] != 3 or len(set(table.shape[:3])) != 1:
        raise ValueError(f"table must be (N,N,N,3), got {table.shape}")
    if workers is None:
        workers = 1 if device != "cpu" else max(1, min(2, os.cpu_count() or 1))
    u_eval, t_eval = eval_points(table, to_lattice=to_lattice, interpolation=interpolation)
    rc = dict(DEFAULT_RECIPE)
    rc.update(FIT_RECIPE)
    rc.update(recipe or {})  # overrides (e.g. fewer steps for quick drafts and tests)
    data = train_data(table, rc, seed, interpolation)
    cfgs = [ladder_config(i) for i in range(len(LADDER))]
    allowed = list(range(len(cfgs)))
    if budget_bytes is not None:
        allowed = [i for i in allowed if estimate_bytes(cfgs[i]) <= budget_bytes] or [0]
    attempts: List[dict] = []
    results: Dict[int, tuple] = {}

    def attempt(i: int, variant: int, may_abort: bool):
        t0 = time.time()
        c0 = time.thread_time()
        rci = dict(rc)
        if may_abort:
            rci["abort_de_mean"] = ABORT_RATIO * targets.get("de_mean", T1_LIMITS["de_mean"])
        report = None
        if progress is not None:
            def report(advance: int, de_mean: float, emit: Callable[[dict], None] = progress) -> None:
                emit({"stage": "train", "hidden": cfgs[i]["hidden"], "advance": advance, "de_mean": de_mean})

        out = train_config(table, cfgs[i], rci, seed + SEED_STRIDE * variant, data=data, device=device,
                           progress=report)
        rec = {"index": i, "hidden": cfgs[i]["hidden"], "n_params": M.n_params(cfgs[i]), "variant": variant}
        if out is None:
            return dict(rec, aborted=True, meets=False, seconds=time.time() - t0,
                        cpu_seconds=time.thread_time() - c0), None
        cfg, stored, _ = out
        q, de = evaluate(cfg, stored, u_eval, t_eval, table, True, interpolation)
        if not meets(q, targets) and worth_fixing(q, targets):  # near misses: node corrections
            fixed = add_fixes(cfg, stored, table, u_eval, t_eval, targets, measured=(q, de),
                              interpolation=interpolation)
            if fixed is not None and badness(fixed[2], targets) < badness(q, targets):
                cfg, stored, q = fixed
        nb = Q.stored_bytes(stored)
        ok = meets(q, targets) and (budget_bytes is None or nb <= budget_bytes)
        return dict(rec, stored_bytes=nb, meets=ok, fixes=cfg.get("fix", {}).get("count", 0),
                    seconds=time.time() - t0,
                    cpu_seconds=time.thread_time() - c0, **q), (cfg, stored, q, nb, ok)

    tiny = lattice_only(table, u_eval, t_eval, targets, interpolation)
    if tiny is not None and meets(tiny[2], targets) and (
            budget_bytes is None or Q.stored_bytes(tiny[1]) <= budget_bytes):
        cfg, stored, q = tiny  # a table this small is its own best code: no network to train
        nb = Q.stored_bytes(stored)
        attempts.append({"index": -1, "hidden": cfg["hidden"], "n_params": M.n_params(cfg), "variant": 0,
                         "stored_bytes": nb, "meets": True, "fixes": cfg["fix"]["count"],
                         "seconds": time.time() - t_start, "cpu_seconds": time.process_time() - cpu_start, **q})
        if progress is not None:
            progress(dict(attempts[-1], stage="attempt"))
            progress({"stage": "done", "stored_bytes": nb, "meets": True, **q})
        return FitResult(config=cfg, params=stored, quality=q, stored_bytes=nb,
                         seconds=time.time() - t_start, attempts=attempts,
                         cpu_seconds=time.process_time() - cpu_start)
    threads0 = torch.get_num_threads()
    torch.set_num_threads(1 if workers > 1 else threads0)
    torch.set_flush_denormal(True)  # tiny gradients late in training are otherwise very slow on CPU
    best_pass = None
    a, b = allowed[0], allowed[-1]
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while a <= b and not (attempts and time.process_time() - cpu_start > FIT_CPU_LIMIT):
                idx = probe_indices(a, b, workers, not attempts)
                # idle workers train the smallest size again from other initial weights (another
                # draw of the same size often passes where the first just misses)
                runs = [(i, 0) for i in idx] + [(idx[0], v) for v in range(1, workers - len(idx) + 1)]
                # never abort the largest model of the first round, so there is always one to return
                jobs = [pool.submit(attempt, i, v, bool(results) or (i, v) != (idx[-1], 0)) for i, v in runs]
                for (i, _), job in zip(runs, jobs):
                    rec, res = job.result()
                    attempts.append(rec)
                    if res is not None and (i not in results or better_attempt(res, results[i], targets)):
                        results[i] = res
                    if progress is not None:
                        progress(dict(rec, stage="attempt"))
                passed = [i for i in idx if i in results and results[i][4]]
                if passed:
                    best_pass = min(passed + ([best_pass] if best_pass is not None else []))
                    b = min(b, min(passed) - 1)
                failed = [i for i in idx if i not in passed and (best_pass is None or i < best_pass)]
                if failed:
                    a = max(a, max(failed) + 1)
    finally:
        torch.set_num_threads(threads0)
        torch.set_flush_denormal(False)
    if best_pass is not None:
        k = best_pass
    else:
        k = min(results, key=lambda j: (badness(results[j][2], targets), results[j][3]))
    cfg, stored, q, nb, _ = results[k]
    if best_pass is None:  # no network meets the targets: the residual lattice tier
        c0 = time.process_time()
        predictors = [r[:2] for _, r in sorted(results.items())] + [identity_network()]
        tier = lattice_tier(table, u_eval, t_eval, predictors, targets, interpolation, progress)
        if tier is not None and (budget_bytes is None or Q.stored_bytes(tier[1]) <= budget_bytes):
            cfg, stored, q = tier
            nb = Q.stored_bytes(stored)
            attempts.append({"index": -2, "hidden": cfg["hidden"], "n_params": M.n_params(cfg), "variant": 0,
                             "stored_bytes": nb, "meets": True, "lattice": cfg["lattice"],
                             "identity": not any(np.any(v) for k, v in stored.items() if k.startswith("W")),
                             "seconds": time.time() - t_start, "cpu_seconds": time.process_time() - c0, **q})
            if progress is not None:
                progress(dict(attempts[-1], stage="attempt"))
    res = FitResult(config=cfg, params=stored, quality=q, stored_bytes=nb, seconds=time.time() - t_start,
                    attempts=attempts, cpu_seconds=time.process_time() - cpu_start)
    if progress is not None:
        progress({"stage": "done", "stored_bytes": nb, "meets": meets(q, targets), **q})
    return res

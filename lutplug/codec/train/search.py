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
from lutplug.codec.train.fixes import add_fixes, identity_network, lattice_only, worth_fixing
from lutplug.codec.train.lattice_tier import Judge, coarse_lattice, lattice_tier
from lutplug.codec.train.points import ToLattice, eval_points, train_data
from lutplug.codec.train.recipe import DEFAULT_RECIPE, FIT_RECIPE, LADDER, T1_LIMITS, ladder_config, rung_recipe
from lutplug.codec.train.scoring import badness, evaluate, stored_size
from lutplug.codec.train.single import train_config
from lutplug.codec.train.warm import resize
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


#: The first round's sizes ([40] and [96]), bracketing [64]; smaller sizes shrink from [40],
#: two-layer ones start at :data:`DEEP_PROBE`. (A first round of [16] and [64] was tried: the
#: one-layer grades of the shared corpus then took more rounds.)
FIRST_ROUND = (6, 10)
#: The first two-layer size tried ([128, 32]): smaller and larger two-layer sizes start from it.
DEEP_PROBE = 14
#: CPU seconds of this process: no new search round starts after this (the best so far is kept and,
#: when nothing passes, the lattice tier runs). CPU time, not wall time, so a loaded machine does
#: not change results.
FIT_CPU_LIMIT = 120.0
#: The size search's time, modelled (:func:`round_seconds`, from step counts and sizes alone, so a
#: loaded machine does not change results): no round starts that would take it past this. With
#: the last tier's ~10–15 s, a LUT takes at most about a minute on 2 cores.
SEARCH_SECONDS = 34.0
#: The trained networks (least bad first) the lattice tier tries as predictors.
TIER_PREDICTORS = 2
#: The search stops going down the ladder once the smallest size still open could save less than
#: this share of the best passing size's bytes.
STOP_SAVING = 0.15

#: A size started from a trained network of the same depth (:mod:`lutplug.codec.train.warm`) trains
#: this share of the steps, at this peak learning rate: measured on night_glow ([96] -> [80], [64]),
#: golden_years ([128, 16] -> [128, 32]) and cool_cinema ([40] -> [64]) as good as a cold start of
#: the full schedule, or better (ΔE00 mean 0.45 -> 0.40, 0.40 -> 0.37, 0.43 -> 0.44).
WARM_STEPS, WARM_LR = 0.4, 1e-2
#: Two-layer sizes grown or shrunk from a neighbour train this share of their steps instead.
WARM_STEPS_DEEP = 0.6

# Abort an attempt whose ΔE mean at 40% of training is > 4x the target. At 40% the one-cycle schedule
# has just left its peak and the mean says little about the end: traces (check-subset ΔE at 40% ->
# final T1 mean) of 10 attempts next to their grade's answer ran 0.68-1.26 for passing and failing
# ones alike (dramatic [64] 1.26 -> 0.41 and golden_years [128, 16] 1.00 -> 0.42 both pass, but
# 2.2x, the old ratio, abandoned them and the search chose larger models).
ABORT_RATIO = 4.0


def step_seconds(config: dict) -> float:
    """Modelled seconds of one optimiser step of ``config`` on one CPU thread (batch 4096), the
    attempt's measurement and repair spread over its steps: 4.5 ms of fixed work (curves, loss,
    optimiser) and 0.45 µs a parameter — what attempts of [40]–[256, 64] took on the 2-core
    development machine (5.0, 6.3, 9.4 and 12.1 ms for [40], [128, 32], [256, 32], [256, 64])."""
    return 4.5e-3 + 0.45e-6 * M.n_params(config)


#: Modelled seconds of an attempt besides its steps (measuring it, repairing a near miss).
ATTEMPT_SECONDS = 1.0


def round_seconds(runs: List[tuple], workers: int) -> float:
    """Modelled seconds of one search round: ``runs`` of (config, steps) on ``workers`` threads."""
    times = sorted((ATTEMPT_SECONDS + steps * step_seconds(cfg) for cfg, steps in runs), reverse=True)
    lanes = [0.0] * max(1, workers)
    for t in times:  # longest first, each onto the least busy thread
        lanes[lanes.index(min(lanes))] += t
    return max(lanes)


def estimate_bytes(config: dict) -> int:
    return int(M.n_params(config) * 1.05) + 20


SEED_STRIDE = 1009  # seed offset between the variants of one size trained by fit()


def better_attempt(r1: tuple, r2: tuple, targets: Mapping[str, float]) -> bool:
    """Whether attempt result ``r1`` (cfg, stored, quality, bytes, ok) beats ``r2`` of the same size."""
    return (not r1[4], badness(r1[2], targets), r1[2]["de_mean"]) < (not r2[4], badness(r2[2], targets),
                                                                     r2[2]["de_mean"])


def probe_indices(a: int, b: int, k: int, first: bool, deep_trained: bool = False) -> List[int]:
    """Ladder indices to train at once in one search round over the open interval [a, b]: all of
    them when there are at most ``k``; in the first round :data:`FIRST_ROUND` (clamped into the
    interval); when the interval holds one- and two-layer sizes, one of each (the middle of the
    one-layer part, and :data:`DEEP_PROBE` or the middle of the two-layer part); when it holds
    two-layer sizes only and none has been trained (``deep_trained``), :data:`DEEP_PROBE` and the
    smallest of them — two-layer sizes start cold, so the first ones are few and the others grow
    or shrink from them; else ``k`` points splitting the interval evenly."""
    n = b - a + 1
    if n <= k:
        return list(range(a, b + 1))
    if first:
        return sorted({min(max(i, a), b) for i in FIRST_ROUND[:k]})
    shallow = [i for i in range(a, b + 1) if len(LADDER[i][0]) == 1]
    deep = [i for i in range(a, b + 1) if len(LADDER[i][0]) > 1]
    if shallow and deep and k >= 2:
        return [shallow[len(shallow) // 2], DEEP_PROBE if DEEP_PROBE in deep else deep[len(deep) // 2]]
    if deep and not shallow and not deep_trained and k >= 2 and DEEP_PROBE in deep:
        return sorted({deep[0], DEEP_PROBE})
    return sorted({a + (j + 1) * n // (k + 1) for j in range(k)})


def fit(table: np.ndarray, *, targets: Mapping[str, float] = T1_LIMITS, budget_bytes: Optional[int] = None,
        seed: int = 0, device: str = "cpu", progress: Optional[Callable[[dict], None]] = None,
        recipe: Optional[dict] = None, workers: Optional[int] = None,
        to_lattice: Optional[ToLattice] = None, interpolation: str = "tetrahedral",
        judge: Optional[Judge] = None) -> FitResult:
    """Fit the smallest code of ``table`` whose DEQUANTISED output meets ``targets``.

    ``table``: float32 (N,N,N,3) in lutplug layout ``[b,g,r,c]``. In order:

    1. a table of at most 5³ nodes: the identity network plus a correction at every node
       (:func:`lattice_only`), when it passes;
    2. the *lattice bound*: the identity plus a residual lattice on the coarsest grid that meets
       the targets (:func:`coarse_lattice`) — no network estimated larger than it is trained;
    3. the size search over :data:`LADDER` (each round trains ``workers`` sizes at once: threads of
       one torch thread each; default 2 on CPU when the machine has 2+ cores, 1 on CUDA): first
       :data:`FIRST_ROUND`, then the open interval split (:func:`probe_indices`), a size starting
       from its trained neighbour of the same depth when there is one (:mod:`.warm`, a share of
       the steps), near misses repaired with node corrections; it stops when the sizes still
       open could save less than :data:`STOP_SAVING` of the best passing size's bytes, or before
       a round that would take it past :data:`SEARCH_SECONDS` (or the recipe's
       ``search_seconds``; modelled, :func:`round_seconds`;
       :data:`FIT_CPU_LIMIT` CPU seconds as a safety net);
    4. when no network passes, the residual-lattice tier (:func:`lattice_tier`): the
       :data:`TIER_PREDICTORS` least bad networks as predictors of a lattice on the table's grid
       and on the bound's grid.

    A candidate passes when its figures at the evaluation points (:func:`eval_points`, direct and
    baked to the table's grid) meet ``targets`` and, when given, ``judge(config, stored)`` — the
    caller's final report — meets them too (so the file never falls short of what it reports).
    The smallest passing candidate (stored bytes) is returned; when none passes, the least bad
    network. ``to_lattice``: the LUT's shaper (attempts are judged at the T1 points of the input
    domain); ``interpolation``: how the table is read between its nodes. ``budget_bytes``: no
    model whose estimated size exceeds it is tried. The result depends only on the table, its
    shaper and interpolation, the targets, budget, seed and recipe (each attempt is
    deterministic, rounds are decided in index order and the time budget is modelled), not on
    ``workers``' timing — except where the :data:`FIT_CPU_LIMIT` safety net stops a search.
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
    search_seconds = float(rc.pop("search_seconds", SEARCH_SECONDS))
    cfgs = [ladder_config(i) for i in range(len(LADDER))]
    attempts: List[dict] = []
    results: Dict[int, tuple] = {}

    def within_budget(cfg: dict, stored: Dict[str, np.ndarray]) -> bool:
        return budget_bytes is None or stored_size(cfg, stored) <= budget_bytes

    def passes(cfg: dict, stored: Dict[str, np.ndarray], q: Dict[str, float]) -> bool:
        """Whether a candidate measured ``q`` at the evaluation points passes (the judge is asked
        at the end, of the smallest candidates first)."""
        return meets(q, targets) and within_budget(cfg, stored)

    judgements: Dict[int, bool] = {}

    def accepted(candidate: tuple) -> bool:
        """The judge's verdict on a candidate (config, stored, quality), asked once."""
        key = id(candidate[1])
        if key not in judgements:
            judgements[key] = judge is None or meets(judge(candidate[0], candidate[1]), targets)
            if not judgements[key]:
                attempts.append({"index": -4, "hidden": candidate[0]["hidden"], "meets": False,
                                 "stored_bytes": stored_size(*candidate[:2]), "refused_by_report": True,
                                 **candidate[2]})
        return judgements[key]

    def record(index: int, cfg: dict, stored: Dict[str, np.ndarray], q: Dict[str, float], c0: float,
               **extra) -> dict:
        rec = {"index": index, "hidden": cfg["hidden"], "n_params": M.n_params(cfg), "variant": 0,
               "stored_bytes": stored_size(cfg, stored), "meets": True, "seconds": time.time() - t_start,
               "cpu_seconds": time.process_time() - c0, **extra, **q}
        attempts.append(rec)
        if progress is not None:
            progress(dict(rec, stage="attempt"))
        return rec

    def finish(cfg: dict, stored: Dict[str, np.ndarray], q: Dict[str, float]) -> FitResult:
        nb = stored_size(cfg, stored)
        if progress is not None:
            progress({"stage": "done", "stored_bytes": nb, "meets": passes(cfg, stored, q), **q})
        return FitResult(config=cfg, params=stored, quality=q, stored_bytes=nb,
                         seconds=time.time() - t_start, attempts=attempts,
                         cpu_seconds=time.process_time() - cpu_start)

    candidates: List[tuple] = []  # (config, stored, quality) of every candidate that passes
    tiny = lattice_only(table, u_eval, t_eval, targets, interpolation)
    if tiny is not None:
        ok = passes(*tiny) and accepted(tiny)  # judged at once: it decides whether to train at all
        record(-1, tiny[0], tiny[1], tiny[2], cpu_start, fixes=tiny[0]["fix"]["count"], meets=ok)
        if ok:
            candidates.append(tiny)

    c0 = time.process_time()
    bound, bound_grid = coarse_lattice(table, u_eval, t_eval, identity_network(), targets, interpolation,
                                       progress)
    if bound is not None and not within_budget(bound[0], bound[1]):
        bound = None
    if bound is not None:
        record(-3, bound[0], bound[1], bound[2], c0, lattice=bound[0]["lattice"], identity=True)
        candidates.append(bound)
    limit = min((stored_size(c[0], c[1]) for c in candidates), default=None)
    allowed = [i for i in range(len(cfgs))
               if (budget_bytes is None or estimate_bytes(cfgs[i]) <= budget_bytes)
               and (limit is None or estimate_bytes(cfgs[i]) < limit)]
    if tiny is not None and candidates:
        allowed = []  # a table of at most 5³ nodes is its own best code: no network to train
    data = train_data(table, rc, seed, interpolation) if allowed else None

    def warm_source(i: int) -> Optional[int]:
        """The trained size of the same depth closest to size ``i`` (fewest parameters apart), or
        None: a size with none starts cold."""
        same = [j for j in sorted(results) if len(cfgs[j]["hidden"]) == len(cfgs[i]["hidden"])]
        if not same:
            return None
        return min(same, key=lambda j: abs(M.n_params(cfgs[j]) - M.n_params(cfgs[i])))

    def run_recipe(i: int, source: Optional[int]) -> dict:
        """The recipe of size ``i``, started cold or (``source``) from a trained neighbour: fewer
        steps, a gentler rate."""
        rci = rung_recipe(rc, cfgs[i])
        if source is not None:
            share = WARM_STEPS_DEEP if len(cfgs[i]["hidden"]) > 1 else WARM_STEPS
            rci["adam_steps"] = max(1, int(round(rci["adam_steps"] * share)))
            rci["lr"] = min(rci["lr"], WARM_LR)
        return rci

    def run_steps(i: int, source: Optional[int]) -> int:
        rci = run_recipe(i, source)
        return int(rci["adam_steps"]) + int(rci["qat_steps"])

    def attempt(i: int, variant: int, may_abort: bool, source: Optional[int]):
        t0 = time.time()
        c0 = time.thread_time()
        rci = run_recipe(i, source)
        init = None
        if source is not None:
            init = resize(results[source][5], cfgs[source], cfgs[i], seed + SEED_STRIDE * variant)
        if may_abort:
            rci["abort_de_mean"] = ABORT_RATIO * targets.get("de_mean", T1_LIMITS["de_mean"])
        report = None
        if progress is not None:
            def report(advance: int, de_mean: float, emit: Callable[[dict], None] = progress) -> None:
                emit({"stage": "train", "hidden": cfgs[i]["hidden"], "advance": advance, "de_mean": de_mean,
                      "variant": variant})

        out = train_config(table, cfgs[i], rci, seed + SEED_STRIDE * variant, data=data, init=init,
                           device=device, progress=report)
        rec = {"index": i, "hidden": cfgs[i]["hidden"], "n_params": M.n_params(cfgs[i]), "variant": variant,
               "warm_from": None if source is None else cfgs[source]["hidden"]}
        if out is None:
            return dict(rec, aborted=True, meets=False, seconds=time.time() - t0,
                        cpu_seconds=time.thread_time() - c0), None
        cfg, stored, trained = out
        q, de = evaluate(cfg, stored, u_eval, t_eval, table, True, interpolation)
        if not meets(q, targets) and worth_fixing(q, targets):  # near misses: node corrections
            fixed = add_fixes(cfg, stored, table, u_eval, t_eval, targets, measured=(q, de),
                              interpolation=interpolation)
            if fixed is not None and badness(fixed[2], targets) < badness(q, targets):
                cfg, stored, q = fixed
        nb = stored_size(cfg, stored)
        ok = passes(cfg, stored, q)
        return dict(rec, stored_bytes=nb, meets=ok, fixes=cfg.get("fix", {}).get("count", 0),
                    seconds=time.time() - t0,
                    cpu_seconds=time.thread_time() - c0, **q), (cfg, stored, q, nb, ok, trained)

    best_pass = None
    modelled = 0.0  # the search's time so far, in modelled seconds (round_seconds)
    if allowed:
        threads0 = torch.get_num_threads()
        torch.set_num_threads(1 if workers > 1 else threads0)
        torch.set_flush_denormal(True)  # tiny gradients late in training are otherwise very slow on CPU
        a, b = allowed[0], allowed[-1]
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                while a <= b and not (attempts and time.process_time() - cpu_start > FIT_CPU_LIMIT):
                    if best_pass is not None and estimate_bytes(cfgs[a]) >= \
                            (1 - STOP_SAVING) * results[best_pass][3]:
                        break  # what is left could save too little
                    idx = probe_indices(a, b, workers, not results,
                                        any(len(cfgs[j]["hidden"]) > 1 for j in results))
                    # idle workers train the smallest size again from other initial weights (another
                    # draw of the same size often passes where the first just misses); a draw of
                    # another seed starts cold: a second opinion, not the first one's neighbour
                    runs = [(i, 0, warm_source(i)) for i in idx] + \
                        [(idx[0], v, None) for v in range(1, workers - len(idx) + 1)]
                    cost = round_seconds([(cfgs[i], run_steps(i, src)) for i, _, src in runs], workers)
                    if results and modelled + cost > search_seconds:
                        break  # the search's time is spent: what passed so far, else the last tier
                    modelled += cost
                    if progress is not None:
                        progress({"stage": "round", "sizes": [cfgs[i]["hidden"] for i, _, _ in runs],
                                  "variants": [v for _, v, _ in runs],
                                  "steps": [run_steps(i, src) for i, _, src in runs]})
                    # never abort the largest model of the first round, so there is always one to return
                    jobs = [pool.submit(attempt, i, v, bool(results) or (i, v) != (idx[-1], 0), src)
                            for i, v, src in runs]
                    for (i, _, _), job in zip(runs, jobs):
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
    networks = [r[:3] for _, r in sorted(results.items()) if r[4]]
    chosen = _first_accepted(candidates + networks, accepted)
    if chosen is None or (results and not networks):  # no network meets the targets: the last tier
        c0 = time.process_time()
        ranked = sorted(results, key=lambda j: (badness(results[j][2], targets), j))
        predictors = [results[j][:2] for j in ranked[:TIER_PREDICTORS]]
        if chosen is None:  # nothing the judge accepts yet: the identity too (the bound, refined)
            predictors.append(identity_network())
        tier = lattice_tier(table, u_eval, t_eval, predictors, targets, interpolation, progress, judge,
                            grids=[bound_grid] if bound_grid else ())
        if tier is not None and within_budget(tier[0], tier[1]):
            record(-2, tier[0], tier[1], tier[2], c0, lattice=tier[0]["lattice"],
                   identity=not any(np.any(v) for k, v in tier[1].items() if k.startswith("W")))
            chosen = tier if chosen is None or stored_size(*tier[:2]) < stored_size(*chosen[:2]) else chosen
    if chosen is not None:
        return finish(*chosen)
    if not results:
        raise ValueError("no network could be trained within the budget, and no residual lattice "
                         "within it meets the target")
    k = min(results, key=lambda j: (badness(results[j][2], targets), results[j][3]))
    return finish(*results[k][:3])


def _first_accepted(candidates: List[tuple], accepted: Callable[[tuple], bool]) -> Optional[tuple]:
    """The candidate with the fewest stored bytes that the judge accepts (asked smallest first)."""
    sizes = [stored_size(c[0], c[1]) for c in candidates]
    for _, candidate in sorted(zip(sizes, candidates), key=lambda pair: pair[0]):
        if accepted(candidate):
            return candidate
    return None

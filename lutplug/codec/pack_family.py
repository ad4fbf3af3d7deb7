"""Build look packs of families (see :mod:`lutplug.codec.stage`): one look is stored whole (the
*base*), every other look as an input stage into it plus corrections at its own nodes — whichever
is smaller, the stage or the look's own network, is kept, so a look the base cannot serve costs
what it costs alone.

Build: every look is compressed on its own first (the standalone codec, checkpointed as
``solo-NAME.nlut``); of the looks that can be a base (no shaper, tetrahedral) one becomes
the base (:func:`choose_base`: of those the most looks sit close to, the one a short stage fit
serves best), re-stored with a finer
residual lattice (:data:`BASE_STEP`); the stages of the other
looks are fitted together, the pack's curve with them; each look's corrections take the fewest
bytes that meet the target on its report's points (a step, and nodes the stage already predicts
within a ΔE00 floor left uncorrected); a stage look is kept when its extracted .nlut meets
the target against its source and the pack is smaller with it than with the look's own network —
and the whole stage pack only when it is smaller than every look on its own. Adding looks fits
their stages with the base and curve fixed.
Needs torch.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from lutplug import __version__
from lutplug.codec import model as M
from lutplug.codec import stage as S
from lutplug.codec.nlut import utc_now
from lutplug.codec.pack import Pack, PackLook, new_look
from lutplug.codec.pack_train import (EVAL_POINTS, Checkpoint, LookInput, as_solo, job_key, measure_look,
                                      standalone_nlut, stored_lut)
from lutplug.codec.stage_train import STEPS, fit_stages, grey_init, identity_curve
from lutplug.codec.train.lattice_tier import LATTICE_STEPS, fewest_bytes, last_true, node_de, settled_nodes
from lutplug.codec.train.scoring import stored_size
from lutplug.errors import LutError, PathLike
from lutplug.metrics import QUALITY_TARGETS, QualityTarget, evaluation_points, measure, meets

Progress = Callable[[dict], None]
#: Correction step of the base look's lattice (hdr-encoded units): finer than a standalone file's,
#: so that the looks read through the base inherit little of its rounding.
BASE_STEP = 2.0 ** -7
#: :func:`affinity` below which a look is fitted as a stage of the base (the aces13-p3 family's
#: looks sit at 0.01–0.08 from their best base, unrelated creative looks mostly beyond 0.08).
RELATED = 0.1
#: Looks each candidate base is compared with (a sample in bigger libraries).
AFFINITY_SAMPLE = 32
#: Candidate bases (the closest by :func:`affinity`) tried with a short stage fit, its steps, and
#: the looks fitted (a spread of the closest candidate's related looks).
BASE_TRIALS = 3
TRIAL_STEPS = 300
TRIAL_LOOKS = 5
#: Steps after the coarsest one meeting the target that a stage look's corrections also try.
FINER_STAGE_STEPS = 4


def _quiet(_info: dict) -> None:
    pass


def can_be_staged(lut) -> bool:
    """Whether a look's table can be a stage base or a stage look (no shaper, tetrahedral)."""
    return lut.shaper is None and lut.interpolation == "tetrahedral"


def stage_params(base_nodes: np.ndarray, curve: np.ndarray, fitted: Dict[str, np.ndarray], lut,
                 target: QualityTarget, seed: int = 0) -> Optional[Tuple[Dict[str, np.ndarray], float]]:
    """(stored params, step) of a look as a stage: float16 ``a``/``M`` and the fewest bytes of
    corrections with which the look, extracted, meets ``target`` on the points of its quality
    report (``seed``: the pack's, see :func:`measure_look`), or None when none does. Tried: the
    coarsest step of :data:`LATTICE_STEPS` at which correcting every node meets the target
    (bisection; the error grows with the step) and the :data:`FINER_STAGE_STEPS` after it, each
    with the largest ΔE00 floor still meeting it (:func:`fewest_bytes`)."""
    look = {"a": fitted["a"].astype(np.float16), "M": fitted["M"].astype(np.float16)}
    table = np.asarray(lut.table, np.float32)
    grid = table.shape[0]
    pred = S.predicted_nodes(base_nodes, {k: v.astype(np.float32) for k, v in look.items()}, curve, grid)
    de = node_de(table, pred)
    x = evaluation_points(lut, None, EVAL_POINTS, seed)
    lo, hi = (np.asarray(d, np.float32) for d in lut.input_domain)
    u, t = (x - lo) / (hi - lo), lut.apply(x)
    targets = target.as_dict()

    def meeting(step: float, floor: float) -> Optional[np.ndarray]:
        # display looks (as :func:`stage.free_nodes` takes them): values beyond [0, 1] may stay
        q = S.residual(table, pred, step, keep=settled_nodes(table, pred, floor, de, inside_only=False))
        nodes = S.extracted_nodes(S.look_nodes(pred, step, q), step)
        return q if meets(measure(M.lattice_read(nodes, u, "tetrahedral"), t), targets) else None

    n = len(LATTICE_STEPS)
    from_finest = last_true(n, lambda i: meeting(LATTICE_STEPS[n - 1 - i], 0.0) is not None)
    if from_finest is None:
        return None
    first = n - 1 - from_finest  # the coarsest step meeting the target with every node corrected
    best = fewest_bytes(LATTICE_STEPS[first:first + 1 + FINER_STAGE_STEPS], meeting,
                        lambda q: len(zlib.compress(q.tobytes(), 9)))
    assert best is not None  # the first step meets the target at floor 0
    return dict(look, lattice=best[0]), best[1]


def _standalone(inputs: Sequence[LookInput], target: QualityTarget, seed: int, recipe: Optional[dict],
                ckpt: Checkpoint, cache: Optional[PathLike], progress: Progress) -> List[PackLook]:
    """Every input as a solo look (its own network from the standalone codec; the .nlut files
    kept in ``cache`` — named by look, table hash, seed and settings — or the checkpoint)."""
    out = []
    key = hashlib.sha256(json.dumps([target.as_dict(), recipe or {}, seed, __version__],
                                    sort_keys=True).encode()).hexdigest()[:12]
    for inp in inputs:
        progress({"stage": "standalone", "look": inp.name})
        table_hash = hashlib.sha256(np.ascontiguousarray(inp.lut.table, np.float32).tobytes()).hexdigest()[:12]
        done = Path(cache) / f"{inp.name}-{table_hash}-{key}.nlut" if cache is not None else \
            ckpt.path(f"solo-{inp.name}.nlut")
        nlut = standalone_nlut(inp, target, seed, recipe, done)
        look = as_solo(new_look(inp.name, "solo", {}, stored_lut(inp.lut), inp.info), nlut)
        progress({"stage": "measured", "look": inp.name, "kind": "standalone",
                  "standalone_bytes": len(nlut.to_bytes()), **look.info["quality"]})
        out.append(look)
    return out


def affinity(base: np.ndarray, table: np.ndarray) -> float:
    """How far ``table`` (N, N, N, 3) is from ``base`` read through the stage its grey axis
    alone suggests (no mix, the identity curve): mean absolute difference of display-clipped
    node values. Looks of one family sit within :data:`RELATED`, unrelated looks beyond."""
    look = {"a": grey_init(base, table), "M": np.eye(3, dtype=np.float32)}
    pred = S.predicted_nodes(base, look, identity_curve(), table.shape[0])
    return float(np.mean(np.abs(np.clip(pred, 0, 1) - np.clip(table, 0, 1))))


def choose_base(tables: Sequence[np.ndarray], own_bytes: Sequence[int], trials: int = BASE_TRIALS,
                seed: int = 0) -> Tuple[int, List[int]]:
    """(index of the base, indices of the looks related to it): the table that the most looks sit
    close to (the sum of their :func:`affinity`, each capped at :data:`RELATED`, over at most
    :data:`AFFINITY_SAMPLE` others; the smaller standalone file on a tie) — and when ``trials``
    > 1, of the ``trials`` closest, the one whose short stage fit (:func:`trial_error`) leaves
    the least error: the affinity reads only the grey axis, and a base whose code values cover
    too little of the others' gamut clips them (needs torch)."""
    n = len(tables)
    if n < 2:
        return 0, []
    rng = np.random.default_rng(0)
    scores, related = [], []
    for b in range(n):
        pool = [j for j in range(n) if j != b]
        sample = sorted(rng.choice(pool, AFFINITY_SAMPLE, replace=False)) if len(pool) > AFFINITY_SAMPLE else pool
        errs = {j: affinity(tables[b], tables[j]) for j in sample}
        scores.append(sum(min(e, RELATED) for e in errs.values()) / len(sample))
        related.append([j for j, e in errs.items() if e < RELATED])
    order = sorted(range(n), key=lambda b: (scores[b], own_bytes[b]))
    best = order[0]
    if trials > 1 and related[best]:
        looks = related[best] + [best]
        looks = [looks[k] for k in np.linspace(0, len(looks) - 1, min(len(looks), TRIAL_LOOKS + 1)).astype(int)]
        errors = {b: trial_error(tables[b], [tables[j] for j in looks if j != b][:TRIAL_LOOKS], seed)
                  for b in order[:trials] if related[b]}
        best = min(errors, key=lambda b: (errors[b], scores[b]))
    rest = [j for j in range(n) if j != best]
    return best, [j for j in rest if affinity(tables[best], tables[j]) < RELATED] if n - 1 > AFFINITY_SAMPLE \
        else related[best]


def trial_error(base: np.ndarray, tables: Sequence[np.ndarray], seed: int = 0) -> float:
    """Mean absolute difference of display-clipped node values left by a short stage fit
    (:data:`TRIAL_STEPS`) of ``tables`` through ``base`` (a candidate base's score)."""
    curve, fitted = fit_stages(base, tables, steps=TRIAL_STEPS, seed=seed)
    return float(np.mean([np.mean(np.abs(np.clip(S.predicted_nodes(base, f, curve, t.shape[0]), 0, 1)
                                         - np.clip(t, 0, 1))) for f, t in zip(fitted, tables)]))


def _own_bytes(look: PackLook) -> int:
    return stored_size(dict(look.model or {}), look.params)


def _staged(pack: Pack, base_nodes: np.ndarray, inputs: Sequence[LookInput],
            fitted: Sequence[Dict[str, np.ndarray]], target: QualityTarget, seed: int,
            progress: Progress) -> Pack:
    """``pack`` with each of ``inputs`` (a solo look in ``pack``) replaced, in place, by a stage
    look where that meets ``target`` when extracted and makes the pack's bytes smaller."""
    assert pack.stage_curve is not None
    size = len(pack.to_bytes())
    for inp, fit in zip(inputs, fitted):
        found = stage_params(base_nodes, pack.stage_curve, fit, inp.lut, target, seed)
        event = {"stage": "measured", "look": inp.name, "stage_step": None if found is None else found[1]}
        if found is not None:
            look = new_look(inp.name, "stage", found[0], stored_lut(inp.lut), {**inp.info, "step": found[1]})
            trial = pack.with_looks([look if lk.name == inp.name else lk for lk in pack.looks])
            measure_look(trial, look, inp.lut, target, seed)
            trial_size = len(trial.to_bytes())
            if look.meets_target and trial_size < size:
                pack, size = trial, trial_size
        kept = pack.look(inp.name)
        progress({**event, "kind": kept.kind, **kept.info["quality"]})
    return pack


def refined_base(look: PackLook, lut, step: float, target: QualityTarget, seed: int) -> PackLook:
    """A solo look re-stored as a stage base: its network (less any lattice and node
    corrections) plus a residual lattice on its table's grid at ``step`` — its nodes then stay
    within ``step`` / 2 of the table, so looks read through it inherit little error."""
    cfg = {k: v for k, v in (look.model or {}).items() if k not in ("lattice", "fix")}
    params = {k: v for k, v in look.params.items() if k not in ("lattice", "fix")}
    table = np.asarray(lut.table, np.float32)
    grid = table.shape[0]
    q = S.residual(table, M.forward_numpy_lattice(params, cfg, grid), step)
    cfg["lattice"] = {"grid": grid, "step": float(step), "interpolation": "tetrahedral"}
    base = dataclasses.replace(look, model=cfg, params=dict(params, lattice=q), info=dict(look.info))
    trial = Pack(None, {}, [base])
    measure_look(trial, base, lut, target, seed)
    return base


def build_family(inputs: Sequence[LookInput], *, target: QualityTarget = QUALITY_TARGETS["invisible"],
                 seed: int = 0, recipe: Optional[dict] = None, checkpoint: Optional[PathLike] = None,
                 progress: Optional[Progress] = None, steps: Optional[int] = None,
                 standalone_cache: Optional[PathLike] = None, base: Optional[str] = None) -> Pack:
    """A pack of ``inputs`` with stage looks where they pay (see the module docstring).
    ``steps``: stage-fit steps (default :data:`lutplug.codec.stage_train.STEPS`);
    ``standalone_cache``: a folder keeping the looks' standalone .nlut files between runs;
    ``base``: the name of the base look (default: :func:`choose_base`'s), every other look fitted."""
    report = progress or _quiet
    settings = {"target": target.as_dict(), "seed": seed, "recipe": recipe or {}}
    ckpt = Checkpoint(checkpoint, job_key({"kind": "stage"}, inputs, dict(recipe or {}), seed, None))
    solos = _standalone(inputs, target, seed, recipe, ckpt, standalone_cache, report)
    pack = Pack(None, {}, list(solos), settings, utc_now(), __version__)
    bases = [i for i, inp in enumerate(inputs) if can_be_staged(inp.lut) and solos[i].meets_target]
    if base is not None:
        if base not in [inputs[i].name for i in bases]:
            raise LutError(f"the base {base!r} is not one of the looks that can be a base (no shaper, "
                           "tetrahedral, at the target on its own)")
        b = next(i for i in bases if inputs[i].name == base)
        others = [i for i in bases if i != b]
    else:
        report({"stage": "base"})
        j, related = choose_base([np.asarray(inputs[i].lut.table, np.float32) for i in bases],
                                 [_own_bytes(solos[i]) for i in bases], seed=seed)
        b, others = (bases[j], [bases[k] for k in related]) if related else (-1, [])
    if others:
        base_look = refined_base(solos[b], inputs[b].lut, BASE_STEP, target, seed)
        staged = Pack(None, {}, [base_look if i == b else lk for i, lk in enumerate(solos)], settings,
                      pack.created, __version__, stage_base=inputs[b].name)
        base_nodes = staged.base_nodes()
        curve, fitted = fit_stages(base_nodes, [np.asarray(inputs[i].lut.table, np.float32) for i in others],
                                   seed=seed, progress=_as_train(report), steps=steps or STEPS)
        staged.stage_curve = curve.astype(np.float16).astype(np.float32)
        staged = _staged(staged, base_nodes, [inputs[i] for i in others], fitted, target, seed, report)
        if len(staged.to_bytes()) < len(pack.to_bytes()):  # else every look keeps its own network
            pack = staged
    ckpt.remove()
    return pack


def add_to_family(pack: Pack, inputs: Sequence[LookInput], *,
                  target: QualityTarget = QUALITY_TARGETS["invisible"], seed: int = 0,
                  recipe: Optional[dict] = None, checkpoint: Optional[PathLike] = None,
                  progress: Optional[Progress] = None, steps: Optional[int] = None,
                  standalone_cache: Optional[PathLike] = None) -> Pack:
    """``pack`` plus ``inputs``, each a stage through the pack's base and curve (both unchanged)
    or its own network, whichever makes the pack smaller (its own network when the pack has no
    stage base)."""
    report = progress or _quiet
    ckpt = Checkpoint(checkpoint, job_key({"kind": "stage"}, inputs, dict(recipe or {}), seed, pack))
    solos = _standalone(inputs, target, seed, recipe, ckpt, standalone_cache, report)
    fit_idx = [i for i, inp in enumerate(inputs) if can_be_staged(inp.lut) and pack.stage_base is not None]
    grown = pack.with_looks(list(pack.looks) + solos)
    if fit_idx:
        base_nodes = pack.base_nodes()
        _, fitted = fit_stages(base_nodes, [np.asarray(inputs[i].lut.table, np.float32) for i in fit_idx],
                               curve=pack.stage_curve, seed=seed, progress=_as_train(report),
                               steps=steps or STEPS)
        grown = _staged(grown, base_nodes, [inputs[i] for i in fit_idx], fitted, target, seed, report)
    ckpt.remove()
    return grown


def _as_train(report: Progress) -> Progress:
    """Stage-fit progress as the pack's ``"train"`` events."""
    def emit(info: dict) -> None:
        report({"stage": "train", "step": info["step"], "total": info["total"]})
    return emit

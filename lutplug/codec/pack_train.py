"""Train look packs: every look of a pack in ONE batched computation (torch.func.vmap over the
look dimension), checkpointed every step so a killed build resumes where it stopped.

Per step, each look draws its own ``batch`` samples from its own training data (the codec's
``train_data``: lattice nodes + random points, the same count for every look), the folded
per-look networks run as one vmapped forward pass, and the loss is the sum over looks of the
codec's per-look loss (``colour_loss``: linearised ΔE2000 + tail + MSE). Adam with a one-cycle cosine
schedule, then quantisation-aware training that emulates exactly what extraction stores (base and
adapter int8, folded, re-quantised as a .nlut). A look whose extracted network misses the target
gets its own network from the standalone codec (``compress``), stored whole in the pack.

Checkpoint folder (``OUT.ckpt/``): ``state.safetensors`` (all tensors incl. Adam moments; JSON
metadata with the step and a key of the inputs and settings — no pickle, written atomically),
``trained.nlutpack`` once training ends and ``solo-NAME.nlut`` per finished fallback. Needs torch.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from lutplug import __version__
from lutplug.codec import adapters, tensorfile
from lutplug.codec import model as M
from lutplug.codec import quantize as Q
from lutplug.codec.nlut import utc_now
from lutplug.fileio import file_sha256
from lutplug.codec.pack import Pack, PackLook, new_look, read_pack
from lutplug.codec.train.loss import colour_loss, fake_quant_params
from lutplug.codec.train.points import train_data
from lutplug.codec.train.recipe import DEFAULT_RECIPE, FIT_RECIPE
from lutplug.core.lut import LUT3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_path, atomic_write
from lutplug.metrics import QUALITY_TARGETS, QualityTarget, quality_report

#: Base and adapter chosen by the benchmark (benchmarks/packs.py, docs/nlutpack-format.md).
DEFAULT_HIDDEN = (64,)
DEFAULT_KIND = "head"
#: Adapter size per kind when none is given.
DEFAULT_DIMS = {"cond": 16, "lora": 2, "head": 0}
DEFAULT_DIM = DEFAULT_DIMS[DEFAULT_KIND]
#: Training settings of a pack (per look: ``batch`` samples per step, ``n_train`` points).
PACK_RECIPE = {**DEFAULT_RECIPE, **FIT_RECIPE, "adam_steps": 3000, "qat_steps": 300, "lr": 2e-2,
               "batch": 2048, "n_train": 60_000, "max_lattice_train": 30_000, "check_every": 50}
EVAL_POINTS = 200_000

Progress = Callable[[dict], None]


@dataclasses.dataclass
class LookInput:
    """A look to train: its name, table and descriptive info (title, colorspace, source)."""

    name: str
    lut: LUT3D
    info: dict


def look_input(path: PathLike, name: Optional[str] = None, colorspace: Optional[dict] = None) -> LookInput:
    """Read a LUT file as a :class:`LookInput` named ``name`` (default: the file's stem)."""
    from lutplug.codec.pack import check_name
    from lutplug.core.load import load_lut3d

    p = Path(path)
    lut = load_lut3d(p)
    info = {"title": lut.title, "grid": lut.size, "colorspace": dict(colorspace or {}),
            "source": {"file": p.name, "bytes": p.stat().st_size, "sha256": file_sha256(p)}}
    try:
        return LookInput(check_name(name or p.stem), lut, info)
    except LutError as exc:
        raise exc.with_path(p) from None


def job_key(spec: dict, inputs: Sequence[LookInput], rc: dict, seed: int, base: Optional[Pack]) -> str:
    h = hashlib.sha256(json.dumps([spec, rc, seed, __version__], sort_keys=True, default=str).encode())
    if base is not None:
        h.update(base.to_bytes())
    for look in inputs:
        h.update(look.name.encode() + b"\0")
        h.update(np.ascontiguousarray(look.lut.table, np.float32).tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- data

def _stacked_data(inputs: Sequence[LookInput], rc: dict, seed: int):
    """(u, targets, jac) float32 arrays (L, N, 3|3|10), N the same for every look."""
    n = rc["n_train"]
    parts = []
    for i, look in enumerate(inputs):
        n_lat = min(look.lut.size ** 3, rc["max_lattice_train"], n // 2)
        r = dict(rc, max_lattice_train=n_lat, n_random_train=n - n_lat)
        parts.append(train_data(look.lut.table, r, seed + 7919 * i))
    return tuple(np.stack([p[k] for p in parts]) for k in range(3))


# ----------------------------------------------------------------------------- batched model

def _forward(spec: dict, shared: dict, looks: dict, u, qat: bool, frozen: bool):
    """Outputs (L, B, 3) of every look's folded network at its own inputs ``u`` (L, B, 3)."""
    from torch.func import vmap

    cfg = spec["model"]
    model_q = adapters.qconf(M.param_shapes(cfg))
    look_q = adapters.qconf(looks)
    sh = fake_quant_params(shared, adapters.qconf(shared)) if qat and not frozen else shared

    def one(look, x):
        lk = fake_quant_params(look, look_q) if qat else look
        p = adapters.fold(spec, sh, lk)
        return M.forward(fake_quant_params(p, model_q) if qat else p, cfg, x)

    return vmap(one)(looks, u)


def _per_look_loss(pred, tc, jac, rc):
    from torch.func import vmap

    return vmap(lambda p, t, j: colour_loss(p, t, j, rc))(pred, tc, jac)


def _lin_de(pred, tc, jac):
    """Linearised ΔE2000 (L, B) of clipped predictions (monitoring only)."""
    import torch

    e = torch.clamp(pred, 0, 1) - torch.clamp(tc, 0, 1)
    R = jac[..., :9].reshape(*jac.shape[:-1], 3, 3)
    v = torch.einsum("lnij,lnj->lni", R, e)
    return torch.sqrt(torch.clamp((v * v).sum(-1) + jac[..., 9] * v[..., 1] * v[..., 2], min=0))


def one_cycle_lr(step: int, total: int, max_lr: float) -> float:
    """torch's OneCycleLR (cosine, div 10, final div 100, warm-up max(5%, 3 steps)) as a pure
    function of the step, so a resumed run continues the same schedule."""
    if total < 8:
        return max_lr
    up = float(max(0.05, 3.0 / total) * total) - 1
    lo, hi, end = max_lr / 10, max_lr, max_lr / 1000
    if step <= up:
        a, b, t = lo, hi, step / up
    else:
        a, b, t = hi, end, (step - up) / (total - 1 - up)
    return b + (a - b) / 2 * (1 + math.cos(math.pi * t))


# ----------------------------------------------------------------------------- checkpoints

class Checkpoint:
    """The checkpoint folder of one build (see the module docstring)."""

    def __init__(self, folder: Optional[PathLike], key: str):
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None and self._key() != key:  # none yet, or another job's: start anew
            if self.folder.exists() and not (self.folder / "job.json").is_file() and any(self.folder.iterdir()):
                raise LutError("exists and is not a lutplug checkpoint folder; move it away", self.folder)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            atomic_write(self.folder / "job.json", json.dumps({"key": key}))

    def _key(self) -> Optional[str]:
        if self.folder is None:
            return None
        try:
            return json.loads((self.folder / "job.json").read_text()).get("key")
        except (OSError, ValueError, AttributeError):
            return None

    def save_state(self, tensors: Dict[str, np.ndarray], state: dict) -> None:
        """Atomic (rename) without fsync: survives a killed process, cheap enough every step."""
        if self.folder is None:
            return
        blob = tensorfile.dumps(tensors, {"state": json.dumps(state)})
        with atomic_path(self.folder / "state.safetensors") as tmp:
            tmp.write_bytes(blob)

    def load_state(self):
        """(tensors, state) or None."""
        if self.folder is None or not (self.folder / "state.safetensors").is_file():
            return None
        try:
            tensors, meta = tensorfile.loads((self.folder / "state.safetensors").read_bytes())
            return tensors, json.loads(meta["state"])
        except (LutError, KeyError, ValueError):
            return None

    def path(self, name: str) -> Optional[Path]:
        return None if self.folder is None else self.folder / name

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


# ----------------------------------------------------------------------------- training

def _train(spec: dict, shared0: dict, looks0: dict, data, rc: dict, seed: int, frozen: bool,
           ckpt: Checkpoint, progress: Progress):
    """Train; returns float numpy (shared, looks stacked). ``frozen``: the base is fixed."""
    import torch

    u, tc, jac = (torch.as_tensor(a) for a in data)
    L, n = u.shape[0], u.shape[1]
    shared = {k: torch.nn.Parameter(torch.as_tensor(v).clone(), requires_grad=not frozen)
              for k, v in shared0.items()}
    looks = {k: torch.nn.Parameter(torch.as_tensor(v).clone()) for k, v in looks0.items()}
    named = {**({"shared." + k: v for k, v in shared.items()} if not frozen else {}),
             **{"look." + k: v for k, v in looks.items()}}
    S, QS = int(rc["adam_steps"]), int(rc["qat_steps"])
    total = S + QS
    bs = min(int(rc["batch"]), n)
    rows = torch.arange(L)[:, None]
    chk = torch.as_tensor(np.random.default_rng(seed + 5).choice(n, min(n, 2048), replace=False))
    check_every = int(rc.get("check_every", 50))

    step, moments = 0, {}
    resumed = ckpt.load_state()
    if resumed is not None:
        tensors, state = resumed
        if all("p." + k in tensors and tensors["p." + k].shape == tuple(v.shape) for k, v in named.items()):
            with torch.no_grad():
                for k, v in named.items():
                    v.copy_(torch.as_tensor(tensors["p." + k]))
            step = int(state["step"])
            moments = {k: (tensors["m." + k], tensors["v." + k], int(state["adam_step"]))
                       for k in named if "m." + k in tensors and "v." + k in tensors}
    progress({"stage": "train", "step": step, "total": total, "resumed": step > 0, "looks": L})

    opt = None
    t_last = time.perf_counter()
    while step < total:
        qat = step >= S
        if opt is None or step == S:
            opt = torch.optim.Adam(list(named.values()), lr=rc["lr"])
            if moments and step != S:
                for k, p in named.items():
                    if k in moments:
                        m, v, n_adam = moments[k]
                        opt.state[p] = {"step": torch.tensor(float(n_adam)),
                                        "exp_avg": torch.as_tensor(m).clone(),
                                        "exp_avg_sq": torch.as_tensor(v).clone()}
            moments = {}
        lr = one_cycle_lr(step - S, QS, rc["qat_lr"]) if qat else one_cycle_lr(step, S, rc["lr"])
        for g in opt.param_groups:
            g["lr"] = lr
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        idx = torch.randint(0, n, (L, bs), generator=gen)
        pred = _forward(spec, shared, looks, u[rows, idx], qat, frozen)
        loss = _per_look_loss(pred, tc[rows, idx], jac[rows, idx], rc).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        _save(ckpt, named, opt, step)
        if step % check_every == 0 or step == total:
            with torch.no_grad():
                de = _lin_de(_forward(spec, shared, looks, u[:, chk], qat, frozen), tc[:, chk], jac[:, chk])
            now = time.perf_counter()
            progress({"stage": "train", "step": step, "total": total, "qat": qat,
                      "de_mean": de.mean(1).tolist(), "seconds": now - t_last})
            t_last = now
    out_shared = {k: v.detach().numpy().astype(np.float32) for k, v in shared.items()}
    out_looks = {k: v.detach().numpy().astype(np.float32) for k, v in looks.items()}
    return out_shared, out_looks


def _save(ckpt: Checkpoint, named: dict, opt, step: int) -> None:
    if ckpt.folder is None:
        return
    tensors, adam_step = {}, 0
    for k, p in named.items():
        tensors["p." + k] = p.detach().numpy()
        st = opt.state.get(p)
        if st:
            tensors["m." + k] = st["exp_avg"].numpy()
            tensors["v." + k] = st["exp_avg_sq"].numpy()
            adam_step = int(st["step"])
    ckpt.save_state(tensors, {"step": step, "adam_step": adam_step})


# ----------------------------------------------------------------------------- assemble + check

def _quality_dict(report, target: QualityTarget) -> dict:
    return {**{k: float(f"{v:.4g}") for k, v in report.as_dict().items() if k != "points"},
            "points": report.points, "meets_target": report.meets(target)}


def measure_look(pack: Pack, look: PackLook, lut: LUT3D, target: QualityTarget, seed: int) -> None:
    report = quality_report(lut, pack.extract(look.name), n_random=EVAL_POINTS, seed=seed)
    look.info["quality"] = _quality_dict(report, target)


def standalone_nlut(inp: LookInput, target: QualityTarget, seed: int, recipe: Optional[dict],
                    done: Optional[Path] = None):
    """The look's own .nlut from the standalone codec (size search), read from ``done`` when that
    file exists, else compressed and (``done`` given) written there."""
    from lutplug.codec.compress import compress
    from lutplug.codec.nlut import from_bytes

    if done is not None and done.is_file():
        return _with_source(from_bytes(done.read_bytes(), str(done)), inp)
    # the pack recipe's overrides that the standalone codec knows (quick drafts and tests)
    solo = {k: v for k, v in (recipe or {}).items()
            if k in FIT_RECIPE or k in DEFAULT_RECIPE or k == "search_seconds"}
    if recipe and "n_train" in recipe:
        solo["n_random_train"] = recipe["n_train"]
    nlut = compress(inp.lut, target=target, seed=seed, n_random=EVAL_POINTS, recipe=solo or None).nlut
    if done is not None:
        atomic_write(done, nlut.to_bytes())
    return _with_source(nlut, inp)


def _with_source(nlut, inp: LookInput):
    """``nlut`` with the look's source file recorded, as ``lutplug compress FILE`` records it."""
    src = inp.info.get("source") or {}
    if src:
        nlut.description.setdefault("provenance", {}).update(
            source=src.get("file"), source_bytes=src.get("bytes"), source_sha256=src.get("sha256"))
    return nlut


def as_solo(look: PackLook, nlut) -> PackLook:
    """``look`` holding ``nlut``'s network (kind ``"solo"``) and quality."""
    cfg = {k: v for k, v in nlut.config.items() if k != "quant"}
    info = {**look.info, "quality": dict(nlut.description.get("quality", {}))}
    return dataclasses.replace(look, kind="solo", params=dict(nlut.params), model=cfg, info=info)


def solo_look(look: PackLook, inp: LookInput, target: QualityTarget, seed: int, recipe: Optional[dict],
              ckpt: Checkpoint) -> PackLook:
    """The look with its own network from the standalone codec, checkpointed."""
    return as_solo(look, standalone_nlut(inp, target, seed, recipe, ckpt.path(f"solo-{inp.name}.nlut")))


def stored_lut(lut: LUT3D) -> LUT3D:
    """``lut`` with its shaper (if any) resampled to as few entries as the codec stores."""
    from lutplug.codec.compress import compact_shaper

    return lut if lut.shaper is None else dataclasses.replace(lut, shaper=compact_shaper(lut))


def _train_looks(pack: Pack, inputs: Sequence[LookInput], shared0: dict, frozen: bool, *,
                 target: QualityTarget, seed: int, rc: dict, recipe: Optional[dict],
                 ckpt: Checkpoint, progress: Progress, fallback: bool) -> Pack:
    spec = pack.spec
    if spec is None:
        raise LutError("the pack has no adapter base to train adapters on", pack.source)
    trained = ckpt.path("trained.nlutpack")
    if trained is not None and trained.is_file():
        result = read_pack(trained.read_bytes(), source=str(trained))
        progress({"stage": "train", "step": 1, "total": 1, "resumed": True, "looks": len(inputs)})
    else:
        looks0 = [adapters.init_look(spec, seed + 31 * i) for i in range(len(inputs))]
        stacked0 = {k: np.stack([lk[k] for lk in looks0]) for k in looks0[0]}
        data = _stacked_data(inputs, rc, seed)
        shared_f, looks_f = _train(spec, shared0, stacked0, data, rc, seed, frozen, ckpt, progress)
        base = pack.base if frozen else Q.quantize_params(shared_f, adapters.qconf(shared_f))
        look_q = adapters.qconf(looks_f)
        new = [new_look(inp.name, "adapter",
                        Q.quantize_params({k: v[i] for k, v in looks_f.items()}, look_q),
                        stored_lut(inp.lut), inp.info) for i, inp in enumerate(inputs)]
        result = dataclasses.replace(pack, base=base).with_looks(list(pack.looks) + new)
        for look, inp in zip(new, inputs):
            measure_look(result, look, inp.lut, target, seed)
            progress({"stage": "measured", "look": inp.name, **look.info["quality"]})
        if trained is not None:
            atomic_write(trained, result.to_bytes())
    looks = list(result.looks)
    by_name = {inp.name: inp for inp in inputs}
    for i, look in enumerate(looks):
        source = by_name.get(look.name)
        if source is None or look.kind != "adapter" or look.meets_target or not fallback:
            continue
        progress({"stage": "solo", "look": look.name})
        looks[i] = solo_look(look, source, target, seed, recipe, ckpt)
        progress({"stage": "measured", "look": look.name, **looks[i].info["quality"]})
    return result.with_looks(looks)


def build_pack(inputs: Sequence[LookInput], *, hidden=DEFAULT_HIDDEN, kind: str = DEFAULT_KIND,
               dim: int = DEFAULT_DIM, target: QualityTarget = QUALITY_TARGETS["invisible"],
               seed: int = 0, recipe: Optional[dict] = None, checkpoint: Optional[PathLike] = None,
               progress: Optional[Progress] = None, fallback: bool = True) -> Pack:
    """Train one base and an adapter per look, all looks batched; see the module docstring.

    ``checkpoint``: folder to checkpoint into and resume from (removed on success). ``fallback``:
    give looks that miss ``target`` their own network. ``recipe`` overrides :data:`PACK_RECIPE`.
    """
    _check_inputs(inputs, [])
    spec = adapters.make_spec(list(hidden), kind, dim)
    rc = {**PACK_RECIPE, **(recipe or {})}
    settings = {"target": target.as_dict(), "seed": seed, "recipe": recipe or {}}
    empty = Pack(spec, {}, [], settings, utc_now(), __version__)
    ckpt = Checkpoint(checkpoint, job_key(spec, inputs, rc, seed, None))
    pack = _train_looks(empty, inputs, adapters.init_shared(spec, seed), False, target=target,
                        seed=seed, rc=rc, recipe=recipe, ckpt=ckpt, progress=progress or _quiet,
                        fallback=fallback)
    ckpt.remove()
    return pack


def add_looks(pack: Pack, inputs: Sequence[LookInput], *,
              target: QualityTarget = QUALITY_TARGETS["invisible"], seed: int = 0,
              recipe: Optional[dict] = None, checkpoint: Optional[PathLike] = None,
              progress: Optional[Progress] = None, fallback: bool = True) -> Pack:
    """``pack`` plus new looks whose adapters are trained against the pack's FIXED base (the base
    and the existing looks are unchanged, byte for byte)."""
    _check_inputs(inputs, pack.names())
    if pack.spec is None:
        raise LutError("the pack has no adapter base (add looks with add_to_family)", pack.source)
    rc = {**PACK_RECIPE, **(recipe or {})}
    ckpt = Checkpoint(checkpoint, job_key(pack.spec, inputs, rc, seed, pack))
    out = _train_looks(pack, inputs, pack.base_float(), True, target=target, seed=seed, rc=rc,
                       recipe=recipe, ckpt=ckpt, progress=progress or _quiet, fallback=fallback)
    ckpt.remove()
    return out


def _check_inputs(inputs: Sequence[LookInput], existing: List[str]) -> None:
    if not inputs:
        raise LutError("no looks given")
    names = list(existing)
    for inp in inputs:
        if inp.name in names:
            raise LutError(f"a look named {inp.name!r} is already in the pack (use --name)")
        names.append(inp.name)


def _quiet(_info: dict) -> None:
    pass


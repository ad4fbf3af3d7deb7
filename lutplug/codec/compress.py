"""``compress``: LUT3D in, NeuralLUT out, with its quality measured the T1 way and its provenance
recorded. Needs torch (training); everything it returns is numpy."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np

from lutplug import __version__
from lutplug.codec.judge import ReportJudge
from lutplug.codec.nlut import NeuralLUT, utc_now
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import NamedBytes, read_source
from lutplug.optional import import_torch
from lutplug.metrics import QUALITY_TARGETS, QualityReport, QualityTarget


@dataclasses.dataclass
class CompressResult:
    nlut: NeuralLUT
    report: QualityReport
    seconds: float
    attempts: list

    @property
    def meets_target(self) -> bool:
        return bool(self.nlut.description.get("quality", {}).get("meets_target"))


def compress(lut: LUT3D, *, target: QualityTarget = QUALITY_TARGETS["invisible"],
             budget_bytes: Optional[int] = None, seed: int = 0, device: str = "cpu",
             progress: Optional[Callable[[dict], None]] = None,
             source: Union[PathLike, NamedBytes, None] = None,
             colorspace: Optional[dict] = None, parent: Optional[str] = None,
             n_random: int = 200_000, recipe: Optional[dict] = None) -> CompressResult:
    """Train the smallest network meeting ``target`` for ``lut`` (see :func:`lutplug.codec.train.fit`).

    The returned quality report compares the decoded network with ``lut`` over lattice nodes plus
    ``n_random`` seeded points of the input domain (the T1 protocol); the size search accepts a
    candidate only once that very report (and the one of the cube baked from it) meets ``target``
    (:class:`~lutplug.codec.judge.ReportJudge`). Deterministic for a seed on CPU.
    ``recipe`` overrides training settings (see ``lutplug.codec.train.FIT_RECIPE``). ``source``:
    the file ``lut`` was read from (or its bytes, read once), recorded in the provenance.
    """
    from lutplug.codec.train import fit

    if device not in ("cpu", "cuda", "auto"):
        raise LutError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "auto":
        device = "cuda" if import_torch("compressing").cuda.is_available() else "cpu"
    t0 = time.perf_counter()
    targets = target.as_dict()
    shaper = compact_shaper(lut)
    judge = ReportJudge(lut, shaper, n_random, seed)  # the report below, on the same points
    result = fit(lut.table, targets=targets, budget_bytes=budget_bytes, seed=seed, device=device,
                 progress=progress, recipe=recipe, to_lattice=shaper_map(lut),
                 interpolation=lut.interpolation, judge=judge)
    nlut = NeuralLUT(result.config, result.params, lut.domain_min, lut.domain_max, shaper)
    report = judge.report(nlut)
    seconds = time.perf_counter() - t0
    provenance = {"grid": lut.size, "created": utc_now(), "lutplug": __version__, "parent": parent,
                  "settings": {"target": targets, "budget_bytes": budget_bytes, "seed": seed,
                               "device": device}}
    if shaper is not None and lut.shaper is not None and shaper.size != lut.shaper.size:
        provenance["shaper_entries"] = [lut.shaper.size, shaper.size]  # source's, stored
    if source is not None:
        src = source if isinstance(source, NamedBytes) else read_source(source)
        provenance.update(source=Path(src.name).name, source_bytes=len(src.data),
                          source_sha256=src.sha256)
    nlut.description = {
        "title": lut.title,
        "colorspace": dict(colorspace or {}),
        "provenance": provenance,
        "quality": {**{k: float(f"{v:.4g}") for k, v in report.as_dict().items() if k != "points"},
                    "points": report.points, "meets_target": report.meets(target)},
    }
    if lut.interpolation != "tetrahedral":  # absent means tetrahedral (docs/nlut-format.md)
        nlut.description["interpolation"] = lut.interpolation
    return CompressResult(nlut, report, seconds, result.attempts)


def shaper_map(lut: LUT3D) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    """For a LUT with a shaper: the map from normalised input x (M, 3) in [0, 1]³ (the input
    domain scaled to the unit cube) to lattice coordinates (M, 3) — the ``to_lattice`` of
    :func:`lutplug.codec.train.fit`. None without a shaper (the two spaces are the same)."""
    if lut.shaper is None:
        return None
    dmin, dmax = (np.asarray(d, np.float64) for d in lut.input_domain)
    return lambda x: lut.lattice_coordinates(dmin + np.asarray(x, np.float64) * (dmax - dmin))


#: Entry counts tried, smallest first, when resampling a LUT's 1D shaper for storage.
SHAPER_SIZES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 4096)
#: Largest change a resampled shaper may make to a lattice coordinate (units of the 3D table's
#: input range; 1e-5 is a 1/1500 of a cell of a 65³ table).
SHAPER_TOLERANCE = 1e-5


def compact_shaper(lut: LUT3D) -> Optional[LUT1D]:
    """``lut``'s shaper resampled to the fewest :data:`SHAPER_SIZES` entries (linear, as it is
    evaluated) that stay within :data:`SHAPER_TOLERANCE` of it at every source entry — where a
    piecewise-linear curve's largest deviation lies —, or the shaper itself when none does (a
    65536-entry shaper otherwise dominates the .nlut's size)."""
    shaper = lut.shaper
    if shaper is None:
        return None
    x0 = np.linspace(0.0, 1.0, shaper.size)
    span = np.asarray(lut.domain_max, np.float64) - np.asarray(lut.domain_min, np.float64)
    source = shaper.table.astype(np.float64)
    for m in SHAPER_SIZES:
        if m >= shaper.size:
            break
        xs = np.linspace(0.0, 1.0, m)
        table = np.stack([np.interp(xs, x0, source[:, c]) for c in range(3)], axis=1).astype(np.float32)
        back = np.stack([np.interp(x0, xs, table[:, c].astype(np.float64)) for c in range(3)], axis=1)
        if np.all(np.abs(back - source) <= SHAPER_TOLERANCE * span):
            return dataclasses.replace(shaper, table=table, comments=list(shaper.comments))
    return shaper


def attempt_summary(info: dict) -> str:
    """One line for a network size tried during :func:`compress` (its ``attempt`` progress event)."""
    tried = f"  tried {info['hidden']}" + (f" (draw {info['variant'] + 1})" if info.get("variant") else "")
    if info.get("warm_from"):
        tried += f" (from {info['warm_from']})"
    if info.get("aborted"):
        return f"{tried}: abandoned early (far from the target)"
    if info.get("refused_by_report"):
        return (f"  {info['hidden']} ({info['stored_bytes']} B) met the target at the search's points "
                "but not at the report's: refused, the next candidate is judged")
    fixes = f" incl. {info['fixes']} node corrections" if info.get("fixes") else ""
    if info.get("index") == -1:
        tried = "  the table as corrections of the identity at every node"
        fixes = ""
    if info.get("lattice"):
        grid = info["lattice"]["grid"]
        fixes = f" incl. a {grid}^3 residual lattice (step 1/{1 / info['lattice']['step']:.0f})"
        if info.get("index") == -3:
            tried = "  the table resampled as a residual lattice over the identity (no network larger is tried)"
        else:
            predictor = "the identity" if info.get("identity") else f"{info['hidden']}"
            tried = f"  no network met the target; {predictor} as the predictor"
    return (f"{tried}: {info['stored_bytes']} B of weights{fixes}, ΔE00 mean "
            f"{info['de_mean']:.3f} p99 {info['de_p99']:.2f} max {info['de_max']:.2f}, PSNR "
            f"{info['psnr']:.1f} dB -> {'meets' if info['meets'] else 'misses'} the target")

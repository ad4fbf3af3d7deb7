"""``lutplug compress``: a LUT (or a folder of them) into .nlut files, with a progress bar over
the size search (:class:`SearchProgress`)."""
from __future__ import annotations

import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Dict, Optional, Set

import click

from lutplug.cli.common import EXIT_FAILURE, LiveBar, has_cuda, quality_target


def search_workers(device: str) -> int:
    """How many sizes one round of the size search trains at once: the default of
    :func:`lutplug.codec.train.search.fit` (one on CUDA, two on a CPU with 2+ cores)."""
    if device == "auto":
        device = "cuda" if has_cuda() else "cpu"
    return 1 if device != "cpu" else max(1, min(2, os.cpu_count() or 1))


def steps_per_attempt(recipe: Optional[dict]) -> int:
    """Optimiser steps of one size attempt under ``recipe`` (the fit recipe and its overrides):
    Adam, then quantisation-aware training."""
    from lutplug.codec.train.recipe import DEFAULT_RECIPE, FIT_RECIPE

    rc: Dict[str, Any] = {**DEFAULT_RECIPE, **FIT_RECIPE, **(recipe or {})}
    return max(1, int(rc["adam_steps"]) + int(rc["qat_steps"]))


def lattice_measures_per_predictor() -> int:
    """At most this many quantisation steps are measured per predictor in the residual-lattice
    tier (a bisection over its steps)."""
    from lutplug.codec.train.lattice_tier import LATTICE_STEPS

    return max(1, math.ceil(math.log2(len(LATTICE_STEPS) + 1)))


class SearchProgress(LiveBar):
    """Turns the size search's progress events (``train``, ``attempt``, ``lattice``, ``done``;
    see :func:`lutplug.codec.train.search.fit`) into one progress bar with a total and an ETA.

    The search does not know upfront how many rounds it needs, so the bar covers one round at a
    time: a round trains ``workers`` sizes at once, each ``steps`` optimiser steps, and the bar
    runs over those ``workers × steps`` (reset, with its own elapsed time and ETA, when the next
    round starts). A size abandoned early counts as done when its result arrives. The last tier
    (a residual lattice, when no network meets the target) is a bar over its measurements, at
    most :func:`lattice_measures_per_predictor` per predictor. Each finished attempt is written
    as one line (:func:`lutplug.codec.compress.attempt_summary`) on stdout.

    ``progress`` is called from the training threads: the bookkeeping takes a lock."""

    def __init__(self, name: str, steps: int, workers: int, *, file: Optional[IO[str]] = None,
                 disable: Optional[bool] = None, tick: float = 1.0) -> None:
        self.name, self.steps, self.workers = name, max(1, steps), max(1, workers)
        self.rounds = 0
        self._lock = threading.Lock()
        self._round_open = False
        self._finished = 0            # attempts of this round whose result arrived
        self._credited = 0.0          # steps of the finished attempts reported by train events
        self._reported: Dict[str, int] = {}   # steps reported this round, by size label
        self._attributed: Dict[str, float] = {}
        self._done_labels: Set[str] = set()
        self._de: Dict[str, float] = {}
        self._trained: Set[int] = set()   # ladder rungs trained to the end (lattice predictors)
        self._lattice = False
        self._idle_since = time.time()  # when the training of the next round began, about
        super().__init__(file=file, disable=disable, tick=tick, total=self.steps * self.workers,
                         desc=f"compress {name}: preparing", unit="step")

    # -- the progress callback -------------------------------------------------------------
    def __call__(self, info: dict) -> None:
        with self._lock:
            stage = info.get("stage")
            if stage == "train":
                self._train(info)
            elif stage == "attempt":
                self._attempt(info)
            elif stage == "lattice":
                self._lattice_step(info)
            elif stage == "done":
                self._move_to(float(self.bar.total or self.bar.n))
                self.bar.set_postfix_str("", refresh=False)
                self.bar.set_description_str(f"compress {self.name}: measuring the result")

    def _train(self, info: dict) -> None:
        if not self._round_open:
            self._new_round()
        label = str(info["hidden"])
        self._reported[label] = self._reported.get(label, 0) + int(info["advance"])
        self._de[label] = float(info["de_mean"])
        self._show_position()
        running = " ".join(f"{h} ΔE00 ≈ {d:.3f}" for h, d in self._de.items() if h not in self._done_labels)
        self.bar.set_postfix_str(running, refresh=False)

    def _attempt(self, info: dict) -> None:
        from lutplug.codec.compress import attempt_summary

        self.bar.write(attempt_summary(info))
        if int(info.get("index", 0)) < 0:   # a table stored as is, or the lattice tier's answer
            return
        if not info.get("aborted"):
            self._trained.add(int(info["index"]))
        if not self._round_open:  # a result with no train event before it (a tiny recipe)
            self._new_round()
        label = str(info["hidden"])
        # this attempt's share of what its size reported: sizes trained twice at once (another
        # draw of one size) split it; the others still running are the round's remaining attempts
        left_after = self.workers - self._finished - 1
        others = sum(1 for h in self._reported if h != label and h not in self._done_labels)
        same = 1 + max(0, left_after - others)
        share = (self._reported.get(label, 0) - self._attributed.get(label, 0.0)) / same
        self._attributed[label] = self._attributed.get(label, 0.0) + share
        self._credited += share
        self._finished += 1
        if same == 1:
            self._done_labels.add(label)
        if self._finished >= self.workers:
            self._move_to(float(self.bar.total))
            self._round_open = False
            self._idle_since = time.time()
        else:
            self._show_position()

    def _lattice_step(self, info: dict) -> None:
        if not self._lattice:
            self._lattice = True
            predictors = len(self._trained) + 1  # each trained size, and the identity
            self.bar.reset(total=predictors * lattice_measures_per_predictor())
            self.bar.unit = "measure"
            self.bar.set_description_str(f"compress {self.name}: residual lattice", refresh=False)
        self.bar.update(1)
        self.bar.set_postfix_str(f"over {info['hidden']}: step 1/{1 / info['step']:.0f}, "
                                 f"ΔE00 max {info['de_max']:.2f}")

    def _new_round(self) -> None:
        self.rounds += 1
        self._round_open = True
        self._finished, self._credited = 0, 0.0
        self._reported, self._attributed, self._de = {}, {}, {}
        self._done_labels = set()
        self.bar.set_description_str(f"compress {self.name}: size search, round {self.rounds}",
                                     refresh=False)
        self.bar.set_postfix_str("", refresh=False)
        self.bar.reset(total=self.steps * self.workers)
        # the round's first event comes some steps into it: its clock started with its training
        self.bar.start_t = self.bar.last_print_t = min(self._idle_since, time.time())

    def _show_position(self) -> None:
        running = sum(self._reported.values()) - self._credited
        self._move_to(self._finished * self.steps + max(0.0, running))

    def _move_to(self, position: float) -> None:
        total = float(self.bar.total or 0)
        target = int(min(position, total) if total else position)
        if target > self.bar.n:
            self.bar.update(target - self.bar.n)



@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The .nlut to write.")
@click.option("--quality", type=click.Choice(["invisible", "high", "draft"]), default="invisible",
              show_default=True, help="Named target (invisible = T1).")
@click.option("--max-de00-mean", type=float, default=None, help="Custom target: ΔE00 mean.")
@click.option("--max-de00-p99", type=float, default=None, help="Custom target: ΔE00 p99.")
@click.option("--budget-kb", type=float, default=None, help="Largest acceptable network, in KB.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--input-space", default=None, help="Colour-space tag of the input, e.g. ACEScct.")
@click.option("--output-space", default=None, help="Colour-space tag of the output, e.g. 'sRGB - Display'.")
@click.option("--parent", type=click.Path(path_type=Path), default=None,
              help="The .nlut this one replaces (recorded as its parent for roll-back).")
@click.option("--jobs", type=click.IntRange(1, 1024), default=None,
              help="Folder input: parallel local processes (default: every core).")
@click.option("--cluster", default=None, help="Folder input: Dask scheduler address "
              "(tcp://HOST:8786) to run the jobs on instead of local processes.")
@click.option("--force", is_flag=True, help="Folder input: redo outputs that are up to date.")
@click.option("--recipe", default=None, hidden=True, help="JSON training overrides (tests, drafts).")
def compress(source: Path, output: Path, quality: str, max_de00_mean: Optional[float],
             max_de00_p99: Optional[float], budget_kb: Optional[float], device: str, seed: int,
             input_space: Optional[str], output_space: Optional[str], parent: Optional[Path],
             jobs: Optional[int], cluster: Optional[str], force: bool, recipe: Optional[str]) -> None:
    """Compress a LUT into a tiny network (.nlut). SOURCE may be a folder: every LUT in it is
    compressed into OUTPUT/<name>.nlut (in parallel, skipping outputs that are up to date)."""
    from lutplug.codec.train.recipe import parse_recipe

    target = quality_target(quality, max_de00_mean, max_de00_p99)
    colorspace = {k: v for k, v in (("input", input_space), ("output", output_space)) if v}
    budget_bytes = int(budget_kb * 1024) if budget_kb else None
    overrides = parse_recipe(recipe)
    if source.is_dir():
        from lutplug.cli.batch import compress_folder

        compress_folder(source, output, target, seed=seed, colorspace=colorspace, jobs=jobs,
                        cluster=cluster, force=force, recipe=overrides, budget_bytes=budget_bytes)
        return
    from lutplug.codec.compress import compress as run_compress
    from lutplug.codec.nlut import FLOAT32_33_BYTES, load_nlut
    from lutplug.core.load import load_lut3d
    from lutplug.fileio import read_source

    src = read_source(source)  # read once: loaded, hashed and counted from these bytes
    lut = load_lut3d(src)
    parent_hash = load_nlut(parent).content_hash if parent is not None else None
    with SearchProgress(source.name, steps_per_attempt(overrides), search_workers(device)) as progress:
        result = run_compress(lut, target=target, seed=seed, device=device, progress=progress,
                              budget_bytes=budget_bytes, source=src, colorspace=colorspace,
                              parent=parent_hash, recipe=overrides)
    size = result.nlut.save(output)
    src_bytes = len(src.data)
    click.echo(f"wrote {output}: {size} bytes — {src_bytes / size:.1f}:1 vs {source.name} "
               f"({src_bytes} bytes), {FLOAT32_33_BYTES / size:.1f}:1 vs a float32 33^3")
    click.echo(f"  quality {result.report.summary()}")
    click.echo(f"  time    {result.seconds:.1f} s on {result.nlut.description['provenance']['settings']['device']}")
    if not result.meets_target:
        click.echo(f"lutplug: the best network found does not meet the '{quality}' target; "
                   f"it was written anyway for inspection", err=True)
        sys.exit(EXIT_FAILURE)


COMMANDS = [compress]

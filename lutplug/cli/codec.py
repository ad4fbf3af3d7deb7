"""``lutplug compress``: a LUT (or a folder of them) into .nlut files, with a progress bar over
the size search (:class:`SearchProgress`)."""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import IO, Dict, Optional, Tuple

import click

from lutplug.cli.common import EXIT_FAILURE, LiveBar, quality_target


class SearchProgress(LiveBar):
    """Turns the size search's progress events (see :func:`lutplug.codec.train.search.fit`) into
    one progress bar with a total and an ETA, one search round at a time: a ``round`` event names
    the sizes trained at once and the optimiser steps each takes (the bar's total), ``train``
    events report the steps done, an ``attempt`` event (a size finished, or abandoned early: its
    steps all count) writes one line (:func:`lutplug.codec.compress.attempt_summary`); the last
    tier's ``lattice`` events show their measurements. ``progress`` is called from the training
    threads: the bookkeeping takes a lock."""

    def __init__(self, name: str, *, file: Optional[IO[str]] = None, disable: Optional[bool] = None,
                 tick: float = 1.0) -> None:
        self.name = name
        self.rounds = 0
        self._lock = threading.Lock()
        self._steps: Dict[Tuple[str, int], int] = {}   # this round's runs: (size, draw) -> steps
        self._done: Dict[Tuple[str, int], int] = {}
        self._de: Dict[Tuple[str, int], float] = {}
        super().__init__(file=file, disable=disable, tick=tick, total=1,
                         desc=f"compress {name}: preparing", unit="step")

    def __call__(self, info: dict) -> None:
        with self._lock:
            stage = info.get("stage")
            key = (str(info.get("hidden")), int(info.get("variant") or 0))
            if stage == "round":
                self.rounds += 1
                runs = list(zip(map(str, info["sizes"]), info.get("variants", [0] * len(info["sizes"]))))
                self._steps = dict(zip(runs, map(int, info["steps"])))
                self._done, self._de = {k: 0 for k in self._steps}, {}
                self.bar.reset(total=max(1, sum(self._steps.values())))
                self.bar.set_description_str(f"compress {self.name}: size search, round {self.rounds}",
                                             refresh=False)
            elif stage == "train" and key in self._steps:
                self._done[key] = min(self._steps[key], self._done[key] + int(info["advance"]))
                self._de[key] = float(info["de_mean"])
                self.bar.set_postfix_str(" ".join(f"{h} ΔE00 ≈ {d:.3f}" for (h, _), d in self._de.items()),
                                         refresh=False)
            elif stage == "attempt":
                from lutplug.codec.compress import attempt_summary

                self.bar.write(attempt_summary(info))
                if key in self._steps:
                    self._done[key] = self._steps[key]
                    self._de.pop(key, None)
            elif stage == "lattice":
                self.bar.set_description_str(f"compress {self.name}: residual lattice", refresh=False)
                self.bar.set_postfix_str(f"{info.get('grid', '')}³ over {info['hidden']}: step "
                                         f"1/{1 / info['step']:.0f}, ΔE00 max {info['de_max']:.2f}",
                                         refresh=False)
            elif stage == "done":
                self.bar.set_description_str(f"compress {self.name}: measuring the result", refresh=False)
                self.bar.set_postfix_str("", refresh=False)
                self._done = dict(self._steps)
            target = sum(self._done.values())
            if target > self.bar.n:
                self.bar.update(target - self.bar.n)
            self.bar.refresh()


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
@click.option("--search-seconds", type=click.FloatRange(min=0), default=None,
              help="Time the size search may spend per LUT (modelled seconds on 2 cores; default 34): "
                   "less is faster but larger (12: median 12.5 s per shared LUT, 1.4x the bytes).")
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
             search_seconds: Optional[float], input_space: Optional[str], output_space: Optional[str],
             parent: Optional[Path], jobs: Optional[int], cluster: Optional[str], force: bool,
             recipe: Optional[str]) -> None:
    """Compress a LUT into a tiny network (.nlut). SOURCE may be a folder: every LUT in it is
    compressed into OUTPUT/<name>.nlut (in parallel, skipping outputs that are up to date)."""
    from lutplug.codec.train.recipe import parse_recipe

    target = quality_target(quality, max_de00_mean, max_de00_p99)
    colorspace = {k: v for k, v in (("input", input_space), ("output", output_space)) if v}
    budget_bytes = int(budget_kb * 1024) if budget_kb else None
    overrides = parse_recipe(recipe)
    if search_seconds is not None:
        overrides = dict(overrides or {}, search_seconds=search_seconds)
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
    with SearchProgress(source.name) as progress:
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

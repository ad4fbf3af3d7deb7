"""``lutplug compress FOLDER -o OUTDIR [--jobs N | --cluster ADDRESS]``: the CLI face of
:mod:`lutplug.batch` (a progress bar over the LUTs, one line per LUT, a summary, exit codes)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from lutplug.errors import LutError


def compress_folder(source: Path, out_dir: Path, target, *, seed: int, colorspace: dict,
                    jobs: Optional[int], cluster: Optional[str], force: bool, recipe: Optional[dict],
                    budget_bytes: Optional[int]) -> None:
    from tqdm import tqdm

    from lutplug import batch

    if out_dir.exists() and not out_dir.is_dir():
        raise LutError("a folder input needs -o to name a folder", out_dir)
    sources = batch.find_sources(source)
    if not sources:
        raise LutError("holds no LUT files", source)
    settings = batch.Settings(target=target.as_dict(), seed=seed, budget_bytes=budget_bytes,
                              colorspace=colorspace, recipe=recipe or {})
    where = f"cluster {cluster}" if cluster else f"{jobs or 'all'} local processes"
    click.echo(f"compressing {len(sources)} LUTs from {source} into {out_dir} on {where}")
    with tqdm(total=len(sources), desc="LUTs", unit="lut", dynamic_ncols=True) as bar:
        def show(o: batch.Outcome) -> None:
            bar.update(1)
            if o.status == "skipped":
                text = f"  {o.source.name}: up to date, skipped"
            elif o.status == "failed":
                text = f"  {o.source.name}: FAILED: {o.error}"
            else:
                met = "meets target" if o.meets_target else "MISSES target"
                text = f"  {o.source.name}: {o.bytes} bytes, {met}, {o.seconds:.1f} s ({o.worker})"
            bar.write(text)

        outcomes = batch.compress_many(sources, out_dir, settings, jobs=jobs, cluster=cluster,
                                       force=force, on_event=show)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("done", "skipped", "failed")}
    missed = sum(1 for o in outcomes if o.status == "done" and not o.meets_target)
    click.echo(f"done {counts['done']}, up to date {counts['skipped']}, failed {counts['failed']}"
               + (f"; {missed} written but missing the target" if missed else ""))
    if counts["failed"] or missed:
        sys.exit(1)

"""``lutplug compress FOLDER -o OUTDIR [--jobs N | --cluster ADDRESS]``: the CLI face of
:mod:`lutplug.batch` (a progress bar over the LUTs, one line per LUT, a summary, exit codes)."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Optional

import click

from lutplug.cli.common import LiveBar
from lutplug.errors import LutError


def duration(seconds: float) -> str:
    """``seconds`` as ``12.3 s``, ``4 min 05 s`` or ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class FolderProgress(LiveBar):
    """A bar over the LUTs of a folder compress: its total is the LUTs to compress (an up-to-date
    output leaves the total and is counted beside it), the elapsed time moves while the LUTs run
    (redrawn every ``tick`` seconds) and the ETA comes from the LUTs finished so far. Each
    outcome is written once, as a line above the bar; the bar disappears when closed, and the
    caller prints the final count once. Shown only on a terminal unless ``disable`` says."""

    def __init__(self, total: int, *, file: Optional[IO[str]] = None, disable: Optional[bool] = None,
                 tick: float = 1.0) -> None:
        self.started = time.monotonic()
        self.skipped = 0
        self._lock = threading.Lock()
        super().__init__(file=file, disable=disable, tick=tick, total=total, desc="compressing", unit="LUT")

    def outcome(self, o: Any) -> None:
        """Show one :class:`lutplug.batch.Outcome`."""
        if o.status == "skipped":
            text = f"  {o.source.name}: up to date, skipped"
        elif o.status == "failed":
            text = f"  {o.source.name}: FAILED: {o.error}"
        else:
            met = "meets target" if o.meets_target else "MISSES target"
            text = f"  {o.source.name}: {o.bytes} bytes, {met}, {o.seconds:.1f} s ({o.worker})"
        with self._lock:
            self.bar.write(text)
            if o.status == "skipped":
                self.skipped += 1
                self.bar.total = max(0, (self.bar.total or 0) - 1)
                self.bar.set_postfix_str(f"{self.skipped} up to date", refresh=False)
                self.bar.refresh()
            else:
                self.bar.update(1)
                self.bar.refresh()  # every LUT shows, whatever tqdm's redraw interval

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started



def compress_folder(source: Path, out_dir: Path, target: Any, *, seed: int, colorspace: dict,
                    jobs: Optional[int], cluster: Optional[str], force: bool, recipe: Optional[dict],
                    budget_bytes: Optional[int]) -> None:
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
    with FolderProgress(len(sources)) as progress:
        outcomes = batch.compress_many(sources, out_dir, settings, jobs=jobs, cluster=cluster,
                                       force=force, on_event=progress.outcome)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("done", "skipped", "failed")}
    missed = sum(1 for o in outcomes if o.status == "done" and not o.meets_target)
    click.echo(f"done {counts['done']}, up to date {counts['skipped']}, failed {counts['failed']}"
               + (f"; {missed} written but missing the target" if missed else "")
               + f" in {duration(progress.elapsed)}")
    if counts["failed"] or missed:
        sys.exit(1)

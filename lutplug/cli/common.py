"""What the command modules share: exit codes, the ``--display`` option, trust options, quality
targets and number formatting."""
from __future__ import annotations

import dataclasses
import sys
import threading
from pathlib import Path
from typing import IO, Any, Optional, Tuple, TypeVar

import click

EXIT_FAILURE, EXIT_BAD_INPUT = 1, 2

DISPLAY = click.option("--display", default=None,
                       help="Convert the grade's output (its colour-space tag; untagged = sRGB) to "
                            "this display of the OCIO studio config, e.g. 'Display P3'.")


def for_display(transform: Any, display: Optional[str]) -> Any:
    """``transform`` followed by OCIO's conversion from its output colour-space tag to
    ``display`` (untagged grades are taken as sRGB display output), or ``transform`` itself."""
    if not display:
        return transform
    from lutplug.evaluate.display import for_display as compose

    shown = compose(transform, display)
    click.echo(f"note: converting the grade's output from {shown.source!r} to {shown.target!r}", err=True)
    return shown


def has_cuda() -> bool:
    """Whether torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def trust_options(pubkey: Optional[Path], store: Optional[Path] = None) -> Tuple[Any, bool]:
    """(trust, require_signature) for loaders: ``--pubkey`` (that key, signature required),
    else ``--trust`` or the environment's policy (``$LUTPLUG_TRUST`` and the older names, see
    :func:`lutplug.codec.trust.from_env`), else none."""
    from lutplug.codec.trust import configured

    return configured(pubkey, store)


def quality_target(quality: str, max_de00_mean: Optional[float] = None,
                   max_de00_p99: Optional[float] = None) -> Any:
    """The named target ``quality`` with the given thresholds replaced."""
    from lutplug.metrics import QUALITY_TARGETS

    target = QUALITY_TARGETS[quality]
    if max_de00_mean is not None:
        target = dataclasses.replace(target, de_mean=max_de00_mean)
    if max_de00_p99 is not None:
        target = dataclasses.replace(target, de_p99=max_de00_p99)
    return target


def fmt3(v: Any) -> str:
    """Three numbers as ``(a, b, c)``, 4 significant digits."""
    return "(" + ", ".join(f"{x:.4g}" for x in v) + ")"


Bar = TypeVar("Bar", bound="LiveBar")


class LiveBar:
    """A tqdm bar on stderr (a terminal only, unless ``disable`` says) that a thread redraws every
    ``tick`` seconds, so its elapsed time and ETA move between updates; it disappears when closed.
    A context manager."""

    def __init__(self, *, file: Optional[IO[str]] = None, disable: Optional[bool] = None,
                 tick: float = 1.0, **bar: Any) -> None:
        from tqdm import tqdm

        self.bar = tqdm(leave=False, dynamic_ncols=True, file=file if file is not None else sys.stderr,
                        disable=disable, **bar)
        self._stop = threading.Event()
        self._ticker: Optional[threading.Thread] = None
        if tick > 0 and not self.bar.disable:
            self._ticker = threading.Thread(target=self._tick, args=(tick,), daemon=True)
            self._ticker.start()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            self.bar.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self.bar.close()

    def __enter__(self: "Bar") -> "Bar":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""What the command modules share: exit codes, the ``--display`` option, trust options, quality
targets and number formatting."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional, Tuple

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

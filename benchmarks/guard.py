"""What every benchmark checks before it measures: that it has something to measure. A run over
no inputs (a fresh clone without the shared LUTs, a filter matching nothing, a folder another
benchmark has not filled yet) stops with a message saying what is missing and exit status 2,
before any result file is opened — committed results are never replaced by an empty table.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, List, Sequence, TypeVar

T = TypeVar("T")

#: Exit status of a benchmark refusing to run (nothing to measure).
EXIT_NOTHING = 2


def refuse(message: str) -> None:
    """Stop the benchmark: ``message`` on stderr, exit :data:`EXIT_NOTHING`, nothing written."""
    script = Path(sys.argv[0]).name or "benchmark"
    print(f"{script}: {message}; nothing measured, no result file written", file=sys.stderr)
    raise SystemExit(EXIT_NOTHING)


def require(items: Iterable[T], what: str, hint: str = "") -> List[T]:
    """``items`` as a list; refuses (see :func:`refuse`) when there are none: "no ``what``"."""
    items = list(items)
    if not items:
        refuse(f"no {what}" + (f" ({hint})" if hint else ""))
    return items


def require_folder(folder: Path, what: str = "LUT folder", hint: str = "") -> Path:
    """``folder``, which must exist."""
    if not folder.is_dir():
        refuse(f"{what} {folder} does not exist" + (f" ({hint})" if hint else ""))
    return folder


def require_files(paths: Sequence[Path]) -> List[Path]:
    """``paths`` (at least one), each of which must be an existing file."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        refuse("input file(s) not found: " + ", ".join(missing))
    return require(paths, "input files")


#: Where the benchmarks find the shared LUT corpus by default, and what to say when it is absent.
SHARED_HINT = "the shared LUT corpus lives beside the repository in ../shared/luts; pass --luts DIR"

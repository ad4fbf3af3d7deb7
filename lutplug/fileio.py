"""Safe file access shared by every reader and writer.

Writers never leave a partial file under the final name: they write a temporary file in the
same folder and rename it over the target (atomic on POSIX and Windows). Readers refuse
oversized files before reading them and turn decoding problems into :class:`LutError`.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, List, Tuple, Union

import numpy as np

from lutplug.errors import LutError, PathLike

#: Largest text LUT read (a 256³ .cube is ~650 MB of text; nothing real is bigger).
MAX_TEXT_BYTES = 1 << 30


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``,
    on any exception it is removed and ``path`` is left untouched."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LutError(f"folder {parent} does not exist", path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix + ".tmp",
                               dir=parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: PathLike, data: Union[bytes, str]) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())


def check_file(path: PathLike, limit: int) -> int:
    """Size in bytes of a readable, non-empty regular file of at most ``limit`` bytes, else
    :class:`LutError` saying what is wrong."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise LutError("file not found", path) from None
    except OSError as exc:
        raise LutError(f"cannot read file ({exc.strerror})", path) from None
    if p.is_dir():
        raise LutError("is a folder, not a file", path)
    if size == 0:
        raise LutError("file is empty", path)
    if size > limit:
        raise LutError(f"file is {size} bytes, more than the {limit} accepted", path)
    return size


def read_bytes(path: PathLike, limit: int = MAX_TEXT_BYTES) -> bytes:
    """Read a whole file, refusing missing, unreadable, empty or oversized files."""
    check_file(path, limit)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LutError(f"cannot read file ({exc.strerror})", path) from None
    if not data.strip():
        raise LutError("file is empty", path)
    return data


def read_text_lines(path: PathLike) -> List[str]:
    """Lines of a text LUT (UTF-8 or Latin-1, any newline convention, BOM dropped)."""
    data = read_bytes(path)
    if b"\x00" in data[:65536]:
        raise LutError("binary data where a text LUT was expected", path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.splitlines()


def parse_rows(rows: List[Tuple[int, str]], columns: int, path: PathLike,
               what: str = "value") -> np.ndarray:
    """Parse ``(line_number, text)`` rows of ``columns`` numbers each into float64 (len, columns).

    Raises :class:`LutError` naming the first offending line (wrong count, non-numeric, NaN/inf).
    """
    split = [text.split() for _, text in rows]
    for (lineno, text), parts in zip(rows, split):
        if len(parts) != columns:
            raise LutError(f"expected {columns} numbers per {what} line, found {len(parts)}: "
                           f"{text.strip()[:60]!r}", path, lineno)
    try:
        out = np.array([tok for parts in split for tok in parts], dtype=np.float64)
    except ValueError:
        for (lineno, text), parts in zip(rows, split):
            if not all(is_number(tok) for tok in parts):
                raise LutError(f"non-numeric {what}: {text.strip()[:60]!r}", path, lineno) from None
        raise
    out = out.reshape(len(rows), columns)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        k = int(np.argmax(bad))
        raise LutError(f"NaN or infinite {what}: {rows[k][1].strip()[:60]!r}", path, rows[k][0])
    return out


def is_number(token: str) -> bool:
    """True when ``token`` parses as a float."""
    try:
        float(token)
    except ValueError:
        return False
    return True

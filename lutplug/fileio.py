"""Safe file access shared by every reader and writer.

Writers never leave a partial file under the final name: they write a temporary file in the
same folder and rename it over the target (atomic on POSIX and Windows). Readers refuse
oversized files before reading them and turn decoding problems into :class:`LutError`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tempfile
import zlib
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

import numpy as np

from lutplug.errors import LutError, PathLike

#: Largest text LUT read (a 256³ .cube is ~650 MB of text; nothing real is bigger).
MAX_TEXT_BYTES = 1 << 30


@dataclasses.dataclass(frozen=True)
class NamedBytes:
    """A file's contents held in memory under its name (messages and formats go by the name):
    readers take it wherever they take a path, so a file is read once — or never, on a cluster
    worker that gets the bytes. ``path``: where the bytes were read from, when they were (readers
    whose library needs a file use it instead of writing the bytes out again)."""

    name: str
    data: bytes
    path: Optional[str] = None

    def __str__(self) -> str:
        return self.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


#: What readers accept: a path, or a file's bytes and name.
Source = Union[PathLike, NamedBytes]


def read_source(path: PathLike, limit: int = MAX_TEXT_BYTES) -> NamedBytes:
    """A file's bytes (see :func:`read_bytes` for what is refused) under its path."""
    return NamedBytes(os.fspath(path), read_bytes(path, limit), os.fspath(path))


@contextlib.contextmanager
def local_file(source: Source) -> Iterator[Path]:
    """A path holding ``source``'s bytes, for a library that reads files itself (OpenColorIO,
    OpenImageIO): the path itself, the file the bytes came from, or a temporary copy (removed
    afterwards) named like the source."""
    if not isinstance(source, NamedBytes):
        yield Path(source)
        return
    if source.path is not None:
        yield Path(source.path)
        return
    with tempfile.TemporaryDirectory(prefix="lutplug-") as tmp:
        copy = Path(tmp) / (Path(source.name).name or "source")
        copy.write_bytes(source.data)
        yield copy


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


def exchange(a: PathLike, b: PathLike) -> bool:
    """Swap two existing paths (files or folders) in one atomic step, where the system can
    (Linux ``renameat2(RENAME_EXCHANGE)``). Returns False, changing nothing, where it cannot: the
    caller then falls back to two renames."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


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
    except ValueError:  # a NUL byte in the name
        raise LutError("not a valid file name (it contains a NUL byte)", path) from None
    if p.is_dir():
        raise LutError("is a folder, not a file", path)
    if size == 0:
        raise LutError("file is empty", path)
    if size > limit:
        raise LutError(f"file is {size} bytes, more than the {limit} accepted", path)
    return size


#: Most float32 bytes an image may decode to per byte of file (+ 64 MB): deflate inflates at
#: most ~1032x, times 4 for 8-bit samples read as float32.
MAX_IMAGE_EXPANSION, IMAGE_EXPANSION_SLACK = 5000, 64 << 20


def check_decoded_size(width: int, height: int, channels: int, path: PathLike) -> None:
    """Refuse (LutError) an image header claiming more float32 pixels than the file's size can
    hold, before anything is decoded: a 100-byte PNG must not make a reader allocate gigabytes."""
    size = Path(path).stat().st_size
    if width * height * channels * 4 > MAX_IMAGE_EXPANSION * size + IMAGE_EXPANSION_SLACK:
        raise LutError(f"image header claims {width}x{height}x{channels}, far more than its "
                       f"{size} bytes can hold (truncated or hostile)", path)


def library_error(source) -> str:
    """``source.geterror()`` of an OpenImageIO object (or module), on one line, at most 200
    characters; never raises (the binding raises UnicodeDecodeError when a message quotes
    non-UTF-8 bytes of the file)."""
    try:
        text = source.geterror()
    except (UnicodeDecodeError, ValueError):
        return "undecodable error message"
    return " ".join(str(text or "").split())[:200]


def read_bytes(path: Source, limit: int = MAX_TEXT_BYTES) -> bytes:
    """Read a whole file (or take a :class:`NamedBytes`' bytes), refusing missing, unreadable,
    empty or oversized files."""
    if isinstance(path, NamedBytes):
        if len(path.data) > limit:
            raise LutError(f"file is {len(path.data)} bytes, more than the {limit} accepted", path)
        if not path.data.strip():
            raise LutError("file is empty", path)
        return path.data
    check_file(path, limit)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LutError(f"cannot read file ({exc.strerror})", path) from None
    if not data.strip():
        raise LutError("file is empty", path)
    return data


def read_text_lines(path: Source) -> List[str]:
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


def is_count(token: str) -> bool:
    """True when ``token`` is a plain non-negative integer that ``int`` reads: ASCII digits only
    (``str.isdigit`` also accepts '³'), at most 18 of them (``int`` refuses 4,300+ digits)."""
    return token.isascii() and token.isdigit() and len(token) <= 18


def is_number(token: str) -> bool:
    """True when ``token`` parses as a float."""
    try:
        float(token)
    except ValueError:
        return False
    return True


#: Limits of :func:`extract_zip` (a look pack or an .ocioz holds a config and a few cubes).
MAX_ARCHIVE_MEMBERS = 10_000
MAX_ARCHIVE_BYTES = 4 << 30
MAX_ARCHIVE_RATIO = 1000


def archive_member_path(name: str, mode: int, archive: PathLike) -> str:
    """The safe relative path (``/``-separated) of an archive member, or :class:`LutError` for
    an absolute path, a drive letter, a backslash, a ``..`` or empty part, or a member that is a
    symbolic link, device, FIFO or socket (``mode``: the Unix mode, 0 when unknown)."""
    import stat

    kind = stat.S_IFMT(mode)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        what = {stat.S_IFLNK: "a symbolic link", stat.S_IFCHR: "a character device",
                stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO",
                stat.S_IFSOCK: "a socket"}.get(kind, "not a regular file")
        raise LutError(f"archive member {name[:200]!r} is {what}; refused", archive)
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise LutError(f"archive member {name[:200]!r} has an absolute or non-portable path; refused",
                       archive)
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise LutError(f"archive member {name[:200]!r} leaves the extraction folder or has an empty "
                       "path part; refused", archive)
    return "/".join(parts)


def extract_zip(archive: PathLike, dest: PathLike, max_bytes: int = MAX_ARCHIVE_BYTES) -> List[Path]:
    """Extract a zip archive into the folder ``dest`` (created; must be empty if it exists), safely:
    every member is checked first (:func:`archive_member_path`; no duplicate names, at most
    :data:`MAX_ARCHIVE_MEMBERS`, at most ``max_bytes`` in all, no member inflating more than
    :data:`MAX_ARCHIVE_RATIO` times), nothing is written outside ``dest``, and the files appear
    only when all of them were written (into a temporary folder renamed to ``dest``).
    Returns the files written."""
    import shutil
    import zipfile

    src, out = Path(archive), Path(dest)
    check_file(src, max_bytes)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LutError("extraction folder exists and is not empty", out)
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise LutError(f"not a readable zip archive ({type(exc).__name__}: {exc})", src) from None
    with zf:
        members, seen, total = [], set(), 0
        infos = zf.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise LutError(f"archive has {len(infos)} members, more than {MAX_ARCHIVE_MEMBERS}", src)
        for info in infos:
            rel = archive_member_path(info.filename, info.external_attr >> 16 if info.create_system == 3
                                      else 0, src)
            if rel.lower() in seen:
                raise LutError(f"archive member {rel[:200]!r} appears twice; refused", src)
            seen.add(rel.lower())
            total += info.file_size
            if total > max_bytes or info.file_size > MAX_ARCHIVE_RATIO * max(info.compress_size, 1):
                raise LutError(f"archive member {rel[:200]!r} inflates to {info.file_size} bytes "
                               f"(limit {max_bytes} in all, {MAX_ARCHIVE_RATIO}x its packed size)", src)
            members.append((info, rel))
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise LutError("folder does not exist", parent)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".extract", dir=parent))
        try:
            written = []
            for info, rel in members:
                target = stage.joinpath(*rel.split("/"))
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as fin, open(target, "xb") as fout:
                    copied = _copy_limited(fin, fout, info.file_size)
                if copied != info.file_size:
                    raise LutError(f"archive member {rel[:200]!r} holds {copied} bytes, its header "
                                   f"says {info.file_size}", src)
                written.append(Path(rel))
            if out.exists():
                out.rmdir()
            os.replace(stage, out)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError,
                RuntimeError, ValueError) as exc:  # RuntimeError: an encrypted member
            shutil.rmtree(stage, ignore_errors=True)
            raise LutError(f"cannot extract the archive ({type(exc).__name__}: {exc})", src) from None
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    return [out / p for p in written]


def _copy_limited(fin, fout, limit: int) -> int:
    """Copy at most ``limit`` + 1 bytes (one more shows a member longer than its header says)."""
    copied = 0
    while copied <= limit:
        block = fin.read(min(1 << 20, limit + 1 - copied))
        if not block:
            break
        fout.write(block)
        copied += len(block)
    return copied


def file_sha256(path: PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

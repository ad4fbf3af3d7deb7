"""Reading and writing the config file ``lutplug ocio add`` edits.

Reading: the text of a ``.ocio`` file (UTF-8, size-capped, archives refused) or of an ``ocio://``
built-in (:func:`base_text`). Writing (:func:`write_config`): under an exclusive lock, only when
the file still holds the bytes the edit was made from, the previous file kept as a timestamped
backup, the new one written atomically.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Tuple

from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write, read_bytes
from lutplug.hosts.ocio import ociolib

MAX_CONFIG_BYTES = 64 << 20


def read_config_text(path: Path) -> str:
    """The text of config file ``path`` (UTF-8; an .ocioz archive is refused)."""
    if path.suffix.lower() == ".ocioz":
        raise LutError("an .ocioz archive cannot be edited in place; extract it ('lutplug ocio "
                       "extract') and add to the extracted config, or build a pack with "
                       "'lutplug ocio pack'", path)
    data = read_bytes(path, MAX_CONFIG_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LutError(f"config is not UTF-8 text (byte {exc.start})", path) from None


def base_text(config: PathLike, target: Any) -> Tuple[str, str, Optional[Path], bool]:
    """(text, where, folder or None, is built-in) of a config file or ``ocio://`` URI;
    ``target``: the OCIO version a built-in must load in (see :func:`ociolib.resolve_builtin`)."""
    o = ociolib.ocio()
    if ociolib.is_uri(config):
        name, how = ociolib.resolve_builtin(str(config), target)
        return o.Config.CreateFromBuiltinConfig(name).serialize(), f"ocio://{name} ({how})", None, True
    path = Path(config)
    return read_config_text(path), str(path), path.parent.resolve(), False


def probe_writable(folder: Path) -> None:
    """Raise :class:`LutError` unless a file can be created in ``folder``."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lutplug-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise LutError(f"folder is not writable ({exc.strerror}); nothing was changed", folder) from None


def backup_path(path: Path) -> Path:
    """``path.<UTC time>.bak`` (``-1``, ``-2`` … appended when taken)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    k = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{stamp}-{k}.bak")
        k += 1
    return candidate


def _lock_exclusive(fh: IO[bytes]) -> bool:
    """Take an exclusive flock on ``fh`` (waiting for it); False where the platform has none."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, the hash check alone
        return False
    with contextlib.suppress(OSError):
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Optional[bytes]]:
    """Hold an exclusive lock on ``path`` (when it exists and the platform has flock) and yield
    its bytes as they are under the lock (None when it does not exist). Another lutplug process
    replacing the same file waits, and then sees this one's result: the lock is taken again
    whenever the file was replaced (renamed over) while waiting for it."""
    while True:
        try:
            fh = open(path, "rb")
        except FileNotFoundError:
            yield None
            return
        except OSError as exc:
            raise LutError(f"cannot read the config ({exc.strerror})", path) from None
        with fh:
            if _lock_exclusive(fh):
                try:
                    same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
                except FileNotFoundError:
                    same = False
                if not same:  # replaced while we waited: lock the new file
                    continue
            yield fh.read()
            return


def write_config(out: Path, text: str, read_as: Optional[str]) -> Optional[Path]:
    """Replace ``out`` by ``text`` atomically, keeping the old file as a timestamped backup.

    ``read_as``: SHA-256 of the bytes the edit was made from; when the file no longer holds them
    (someone saved it meanwhile) nothing is written. Returns the backup's path (None if ``out``
    did not exist)."""
    with _locked(out) as current:
        if read_as is not None and (current is None or hashlib.sha256(current).hexdigest() != read_as):
            raise LutError("the config changed on disk since lutplug read it (someone else saved "
                           "it meanwhile); nothing was written: run the command again", out)
        backup = None
        try:
            if current is not None:
                backup = backup_path(out)
                atomic_write(backup, current)
            atomic_write(out, text)
        except OSError as exc:
            raise LutError(f"cannot write the config ({exc.strerror}); it was left as it was",
                           out) from None
    return backup

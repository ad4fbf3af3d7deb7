"""``lutplug.hosts.ocio.NlutIOProxy``: an OpenColorIO ``PyConfigIOProxy`` that lets a config refer to
``.nlut`` files directly (``!<FileTransform> {src: grade.nlut}``); each is decoded and baked to a
cube in memory when OCIO loads it. No cube exists on disk and no temp file is written.

    proxy = NlutIOProxy("show/config.ocio")          # or the config text, root=folder
    config = proxy.config()                          # Config.CreateFromConfigIOProxy(proxy)
    proc = config.getProcessor(LookTransform("ACEScct", "ACEScct", "my grade"))

Other files the config names are read from disk as usual. Like every LUT file, a decoded grade
is cached by OpenColorIO for the whole process under its path: after changing a .nlut, call
``PyOpenColorIO.ClearAllCaches()`` (as for a changed .cube). A ``.nlut`` reaches OCIO as CLF (XML,
which no other OCIO reader accepts, so OCIO's try-every-format path finds it at once).
"""
from __future__ import annotations

import collections
import hashlib
import threading
import warnings
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import PyOpenColorIO as _ocio

from lutplug.codec import trust
from lutplug.codec.nlut import MAX_NLUT_BYTES, OpenedNlut, is_nlut_path, open_nlut
from lutplug.core.lut import LUT3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import read_bytes
from lutplug.hosts.ocio.grades import DEFAULT_SIZE, baked, check_size

#: Proxies handed to OCIO by config(): kept alive while their configs may call them.
_KEEP: List["NlutIOProxy"] = []


def _num(v: float) -> str:
    return f"{v:.9g}"


def _matrix(dmin: np.ndarray, dmax: np.ndarray, name: str) -> str:
    """CLF Matrix (3x4) mapping [dmin, dmax] per channel onto [0, 1]."""
    scale = 1.0 / (dmax - dmin)
    rows = [" ".join(_num(v) for v in ([scale[i] if j == i else 0.0 for j in range(3)] + [-dmin[i] * scale[i]]))
            for i in range(3)]
    return (f'    <Matrix inBitDepth="32f" outBitDepth="32f" name="{name}">\n'
            f'        <Array dim="3 4 3">\n' + "\n".join(rows) + "\n        </Array>\n    </Matrix>\n")


def clf_bytes(lut: LUT3D) -> bytes:
    """A ``LUT3D`` (with its shaper and domain) as CLF 3 bytes, built in memory."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n',
             '<ProcessList compCLFversion="3.0" id="lutplug-nlut" name="lutplug grade">\n']
    if lut.shaper is not None:
        sh = lut.shaper
        parts.append(_matrix(sh.domain_min, sh.domain_max, "shaper domain"))
        body = "\n".join(" ".join(_num(v) for v in row) for row in sh.table.tolist())
        parts.append(f'    <LUT1D inBitDepth="32f" outBitDepth="32f" interpolation="linear" name="shaper">\n'
                     f'        <Array dim="{sh.size} 3">\n{body}\n        </Array>\n    </LUT1D>\n')
    if not (np.all(lut.domain_min == 0) and np.all(lut.domain_max == 1)):
        parts.append(_matrix(lut.domain_min, lut.domain_max, "3D LUT domain"))
    n = lut.size
    values = np.ascontiguousarray(lut.table.transpose(2, 1, 0, 3), dtype=np.float32).reshape(-1, 3)
    body = "\n".join(f"{r:.9g} {g:.9g} {b:.9g}" for r, g, b in values.tolist())
    parts.append(f'    <LUT3D inBitDepth="32f" outBitDepth="32f" interpolation="{lut.interpolation}" name="grade">\n'
                 f'        <Array dim="{n} {n} {n} 3">\n{body}\n        </Array>\n    </LUT3D>\n')
    parts.append("</ProcessList>\n")
    return "".join(parts).encode("utf-8")


class NlutIOProxy(_ocio.PyConfigIOProxy):
    """Serve a config and its files to OpenColorIO, decoding ``.nlut`` files to cubes in memory.

    ``config``: a .ocio path, or the config's text (then ``root`` is the folder its relative
    search paths start from; default: the current folder), or None when the proxy is only given
    to an existing config with ``Config.setConfigIOProxy``. ``size``: cube size each grade is
    baked to. Each .nlut is opened with :func:`lutplug.codec.nlut.open_nlut`: under the trust
    policy the environment configures (``$LUTPLUG_TRUST``, see :mod:`lutplug.codec.trust`),
    merged with ``trusted_keys`` (a trust store or Ed25519 public keys; .nlut files not signed by
    a trusted key are refused) and ``require_signature`` (unsigned ones are refused too). A
    tampered, stripped or re-signed file is always refused.
    """

    def __init__(self, config: Union[PathLike, str, None] = None, *, root: Optional[PathLike] = None,
                 size: int = DEFAULT_SIZE, trusted_keys: Any = None, require_signature: bool = False,
                 cache_entries: int = 2):
        super().__init__()
        self.size = check_size(size)
        #: the caller's part of the trust policy (the environment's is added on every open)
        self.policy = trust.as_store(trusted_keys, require_signature)
        self._text: Optional[str] = None
        self._config_path: Optional[Path] = None
        if config is not None:
            text = str(config)
            if "\n" in text or text.lstrip().startswith("ocio_profile_version"):
                self._text = text
            else:
                self._config_path = Path(config)
        if root is not None:
            self.root = Path(root)
        elif self._config_path is not None:
            self.root = self._config_path.resolve().parent
        else:
            self.root = Path.cwd()
        self._cache: "collections.OrderedDict[str, bytes]" = collections.OrderedDict()
        self._cache_entries = max(1, cache_entries)
        self._lock = threading.Lock()
        self.loaded: List[Tuple[str, str]] = []  # (path, content hash) of every .nlut decoded

    # -- helpers -------------------------------------------------------------------------------
    def _path(self, filepath: str) -> Path:
        p = Path(filepath)
        return p if p.is_absolute() else self.root / p

    def _open(self, path: Path, data: Optional[bytes] = None) -> OpenedNlut:
        """The .nlut at ``path`` under the trust policy; a warning (a signature left unchecked
        for want of the cryptography package) is passed on as a Python warning."""
        opened = open_nlut(path, self.policy, data=data)
        for text in opened.warnings:
            warnings.warn(f"lutplug: {path}: {text}", RuntimeWarning, stacklevel=3)
        return opened

    def _baked(self, path: Path) -> bytes:
        data = read_bytes(path, MAX_NLUT_BYTES)
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        nlut = self._open(path, data).nlut
        clf = clf_bytes(baked(nlut, self.size))
        with self._lock:
            self._cache[key] = clf
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
            self.loaded.append((str(path), nlut.content_hash))
        return clf

    # -- the ConfigIOProxy interface -----------------------------------------------------------
    def getConfigData(self) -> str:  # noqa: N802 - OCIO's name
        if self._text is not None:
            return self._text
        if self._config_path is None:
            raise LutError("this NlutIOProxy was given no config")
        data = read_bytes(self._config_path, 64 << 20)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise LutError("config is not UTF-8 text", self._config_path) from None

    def getLutData(self, filepath: str) -> bytearray:  # noqa: N802
        path = self._path(filepath)
        try:
            data = self._baked(path) if is_nlut_path(path) else read_bytes(path, 1 << 31)
        except LutError as exc:
            # OCIO shows this message (the signature or decoding problem) in its exception
            raise RuntimeError(f"lutplug: {exc}") from None
        return bytearray(data)

    def getFastLutFileHash(self, filepath: str) -> str:  # noqa: N802
        path = self._path(filepath)
        try:
            st = path.stat()
        except OSError:
            return ""  # OCIO: the file does not exist
        if not path.is_file():
            return ""
        if is_nlut_path(path):
            # Decode now (a few KB): a tampered or untrusted grade then fails with our message;
            # from getLutData OCIO would only report that no format could read the file.
            try:
                self._open(path)
            except LutError as exc:
                raise RuntimeError(f"lutplug: {exc}") from None
            # a grade's hash must change with its bytes and with the bake size
            return f"nlut:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{self.size}"
        return f"{st.st_mtime_ns}:{st.st_ino}:{st.st_size}"

    # -- convenience ---------------------------------------------------------------------------
    def config(self) -> Any:
        """``Config.CreateFromConfigIOProxy(self)`` with the working folder set to ``root``
        (relative files are looked up there); the proxy is kept alive for the config's sake."""
        try:
            cfg = _ocio.Config.CreateFromConfigIOProxy(self)
        except Exception as exc:  # noqa: BLE001
            raise LutError(f"OpenColorIO cannot read the config: {' '.join(str(exc).split())}",
                           str(self._config_path or "<config text>")) from None
        cfg.setWorkingDir(str(self.root.resolve()))
        if self not in _KEEP:
            _KEEP.append(self)
        return cfg

"""Trust stores: which Ed25519 keys may sign the grades a host accepts, until when, and whether
unsigned grades are refused.

A trust store is a UTF-8 text file, one key per line (``#`` starts a comment)::

    # name     key                                   options
    studio     ed25519:3q2+7w...base64 of 32 bytes   not-after=2027-06-30
    vendor-a   keys/vendor_a.pub                      # a PEM public key, relative to this file
    allow-unsigned                                    # policy line: accept unsigned grades

``not-after`` (a UTC date) ends a key's validity after that day. By default a store *requires*
signatures (a host configured with a store refuses unsigned grades); the line
``allow-unsigned`` relaxes that. A folder of ``*.pub`` files or a single ``.pub`` file is also a
store (no dates, signatures required).

Every host and command reads one policy from the environment (:func:`from_env`):
``$LUTPLUG_TRUST`` (a store), plus the older names ``$LUTPLUG_TRUSTED_KEYS`` (PEM public keys,
separated like ``PATH``; a signed grade must be signed by one of them) and
``$LUTPLUG_REQUIRE_SIGNATURE=1`` (unsigned grades are refused). See docs/security.md.

Only numpy-free standard library here, plus :mod:`.signing` for PEM files, so GIMP and Nuke
plug-ins can use it.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from lutplug.codec.signing import key_id, load_public_key, public_raw
from lutplug.errors import LutError, PathLike
from lutplug.fileio import read_bytes

#: Environment variable naming the trust store every host and command uses.
ENV_TRUST = "LUTPLUG_TRUST"
#: Older names, still read: trusted PEM public keys (``os.pathsep``-separated), and ``1`` to
#: refuse unsigned grades.
ENV_TRUSTED_KEYS = "LUTPLUG_TRUSTED_KEYS"
ENV_REQUIRE_SIGNATURE = "LUTPLUG_REQUIRE_SIGNATURE"
#: Largest trust store read (a few hundred bytes per key).
MAX_STORE_BYTES = 1 << 20
_RAW_PREFIX = "ed25519:"
KEY_BYTES = 32


@dataclasses.dataclass(frozen=True)
class TrustedKey:
    """One trusted signing key: its raw 32 bytes, a name, and the last day it is valid (UTC)."""

    raw: bytes
    name: str = ""
    not_after: Optional[_dt.date] = None

    @property
    def key_id(self) -> str:
        return key_id(self.raw)

    def expired(self, today: Optional[_dt.date] = None) -> bool:
        today = today or _dt.datetime.now(_dt.timezone.utc).date()
        return self.not_after is not None and today > self.not_after

    def line(self) -> str:
        """This key as a trust-store line."""
        date = f"  not-after={self.not_after.isoformat()}" if self.not_after else ""
        return f"{self.name or self.key_id}  {_RAW_PREFIX}{base64.b64encode(self.raw).decode()}{date}"


@dataclasses.dataclass(frozen=True)
class TrustStore:
    """Trusted keys and the unsigned-file policy. ``source`` names where it was read from."""

    keys: Tuple[TrustedKey, ...] = ()
    require_signature: bool = True
    source: str = ""

    def find(self, raw_public: bytes) -> Optional[TrustedKey]:
        """The entry for this exact raw key (keys are compared in full, never by id)."""
        return next((k for k in self.keys if k.raw == raw_public), None)

    def __bool__(self) -> bool:
        return bool(self.keys) or self.require_signature


def raw_key(public_key: Any) -> bytes:
    """Raw 32 bytes of an Ed25519 public key object (``cryptography``) or of raw bytes."""
    if isinstance(public_key, (bytes, bytearray)):
        raw = bytes(public_key)
    else:
        raw = public_raw(public_key)
    if len(raw) != KEY_BYTES:
        raise LutError(f"an Ed25519 public key has {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def as_store(trusted: Union[None, "TrustStore", Iterable[Any]],
             require_signature: bool = False) -> Optional[TrustStore]:
    """Normalise what callers pass as trust: None / empty (no store), a :class:`TrustStore`, or
    public keys (objects, raw bytes or :class:`TrustedKey`). Returns None when nothing is
    trusted and no signature is required."""
    if isinstance(trusted, TrustStore):
        if require_signature and not trusted.require_signature:
            return dataclasses.replace(trusted, require_signature=True)
        return trusted
    keys = tuple(k if isinstance(k, TrustedKey) else TrustedKey(raw_key(k)) for k in (trusted or ()))
    if not keys and not require_signature:
        return None
    return TrustStore(keys, require_signature)


def load_store(path: PathLike) -> TrustStore:
    """Read a trust store: a store file, a folder of ``*.pub`` PEM files, or one ``.pub``."""
    p = Path(path)
    if p.is_dir():
        pubs = sorted(p.glob("*.pub"))
        if not pubs:
            raise LutError("trust folder holds no *.pub key", p)
        return TrustStore(tuple(TrustedKey(_pem_raw(f), f.stem) for f in pubs), True, str(p))
    data = read_bytes(p, MAX_STORE_BYTES)
    if b"-----BEGIN" in data[:64]:
        return TrustStore((TrustedKey(_pem_raw(p), p.stem),), True, str(p))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LutError(f"trust store is not UTF-8 text (byte {exc.start})", p) from None
    return parse_store(text, p)


def parse_store(text: str, path: PathLike = "trust store") -> TrustStore:
    """Parse trust-store text (see the module doc); PEM paths are relative to ``path``'s folder.
    Raises :class:`LutError` naming the line for anything malformed or repeated."""
    folder = Path(path).parent
    keys: List[TrustedKey] = []
    seen: Dict[bytes, int] = {}
    require = True
    for lineno, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words == ["allow-unsigned"] or words == ["require-signature"]:
            require = words[0] == "require-signature"
            continue
        if len(words) < 2:
            raise LutError(f"expected 'NAME KEY [not-after=YYYY-MM-DD]', got {line.strip()[:80]!r}",
                           path, lineno)
        name, key, options = words[0], words[1], words[2:]
        if key.startswith(_RAW_PREFIX):
            try:
                raw = base64.b64decode(key[len(_RAW_PREFIX):], validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != KEY_BYTES:
                raise LutError(f"key of {name[:40]!r} is not base64 of {KEY_BYTES} bytes", path, lineno)
        else:
            key_path = Path(key) if Path(key).is_absolute() else folder / key
            try:
                raw = _pem_raw(key_path)
            except LutError as exc:
                raise LutError(f"key file of {name[:40]!r}: {exc}", path, lineno) from None
        not_after = None
        for opt in options:
            if not opt.startswith("not-after="):
                raise LutError(f"unknown option {opt[:40]!r} (known: not-after=YYYY-MM-DD)", path, lineno)
            try:
                not_after = _dt.date.fromisoformat(opt[len("not-after="):])
            except ValueError:
                raise LutError(f"not-after date {opt[10:][:20]!r} is not YYYY-MM-DD", path, lineno) from None
        if raw in seen:
            raise LutError(f"key {key_id(raw)} is listed twice (lines {seen[raw]} and {lineno})",
                           path, lineno)
        seen[raw] = lineno
        keys.append(TrustedKey(raw, name, not_after))
    if not keys and require:
        raise LutError("trust store lists no key (add one, or write 'allow-unsigned' to accept "
                       "only unsigned grades)", path)
    return TrustStore(tuple(keys), require, str(path))


def _pem_raw(path: Path) -> bytes:
    return raw_key(load_public_key(path))


def pem_keys(paths: Sequence[PathLike], require_signature: bool = False,
             source: str = "") -> Optional[TrustStore]:
    """A store of the PEM public keys at ``paths`` (None when there are none and no signature is
    required); unsigned grades are accepted unless ``require_signature``."""
    keys = tuple(TrustedKey(_pem_raw(Path(p).expanduser()), Path(p).stem) for p in paths)
    if not keys and not require_signature:
        return None
    return TrustStore(keys, require_signature, source)


def from_env(environ: Optional[Mapping[str, str]] = None) -> Optional[TrustStore]:
    """The trust policy the environment configures (None when it configures none): the store
    named by ``$LUTPLUG_TRUST``, merged with the PEM keys of ``$LUTPLUG_TRUSTED_KEYS``, and
    signatures required when ``$LUTPLUG_REQUIRE_SIGNATURE`` is ``1``."""
    env = os.environ if environ is None else environ
    path = env.get(ENV_TRUST, "").strip()
    store = load_store(Path(path).expanduser()) if path else None
    pems = [p for p in env.get(ENV_TRUSTED_KEYS, "").split(os.pathsep) if p.strip()]
    require = env.get(ENV_REQUIRE_SIGNATURE, "").strip() == "1"
    names = [f"${n}" for n, on in ((ENV_TRUSTED_KEYS, pems), (ENV_REQUIRE_SIGNATURE, require)) if on]
    return merge([store, pem_keys(pems, require, " and ".join(names))])


def merge(stores: Sequence[Optional[TrustStore]]) -> Optional[TrustStore]:
    """One store holding every key of ``stores``; signatures required if any store requires them."""
    present = [s for s in stores if s is not None]
    if not present:
        return None
    keys, seen = [], set()
    for s in present:
        for k in s.keys:
            if k.raw not in seen:
                seen.add(k.raw)
                keys.append(k)
    return TrustStore(tuple(keys), any(s.require_signature for s in present),
                      "; ".join(s.source for s in present if s.source))


def configured(pubkey: Optional[PathLike] = None, store: Optional[PathLike] = None,
               environ: Optional[Mapping[str, str]] = None) -> Tuple[Any, bool]:
    """(trust, require_signature) for a command's loaders: ``pubkey`` (that one key, signature
    required), else the store at ``store``, else the environment's policy (:func:`from_env`),
    else ``((), False)``."""
    if pubkey is not None:
        return TrustStore((TrustedKey(_pem_raw(Path(pubkey)), Path(pubkey).name),), True,
                          str(pubkey)), True
    found = load_store(store) if store is not None else from_env(environ)
    if found is None:
        return (), False
    return found, found.require_signature

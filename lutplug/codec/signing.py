"""Ed25519 signing of .nlut files (the ``cryptography`` package).

A signed file embeds the signer's raw 32-byte public key; its key id (shown to people) is the
first 8 bytes of SHA-256 of that key, in hex. Private keys are stored as unencrypted PKCS#8 PEM
(mode 0600), public keys as SubjectPublicKeyInfo PEM.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Tuple

from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_path, read_bytes

SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32


def key_id(raw_public: bytes) -> str:
    """Short hex identifier (16 hex digits) of a raw public key: SHA-256, first 8 bytes."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def _crypto():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover
        raise LutError("signing, and checking signatures or PEM keys, needs the cryptography "
                       "package: pip install cryptography") from None
    return ed25519, serialization, InvalidSignature


def public_raw(public_key) -> bytes:
    """The raw 32 bytes of an Ed25519 public key."""
    _, serialization, _ = _crypto()
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_from_raw(raw: bytes):
    """An Ed25519 public key from its raw 32 bytes (LutError if they are not a valid point)."""
    ed25519, _, _ = _crypto()
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise LutError("embedded public key is not a valid Ed25519 key") from None


def generate_keypair(private_path: PathLike, public_path: PathLike) -> str:
    """Create a new key pair; write the private key (0600) and public key. Returns the key id."""
    ed25519, serialization, _ = _crypto()
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    for path, data, mode in ((private_path, pem, 0o600), (public_path, pub, 0o644)):
        if Path(path).exists():
            raise LutError("refusing to overwrite an existing key file", path)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
            os.chmod(tmp, mode)
    return key_id(public_raw(key.public_key()))


def load_private_key(path: PathLike):
    """Read an Ed25519 private key (PEM)."""
    ed25519, serialization, _ = _crypto()
    try:
        key = serialization.load_pem_private_key(read_bytes(path, 1 << 16), password=None)
    except (ValueError, TypeError) as exc:
        raise LutError(f"not an unencrypted PEM private key ({exc})", path) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise LutError("not an Ed25519 private key", path)
    return key


def load_public_key(path: PathLike):
    """Read an Ed25519 public key (PEM, or the private key file, whose public half is used)."""
    ed25519, serialization, _ = _crypto()
    data = read_bytes(path, 1 << 16)
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise LutError(f"not a PEM public key ({exc})", path) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise LutError("not an Ed25519 public key", path)
    return key


def sign(private_key, message: bytes) -> Tuple[bytes, bytes]:
    """(raw public key, 64-byte signature) of ``message``."""
    return public_raw(private_key.public_key()), private_key.sign(message)


def verify(public_key, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s signature of ``message``."""
    _, _, invalid = _crypto()
    try:
        public_key.verify(signature, message)
    except invalid:
        return False
    return True

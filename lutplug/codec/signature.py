"""Signature state and enforcement of a container (.nlut and .nlutpack alike), and signing one.

A signed container carries the signer's raw Ed25519 public key and a signature of its header and
payload (:mod:`lutplug.codec.container`). Its description names the signer's key id
(:data:`SIGNER_FIELD`, inside the signed bytes), so a removed signature (the file still names a
signer) or a re-signature by another key (the names disagree) shows. What a loader refuses depends
on the trust policy (:mod:`lutplug.codec.trust`): tampered, stripped and re-signed files always;
untrusted and expired keys, and unsigned files, as the policy says.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Callable, Optional, Tuple

from lutplug.codec import container, signing, trust
from lutplug.errors import (ExpiredKeyError, PathLike, ResignedError, SignatureError,
                            StrippedSignatureError, UnsignedError, UntrustedKeyError)
from lutplug.fileio import atomic_write

#: Description field holding the key id of the key that signed the file, set by
#: :func:`sign_container`.
SIGNER_FIELD = "signer"


@dataclasses.dataclass
class SignatureStatus:
    """Outcome of checking a file's signature.

    state, one of:

    - ``"unsigned"``: no signature, and the file names no signer;
    - ``"valid"``: intact and made by a trusted key that has not expired;
    - ``"untrusted"``: intact, but its key is not among the trusted ones (or none were given);
    - ``"expired"``: intact, made by a trusted key whose ``not-after`` date has passed;
    - ``"invalid"``: the signature does not match the bytes (tampered);
    - ``"stripped"``: no signature, but the file names a signer (its signature was removed);
    - ``"resigned"``: intact, but made by another key than the signer the file names;
    - ``"unverified"``: signed, but not checked (a host without the cryptography package).

    ``key_id``: the signing key's id; ``declared``: the signer the file names; ``key_name`` and
    ``not_after``: the trust-store entry of the key, when it has one.
    """

    state: str
    key_id: Optional[str] = None
    declared: Optional[str] = None
    key_name: str = ""
    not_after: Optional[str] = None

    def __str__(self) -> str:
        return self.state + (f" (key {self.key_id})" if self.key_id else "")

    def text(self) -> str:
        """What a person is told about this signature, in a few words."""
        kid = self.key_id
        return {
            "unsigned": "unsigned",
            "valid": f"valid, trusted key {self.key_name or kid}"
                     + (f" (until {self.not_after})" if self.not_after else ""),
            "untrusted": f"intact, key {kid} (no trusted key given: integrity only)",
            "expired": f"intact, key {kid} ({self.key_name}) expired on {self.not_after}",
            "invalid": f"INVALID (key {kid}): altered after signing",
            "stripped": f"STRIPPED: names signer {self.declared} but carries no signature",
            "resigned": f"RE-SIGNED by key {kid}, names signer {self.declared}",
            "unverified": f"NOT checked (signed with key {kid}; the cryptography package is "
                          "unavailable)",
        }.get(self.state, self.state)


def signed_state(signed_part: bytes, key: Optional[bytes], sig: Optional[bytes],
                 store: Optional[trust.TrustStore], today: Optional[_dt.date]) -> SignatureStatus:
    """The signature's state from the signed bytes alone (the declared signer not yet known)."""
    if sig is None or key is None:
        return SignatureStatus("unsigned")
    kid = signing.key_id(key)
    try:
        embedded = signing.public_from_raw(key)
    except ValueError:
        return SignatureStatus("invalid", kid)
    if not signing.verify(embedded, signed_part, sig):
        return SignatureStatus("invalid", kid)
    entry = store.find(key) if store is not None else None
    if entry is None:
        return SignatureStatus("untrusted", kid)
    date = entry.not_after.isoformat() if entry.not_after else None
    state = "expired" if entry.expired(today) else "valid"
    return SignatureStatus(state, kid, key_name=entry.name, not_after=date)


def with_declared_signer(status: SignatureStatus, description: dict) -> SignatureStatus:
    """Compare the signer the description names (checked by the layout check) with the
    signature actually present."""
    declared = description.get(SIGNER_FIELD)
    if declared is None:
        return status
    status = dataclasses.replace(status, declared=declared)
    if status.state == "unsigned":
        return dataclasses.replace(status, state="stripped")
    if status.state not in ("invalid", "unverified") and status.key_id != declared:
        return dataclasses.replace(status, state="resigned")
    return status


def enforce(status: SignatureStatus, store: Optional[trust.TrustStore], source: str) -> None:
    """Raise the error for a status a loader must refuse under ``store`` (None: no trust)."""
    kid, state = status.key_id, status.state
    if state == "invalid":
        raise SignatureError("signature does not match the contents: the file was altered after "
                             "signing", source)
    if state == "stripped":
        raise StrippedSignatureError(f"the file names signer {status.declared} but carries no "
                                     "signature: its signature was stripped", source)
    if state == "resigned":
        raise ResignedError(f"the file names signer {status.declared} but is signed by key {kid}: "
                            "it was re-signed by another key", source)
    if store is None:
        return
    if state == "unsigned" and store.require_signature:
        raise UnsignedError("file is not signed but a signature is required", source)
    where = f" ({store.source})" if store.source else ""
    if state == "untrusted" and store.keys:
        raise UntrustedKeyError(f"signed by key {kid}, which is not trusted{where}", source)
    if state == "expired":
        raise ExpiredKeyError(f"signed by key {kid} ({status.key_name or 'trusted'}), whose "
                              f"validity ended on {status.not_after}{where}", source)


def read_container(data: bytes, source: str, framing: container.Framing,
                   store: Optional[trust.TrustStore], check: Optional[container.LayoutCheck],
                   today: Optional[_dt.date] = None) -> Tuple[container.Container, SignatureStatus]:
    """Decode container bytes under the trust ``store``: the framing and the signature are
    checked before the payload is inflated, the description and tensor shapes (``check``) before
    the tensor data is; what ``store`` refuses raises (see :func:`enforce`)."""
    signed_part, _, key, sig = container.split(data, source, framing)
    status = signed_state(signed_part, key, sig, store, today)
    enforce(status, store, source)
    c = container.decode(data, source, framing, check=check)
    status = with_declared_signer(status, c.description)
    enforce(status, store, source)
    return c, status


def inspect_container(data: bytes, source: str, framing: container.Framing,
                      store: Optional[trust.TrustStore], check: Optional[container.LayoutCheck],
                      today: Optional[_dt.date] = None
                      ) -> Tuple[SignatureStatus, Optional[container.Container]]:
    """(status, decoded container) refusing nothing but malformed structure: what ``lutplug
    verify`` reports. A signature that does not match is reported before anything of the payload
    is parsed (the container is then None)."""
    signed_part, _, key, sig = container.split(data, source, framing)
    status = signed_state(signed_part, key, sig, store, today)
    if status.state == "invalid":
        return status, None
    c = container.decode(data, source, framing, check=check)
    return with_declared_signer(status, c.description), c


def read_unverified(data: bytes, source: str, framing: container.Framing,
                    check: Optional[container.LayoutCheck]
                    ) -> Tuple[container.Container, SignatureStatus]:
    """Decode container bytes without checking a signature (a host whose Python lacks the
    cryptography package): the structure is checked as usual; a signed file comes back with
    state ``"unverified"``, a stripped one is refused. Never use it where a signature is
    required."""
    signed_part, _, key, sig = container.split(data, source, framing)
    c = container.decode(data, source, framing, check=check)
    if sig is not None and key is not None:
        return c, SignatureStatus("unverified", signing.key_id(key))
    status = with_declared_signer(SignatureStatus("unsigned"), c.description)
    if status.state == "stripped":
        enforce(status, None, source)
    return c, status


def sign_container(data: bytes, c: container.Container, private_key: object, path: PathLike,
                   output: Optional[PathLike] = None, resign: bool = False,
                   framing: container.Framing = container.NLUT, what: str = "file") -> str:
    """Sign the verified container bytes ``data`` (decoded: ``c``) and write them to ``output``
    or ``path`` atomically; returns the key id. The description is first made to name its
    signer; one naming another signer is refused unless ``resign``. Shared by .nlut and packs."""
    raw_public = signing.public_raw(getattr(private_key, "public_key")())
    kid = signing.key_id(raw_public)
    declared = c.description.get(SIGNER_FIELD)
    if declared not in (None, kid) and not resign:
        raise ResignedError(f"the {what} names signer {declared}; signing it with key {kid} would "
                            "re-sign it (pass --resign to take it over)", path)
    if declared != kid:  # name the signer inside the signed bytes
        data = container.encode(c.tensors, {**c.description, SIGNER_FIELD: kid}, framing, c.version)
    sign: Callable[[bytes], bytes] = getattr(private_key, "sign")
    atomic_write(output or path, container.add_signature(data, raw_public, sign, framing))
    return kid


def sign_checked(data: bytes, source: str, framing: container.Framing,
                 check: Optional[container.LayoutCheck], private_key: object, path: PathLike,
                 output: Optional[PathLike] = None, resign: bool = False, what: str = "file") -> str:
    """Sign container bytes read from ``path`` after checking they are intact (an altered,
    stripped or re-signed container is refused); see :func:`sign_container`."""
    status, c = inspect_container(data, source, framing, None, check)
    if status.state in ("invalid", "stripped", "resigned"):
        enforce(status, None, source)
    if c is None:  # an invalid signature, refused above
        raise SignatureError("signature does not match the contents", source)
    return sign_container(data, c, private_key, path, output, resign, framing, what)

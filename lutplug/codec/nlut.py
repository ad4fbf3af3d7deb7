"""A compressed LUT (.nlut): load, evaluate, bake, save, sign — the codec's public face.

Hosts use :class:`NeuralLUT` and :func:`load_nlut`; none of them needs to know how the network is
built (that lives in :mod:`lutplug.codec.model`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import re
from functools import partial
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from lutplug import __version__
from lutplug.codec import container
from lutplug.codec.model import (FORMAT, forward_numpy, forward_numpy_lattice, lattice_nodes, lattice_read,
                                  param_shapes)
from lutplug.core.lut import LUT1D, LUT3D, MAX_GRID_3D
from lutplug.errors import (ExpiredKeyError, LutError, PathLike, ResignedError, SignatureError,
                            StrippedSignatureError, UnsignedError, UntrustedKeyError)
from lutplug.fileio import atomic_write, read_bytes

#: Largest .nlut accepted on read (they are a few KB).
MAX_NLUT_BYTES = 16 << 20
_SHAPER = "shaper"
_MODEL_PREFIX = "m."
#: Version 2 layout: every int8 network tensor, flattened in :func:`param_shapes` order, in one
#: tensor ``m.q``, and their float16 scales in ``m.s`` (the curves one a row, every other tensor
#: one; node corrections none) — what :func:`lutplug.codec.train.fit` stores, minus a tensor index
#: entry per parameter (110–244 bytes a file over the 39 benchmark grades).
_PACKED_Q, _PACKED_S = _MODEL_PREFIX + "q", _MODEL_PREFIX + "s"
_ROW_SCALED = ("cin", "cout")
#: Tensors stored as plain integers (no scale tensor; their scale is in the configuration) and
#: the integer types each may have.
_UNSCALED = {"fix": (np.dtype(np.int8),), "lattice": (np.dtype(np.int8), np.dtype(np.int16))}


#: Description field holding the key id of the key that signed the file, set by
#: :func:`sign_file`. It lies inside the signed bytes, so removing the signature (the file still
#: names a signer) or re-signing with another key (the names disagree) shows.
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


class NeuralLUT:
    """A decoded .nlut: the network, its input domain, an optional shaper and the description.

    Evaluation (:meth:`apply`) is numpy only. ``input_domain`` / ``apply`` make it usable wherever
    a :class:`~lutplug.core.lut.LUT3D` is (quality reports, bake, hosts).
    """

    def __init__(self, config: dict, params: Dict[str, np.ndarray], domain_min, domain_max,
                 shaper: Optional[LUT1D] = None, description: Optional[dict] = None,
                 signature: Optional[SignatureStatus] = None, content_hash: str = "",
                 source: Optional[str] = None):
        self.config = config
        self.params = params
        self.domain_min = np.asarray(domain_min, dtype=np.float64).reshape(3)
        self.domain_max = np.asarray(domain_max, dtype=np.float64).reshape(3)
        self.shaper = shaper
        self.description = description or {}
        self.signature = signature or SignatureStatus("unsigned")
        self.content_hash = content_hash
        self.source = source

    # -- transform protocol ---------------------------------------------------------------
    @property
    def input_domain(self) -> Tuple[np.ndarray, np.ndarray]:
        if self.shaper is not None:
            return self.shaper.domain_min, self.shaper.domain_max
        return self.domain_min, self.domain_max

    @property
    def size(self) -> int:
        """Grid size of the LUT it was made from (the native bake size)."""
        return int(self.description.get("provenance", {}).get("grid", 33))

    @property
    def interpolation(self) -> str:
        """How a cube baked from this network is read between its nodes: the source LUT's
        ``"tetrahedral"`` (default) or ``"trilinear"`` (description field ``interpolation``;
        a residual lattice's own reading when there is one)."""
        spec = self.config.get("lattice")
        return str(spec["interpolation"] if spec else self.description.get("interpolation", "tetrahedral"))

    @property
    def lattice_grid(self) -> Optional[int]:
        """N when the network ends in an N³ residual lattice (see :mod:`lutplug.codec.model`): a
        cube baked at N³ then reproduces it exactly, and no shader can run it per pixel."""
        spec = self.config.get("lattice")
        return int(spec["grid"]) if spec else None

    def bake_size(self, default: int) -> int:
        """The cube size a host should bake when it would bake ``default``³: a residual lattice's
        own grid (exact there; any other size resamples it — retro_red's 32³ lattice baked to
        65³ misses T1 with max ΔE00 5.6), else ``default``."""
        return self.lattice_grid or default

    @property
    def title(self) -> str:
        return str(self.description.get("title", ""))

    def lattice_coordinates(self, rgb: np.ndarray) -> np.ndarray:
        """Input RGB (..., 3) → normalised network input (shaper, then domain), float32."""
        x = np.asarray(rgb, dtype=np.float32)
        if self.shaper is not None:
            x = self.shaper.apply(x)
        scale = (1.0 / (self.domain_max - self.domain_min)).astype(np.float32)
        return (x - self.domain_min.astype(np.float32)) * scale

    def apply(self, rgb: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
        """Evaluate the network at input RGB (..., 3); float32 (..., 3). Numpy only."""
        rgb = np.asarray(rgb, dtype=np.float32)
        if rgb.shape[-1] != 3:
            raise LutError(f"RGB input must have shape (..., 3), got {rgb.shape}")
        u = self.lattice_coordinates(rgb).reshape(-1, 3)
        out = np.empty_like(u)
        if "lattice" in self.config:  # the node values once, then read like a cube
            nodes = lattice_nodes(self.params, self.config)
            evaluate = partial(lattice_read, nodes, interpolation=self.config["lattice"]["interpolation"])
        else:
            evaluate = partial(forward_numpy, self.params, self.config)
        for start in range(0, len(u), chunk):
            out[start:start + chunk] = evaluate(u[start:start + chunk])
        return out.reshape(rgb.shape)

    def bake(self, size: Optional[int] = None) -> LUT3D:
        """Dense cube of ``size``³ (default: the source's grid) over the same domain, shaper kept:
        the fallback every host can use."""
        size = size or self.size
        table = self.apply_lattice(size)
        return LUT3D(table, self.domain_min, self.domain_max, shaper=self.shaper, title=self.title,
                     interpolation=self.interpolation,
                     comments=[f"baked by lutplug {__version__} from .nlut {self.content_hash[:16]}"])

    def apply_lattice(self, size: int) -> np.ndarray:
        """Network output at every node of a ``size``³ lattice, float32 (size, size, size, 3)."""
        if not 2 <= size <= MAX_GRID_3D:
            raise LutError(f"lattice size must be between 2 and {MAX_GRID_3D}, got {size}", self.source)
        return forward_numpy_lattice(self.params, self.config, size)

    # -- storage --------------------------------------------------------------------------
    def tensors(self) -> Dict[str, np.ndarray]:
        """The stored tensors: version 2's packed network when the parameters are stored that
        way (see :data:`_PACKED_Q`), else version 1's one tensor (or q/s pair) per parameter."""
        out = _pack(self.config, self.params) or {_MODEL_PREFIX + k: v for k, v in self.params.items()}
        if self.shaper is not None:
            out[_SHAPER] = _shaper_tensor(self.shaper)
        return out

    def to_bytes(self) -> bytes:
        """Unsigned .nlut bytes (format version 2, or 1 for a network not stored the packed way)."""
        # a re-serialised grade is a new unsigned file: it names no signer (sign_file adds one)
        desc = {k: v for k, v in self.description.items()
                if v not in ("", {}, None) and k != SIGNER_FIELD}
        model = {k: v for k, v in self.config.items() if k != "quant"}  # quant: derivable
        desc.update({"format": "nlut", "model": model,
                     "domain": [self.domain_min.tolist(), self.domain_max.tolist()]})
        if self.shaper is not None:
            desc["shaper_domain"] = [self.shaper.domain_min.tolist(), self.shaper.domain_max.tolist()]
        else:
            desc.pop("shaper_domain", None)
        tensors = self.tensors()
        return container.encode(tensors, desc, version=_layout_version(tensors))

    def save(self, path: PathLike) -> int:
        """Write an unsigned .nlut atomically; returns its size in bytes."""
        data = self.to_bytes()
        atomic_write(path, data)
        self.content_hash = container.decode(data).content_hash
        return len(data)


def _shaper_tensor(shaper: LUT1D) -> np.ndarray:
    half = shaper.table.astype(np.float16)
    span = float(np.ptp(shaper.table)) or 1.0
    if np.all(np.isfinite(half)) and np.abs(half.astype(np.float32) - shaper.table).max() <= 1e-5 * span:
        return half
    return shaper.table.astype(np.float32)


def _layout_version(tensors: Dict[str, np.ndarray]) -> int:
    """The format version stored ``tensors`` (:meth:`NeuralLUT.tensors`) belong to: 2 when packed."""
    return 2 if _PACKED_Q in tensors else 1


def _packed_layout(config: dict):
    """(name, shape, scale count) of every network tensor in version 2's packing order."""
    return [(name, tuple(shape), 0 if name in _UNSCALED else shape[0] if name in _ROW_SCALED else 1)
            for name, shape in param_shapes(config).items()]


def _pack(config: dict, params: Dict[str, np.ndarray]) -> Optional[Dict[str, np.ndarray]]:
    """Version 2's ``m.q``/``m.s`` of ``params``, or None when they are not all int8 with float16
    scales of the packed layout's counts (then version 1 stores them as they are)."""
    layout = _packed_layout(config)
    names = {n for n, _, k in layout if not k} | {n + e for n, _, k in layout if k for e in (".q", ".s")}
    if set(params) != names:
        return None
    ints, scales = [], []
    for name, shape, count in layout:
        q = np.asarray(params[name if not count else name + ".q"])
        if q.dtype != np.int8 or q.shape != shape:
            return None
        ints.append(q.ravel())
        if count:
            scale = np.asarray(params[name + ".s"])
            if scale.dtype != np.float16 or scale.size != count:
                return None
            scales.append(scale.ravel())
    return {_PACKED_Q: np.concatenate(ints), _PACKED_S: np.concatenate(scales)}


def _unpack(config: dict, q: np.ndarray, s: np.ndarray) -> Dict[str, np.ndarray]:
    """The parameters (``name.q``/``name.s`` pairs, ``fix``) in version 2's ``m.q`` and ``m.s``,
    whose sizes :func:`_check_packed` checked."""
    params: Dict[str, np.ndarray] = {}
    at_q = at_s = 0
    for name, shape, count in _packed_layout(config):
        size = int(np.prod(shape))
        block = q[at_q:at_q + size].reshape(shape)
        at_q += size
        if not count:
            params[name] = block
            continue
        params[name + ".q"], params[name + ".s"] = block, s[at_s:at_s + count]
        at_s += count
    return params


def _check_packed(config: dict, specs: Dict[str, object]) -> None:
    """Refuse version 2 tensors whose types or sizes disagree with the configuration."""
    _check_config(config)
    layout = _packed_layout(config)
    sizes = {_PACKED_Q: sum(int(np.prod(shape)) for _, shape, _ in layout),
             _PACKED_S: sum(count for _, _, count in layout)}
    for name, dtype in ((_PACKED_Q, np.int8), (_PACKED_S, np.float16)):
        spec = specs.get(name)
        if spec is None or spec.dtype != dtype or tuple(spec.shape) != (sizes[name],):
            got = "missing" if spec is None else f"{spec.dtype} {tuple(spec.shape)}"
            raise ValueError(f"{name} must be {np.dtype(dtype)} ({sizes[name]},), got {got}")
    extra = sorted(k for k in specs if k.startswith(_MODEL_PREFIX) and k not in sizes)
    if extra:
        raise ValueError(f"unexpected tensors {[k[:40] for k in extra[:5]]}")


def _floats3(value, field: str, source: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise LutError(f"description field {field!r} must hold 3 numbers", source) from None
    if not np.all(np.isfinite(arr)):
        raise LutError(f"description field {field!r} is not finite", source)
    return arr


def from_bytes(data: bytes, source: str = ".nlut", trusted_keys=(), require_signature: bool = False,
               today: Optional[_dt.date] = None) -> NeuralLUT:
    """Decode .nlut bytes.

    ``trusted_keys``: a :class:`~lutplug.codec.trust.TrustStore` or Ed25519 public keys. With
    trusted keys a signed file must verify against one of them (and the key must not have
    expired, :class:`ExpiredKeyError`), else :class:`UntrustedKeyError`; an unsigned file is
    refused (:class:`UnsignedError`) when ``require_signature`` or the store requires signatures.
    Always refused: a signature that does not match (:class:`SignatureError`), a stripped one
    (:class:`StrippedSignatureError`), one by another key than the file names
    (:class:`ResignedError`). The signature is checked before the payload is inflated.
    """
    from lutplug.codec import trust

    store = trust.as_store(trusted_keys, require_signature)
    signed_part, _, key, sig = container.split(data, source, container.NLUT)
    status = _signature_state(signed_part, key, sig, store, today)
    _enforce(status, store, source)
    c = container.decode(data, source, container.NLUT, check=_layout_check(source, signed_part))
    status = _declared(status, c.description)
    _enforce(status, store, source)
    return _interpret(c, source, status)


def from_bytes_unverified(data: bytes, source: str = ".nlut") -> NeuralLUT:
    """Decode .nlut bytes without checking a signature (for hosts whose Python lacks the
    cryptography package): the structure is checked as usual; a signed file comes back with
    state ``"unverified"``. Never use it where a signature is required."""
    from lutplug.codec import trust

    signed_part, _, key, sig = container.split(data, source, container.NLUT)
    c = container.decode(data, source, container.NLUT, check=_layout_check(source, signed_part))
    status = SignatureStatus("unverified", trust.key_id(key)) if sig is not None else \
        _declared(SignatureStatus("unsigned"), c.description)
    if status.state == "stripped":
        _enforce(status, None, source)
    return _interpret(c, source, status)


def signature_status(data: bytes, source: str = ".nlut", trusted_keys=(),
                     today: Optional[_dt.date] = None) -> Tuple[SignatureStatus, "container.Container"]:
    """(status, decoded container) of .nlut bytes, refusing nothing but malformed structure
    (:class:`LutError`; :class:`StrippedSignatureError` when the header says signed and the
    signature block is gone). What ``lutplug verify`` reports."""
    from lutplug.codec import trust

    store = trust.as_store(trusted_keys)
    signed_part, _, key, sig = container.split(data, source, container.NLUT)
    status = _signature_state(signed_part, key, sig, store, today)
    c = container.decode(data, source, container.NLUT, check=_layout_check(source, signed_part))
    return _declared(status, c.description), c


def _signature_state(signed_part: bytes, key: Optional[bytes], sig: Optional[bytes], store,
                     today: Optional[_dt.date]) -> SignatureStatus:
    """The signature's state from the signed bytes alone (declared signer not yet known)."""
    if sig is None:
        return SignatureStatus("unsigned")
    from lutplug.codec import signing

    kid = signing.key_id(key)
    try:
        embedded = signing.public_from_raw(key)
    except LutError:
        return SignatureStatus("invalid", kid)
    if not signing.verify(embedded, signed_part, sig):
        return SignatureStatus("invalid", kid)
    entry = store.find(key) if store is not None else None
    if entry is None:
        return SignatureStatus("untrusted", kid)
    date = entry.not_after.isoformat() if entry.not_after else None
    state = "expired" if entry.expired(today) else "valid"
    return SignatureStatus(state, kid, key_name=entry.name, not_after=date)


def _declared(status: SignatureStatus, description: dict) -> SignatureStatus:
    """Compare the signer the description names (checked by :func:`_check_layout`) with the
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


def _enforce(status: SignatureStatus, store, source: str) -> None:
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


def _interpret(c: "container.Container", source: str, status: SignatureStatus) -> NeuralLUT:
    """Build the NeuralLUT of a container whose layout :func:`_check_layout` accepted."""
    d = c.description
    for k, v in c.tensors.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise LutError(f"tensor {k!r} holds NaN or infinite values", source)
    dom = d["domain"]
    dmin, dmax = _floats3(dom[0], "domain", source), _floats3(dom[1], "domain", source)
    if c.version == 2:
        params = _unpack(d["model"], c.tensors[_PACKED_Q], c.tensors[_PACKED_S])
    else:
        params = {k[len(_MODEL_PREFIX):]: v for k, v in c.tensors.items() if k.startswith(_MODEL_PREFIX)}
    _check_integers(d["model"], params, source)
    shaper = None
    if _SHAPER in c.tensors:
        sd = d["shaper_domain"]
        try:
            shaper = LUT1D(c.tensors[_SHAPER].astype(np.float32), _floats3(sd[0], "shaper_domain", source),
                           _floats3(sd[1], "shaper_domain", source), source=source)
        except LutError as exc:
            raise exc.with_path(source) from None
    return NeuralLUT(d["model"], params, dmin, dmax, shaper, d, status, c.content_hash, source)


def _check_integers(config: dict, params: Dict[str, np.ndarray], source: str) -> None:
    """Refuse node corrections naming nodes outside their grid and residual lattices beyond
    :data:`MAX_LATTICE_SPAN` (tensors whose shapes and types were checked already)."""
    if "fix" in params:
        nodes = params["fix"][:, :3]
        if nodes.size and (nodes.min() < 0 or nodes.max() >= config["fix"]["grid"]):
            raise LutError("node corrections name nodes outside their grid", source)
    if "lattice" in params:
        span = float(config["lattice"]["step"]) * float(np.abs(params["lattice"].astype(np.int32)).max())
        if span > MAX_LATTICE_SPAN:
            raise LutError(f"residual lattice values reach {span:.3g} (at most {MAX_LATTICE_SPAN:g})", source)


#: Largest shaper (entries per channel) accepted.
MAX_SHAPER = 1 << 16


def _layout_check(source: str, signed_part: bytes):
    """The ``check`` container.decode runs before inflating tensor data, for the format version
    in the header ``signed_part`` begins with."""
    return lambda description, specs: _check_layout(description, specs, source, signed_part[4])


def _check_layout(d: dict, specs: Dict[str, object], source: str, version: int) -> None:
    """Refuse a description, or tensors (anything with ``dtype`` and ``shape``: header specs
    or arrays), that disagree with each other or with the layout of format ``version``, before
    any tensor data is inflated."""
    if d.get("format") != "nlut":
        raise LutError("description does not describe an nlut", source)
    signer = d.get(SIGNER_FIELD)
    if signer is not None and not (isinstance(signer, str) and re.fullmatch(r"[0-9a-f]{16}", signer)):
        raise LutError(f"description field {SIGNER_FIELD!r} must be a key id of 16 hex digits",
                       source)
    config = d.get("model")
    if not isinstance(config, dict):
        raise LutError("description has no model configuration", source)
    try:
        dom = d["domain"]
        dmin, dmax = _floats3(dom[0], "domain", source), _floats3(dom[1], "domain", source)
    except (KeyError, IndexError, TypeError):
        raise LutError("description has no valid 'domain'", source) from None
    if np.any(dmax <= dmin):
        raise LutError("description 'domain' is empty or reversed", source)
    if d.get("interpolation", "tetrahedral") not in ("tetrahedral", "trilinear"):
        raise LutError(f"description 'interpolation' must be tetrahedral or trilinear, got "
                       f"{str(d.get('interpolation'))[:40]!r}", source)
    stray = sorted(k for k in specs if not k.startswith(_MODEL_PREFIX) and k != _SHAPER)
    if stray:
        raise LutError(f"unexpected tensors {[k[:40] for k in stray[:5]]}", source)
    if version == 2:
        with _network_mismatch(source):
            _check_packed(config, specs)
    else:
        _check_params(config, {k[len(_MODEL_PREFIX):]: v for k, v in specs.items()
                               if k.startswith(_MODEL_PREFIX)}, source)
    if (_SHAPER in specs) != ("shaper_domain" in d):
        raise LutError("'shaper' tensor and 'shaper_domain' must come together", source)
    if _SHAPER in specs:
        sh = specs[_SHAPER]
        if sh.dtype.kind != "f" or len(sh.shape) != 2 or sh.shape[1] != 3 \
                or not 2 <= sh.shape[0] <= MAX_SHAPER:
            raise LutError(f"shaper must be float (M, 3) with 2 <= M <= {MAX_SHAPER}, got "
                           f"{sh.dtype} {tuple(sh.shape)}", source)
        try:
            sd = d["shaper_domain"]
            lo, hi = _floats3(sd[0], "shaper_domain", source), _floats3(sd[1], "shaper_domain", source)
        except (KeyError, IndexError, TypeError):
            raise LutError("file has a shaper but no valid 'shaper_domain'", source) from None
        if np.any(hi <= lo):
            raise LutError("description 'shaper_domain' is empty or reversed", source)


_LIMITS = {"in_curve": 4096, "out_curve": 4096, "fourier": 12}
_CHOICES = {"act": ("relu", "silu", "tanh", "sin"), "skip": ("identity", "linear", "none")}
_KNOWN_KEYS = {"format", "version", "in_curve", "out_curve", "fourier", "hidden", "act", "skip",
               "center", "minmax", "quant", "fix", "lattice"}
#: Node corrections: largest grid (coordinates are int8) and row count accepted.
MAX_FIX_GRID, MAX_FIX_ROWS = 128, 4096
#: Residual lattice: largest grid accepted (129³ int16 nodes: 12.9 MB decompressed).
MAX_LATTICE_GRID = 129
#: Largest step * |residual| accepted (in the log-compressed space: e^63 is far beyond any grade).
MAX_LATTICE_SPAN = 64.0


def _check_lattice(spec) -> None:
    if not isinstance(spec, dict) or set(spec) != {"grid", "step", "interpolation"}:
        raise ValueError("lattice must hold exactly grid, step and interpolation")
    grid, step = spec["grid"], spec["step"]
    if not isinstance(grid, int) or isinstance(grid, bool) or not 2 <= grid <= MAX_LATTICE_GRID:
        raise ValueError(f"lattice grid = {grid!r} is out of range")
    if not isinstance(step, (int, float)) or isinstance(step, bool) or not 0 < step <= 1:
        raise ValueError(f"lattice step = {step!r} must be in (0, 1]")
    if spec["interpolation"] not in ("tetrahedral", "trilinear"):
        raise ValueError(f"lattice interpolation = {str(spec['interpolation'])[:40]!r} is not "
                         "tetrahedral or trilinear")


def _check_fix(fix) -> None:
    if not isinstance(fix, dict) or set(fix) != {"grid", "count", "scale"}:
        raise ValueError("fix must hold exactly grid, count and scale")
    for key, top in (("grid", MAX_FIX_GRID), ("count", MAX_FIX_ROWS)):
        v = fix[key]
        if not isinstance(v, int) or isinstance(v, bool) or not (2 if key == "grid" else 1) <= v <= top:
            raise ValueError(f"fix {key} = {v!r} is out of range")
    scale = fix["scale"]
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0 < scale < 1e4:
        raise ValueError(f"fix scale = {scale!r} must be a positive number")


def _check_config(config: dict) -> None:
    if config.get("format") != FORMAT:
        raise ValueError(f"unknown network format {config.get('format')!r}")
    for key, limit in _LIMITS.items():
        v = config.get(key, 0)
        if not isinstance(v, int) or isinstance(v, bool) or not (v == 0 or 2 <= v <= limit):
            raise ValueError(f"{key} = {v!r} is out of range")
    hidden = config.get("hidden")
    if (not isinstance(hidden, list) or len(hidden) > 8
            or not all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 1024 for h in hidden)):
        raise ValueError(f"hidden = {hidden!r} must be up to 8 widths of 1..1024")
    for key, allowed in _CHOICES.items():
        if config.get(key, allowed[0]) not in allowed:
            raise ValueError(f"{key} = {config.get(key)!r} is not one of {allowed}")
    for key in ("center", "minmax"):
        if not isinstance(config.get(key, False), bool):
            raise ValueError(f"{key} = {config.get(key)!r} must be true or false")
    if "fix" in config:
        _check_fix(config["fix"])
    if "lattice" in config:
        _check_lattice(config["lattice"])
    unknown = set(config) - _KNOWN_KEYS
    if unknown:  # a newer writer's feature this reader would silently ignore: refuse
        raise ValueError(f"unknown network settings {sorted(unknown)}")


@contextlib.contextmanager
def _network_mismatch(source: str):
    """Turn what a configuration/tensor check raises into the LutError naming ``source``."""
    try:
        yield
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise LutError(f"network does not match its configuration: {str(exc)[:300]}", source) from None


def _check_params(config: dict, params: Dict[str, object], source: str) -> None:
    """Refuse a configuration or tensors (``dtype``/``shape`` holders) that disagree with the
    architecture: every tensor present with its exact shape, quantised ones with a matching
    scale, no other tensor."""
    with _network_mismatch(source):
        _check_config(config)
        expected = param_shapes(config)
        seen = set()
        for name, shape in expected.items():
            if name in _UNSCALED:  # node corrections, residual lattice: plain integers
                arr = params.get(name)
                if arr is None or arr.dtype not in _UNSCALED[name]:
                    raise ValueError(f"tensor {name} must be {' or '.join(map(str, _UNSCALED[name]))}")
                seen.add(name)
            elif name in params:
                arr = params[name]
                if arr.dtype.kind != "f":
                    raise ValueError(f"{name} must be float, got {arr.dtype}")
                seen.add(name)
            elif name + ".q" in params and name + ".s" in params:
                arr, scale = params[name + ".q"], params[name + ".s"]
                if arr.dtype != np.int8 or scale.dtype.kind != "f":
                    raise ValueError(f"{name} must be int8 with a float scale")
                if scale.shape not in ((), (1,), (shape[0],)):
                    raise ValueError(f"{name}.s has shape {scale.shape}, not a per-tensor or "
                                     f"per-row scale of {shape}")
                seen.update((name + ".q", name + ".s"))
            else:
                raise ValueError(f"tensor {name} is missing")
            if tuple(arr.shape) != tuple(shape):
                raise ValueError(f"{name} has shape {tuple(arr.shape)}, the network needs {shape}")
        extra = set(params) - seen
        if extra:
            raise ValueError(f"unexpected tensors {sorted(extra)}")


def load_nlut(path: PathLike, trusted_keys=(), require_signature: bool = False) -> NeuralLUT:
    """Read a .nlut file (see :func:`from_bytes` for the trust rules)."""
    data = read_bytes(path, MAX_NLUT_BYTES)
    return from_bytes(data, str(path), trusted_keys, require_signature)


def sign_file(path: PathLike, private_key, output: Optional[PathLike] = None,
              resign: bool = False) -> str:
    """Sign a .nlut in place or into ``output``; returns the key id.

    The file is first made to name its signer (``"signer"`` in the description, inside the
    signed bytes: a new content hash the first time). A file that already names another signer
    is refused unless ``resign`` (then it names the new one). The signature must verify first."""
    data = read_bytes(path, MAX_NLUT_BYTES)
    status, c = signature_status(data, str(path))
    if status.state in ("invalid", "stripped", "resigned"):
        _enforce(status, None, str(path))
    return sign_container(data, c, private_key, path, output, resign)


def sign_container(data: bytes, c: "container.Container", private_key, path: PathLike,
                   output: Optional[PathLike] = None, resign: bool = False,
                   framing: "container.Framing" = container.NLUT, what: str = "file") -> str:
    """Sign the verified container bytes ``data`` (decoded: ``c``) and write them to ``output``
    or ``path`` atomically; returns the key id. The description is first made to name its
    signer; one naming another signer is refused unless ``resign``. Shared by .nlut and packs."""
    from lutplug.codec import signing

    raw_public = signing.public_raw(private_key.public_key())
    kid = signing.key_id(raw_public)
    declared = c.description.get(SIGNER_FIELD)
    if declared not in (None, kid) and not resign:
        raise ResignedError(f"the {what} names signer {declared}; signing it with key {kid} would "
                            "re-sign it (pass --resign to take it over)", path)
    if declared != kid:  # name the signer inside the signed bytes
        data = container.encode(c.tensors, {**c.description, SIGNER_FIELD: kid}, framing, c.version)
    atomic_write(output or path, container.add_signature(data, raw_public, private_key.sign, framing))
    return kid


def file_sha256(path: PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()

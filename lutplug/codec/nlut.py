"""A compressed LUT (.nlut): load, evaluate, bake, save, sign — the codec's public face.

Hosts use :class:`NeuralLUT` and :func:`load_nlut`; none of them needs to know how the network is
built (that lives in :mod:`lutplug.codec.model`).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

from lutplug import __version__
from lutplug.codec import container
from lutplug.codec.model import FORMAT, forward_numpy, param_shapes
from lutplug.core.lut import LUT1D, LUT3D, lattice
from lutplug.errors import LutError, PathLike, SignatureError, UnsignedError
from lutplug.fileio import atomic_write, read_bytes

#: Largest .nlut accepted on read (they are a few KB).
MAX_NLUT_BYTES = 16 << 20
_SHAPER = "shaper"
_MODEL_PREFIX = "m."


@dataclasses.dataclass
class SignatureStatus:
    """Outcome of checking a file's signature.

    state: ``"unsigned"``, ``"valid"`` (checks against a trusted key), ``"untrusted"`` (intact,
    but its key is not among the trusted ones, or none were given), or ``"invalid"`` (tampered).
    """

    state: str
    key_id: Optional[str] = None

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
        for start in range(0, len(u), chunk):
            out[start:start + chunk] = forward_numpy(self.params, self.config, u[start:start + chunk])
        return out.reshape(rgb.shape)

    def bake(self, size: Optional[int] = None) -> LUT3D:
        """Dense cube of ``size``³ (default: the source's grid) over the same domain, shaper kept:
        the fallback every host can use."""
        size = size or self.size
        table = self.apply_lattice(size)
        return LUT3D(table, self.domain_min, self.domain_max, shaper=self.shaper, title=self.title,
                     comments=[f"baked by lutplug {__version__} from .nlut {self.content_hash[:16]}"])

    def apply_lattice(self, size: int) -> np.ndarray:
        """Network output at every node of a ``size``³ lattice, float32 (size, size, size, 3)."""
        u = lattice(size)
        return forward_numpy(self.params, self.config, u).reshape(size, size, size, 3)

    # -- storage --------------------------------------------------------------------------
    def tensors(self) -> Dict[str, np.ndarray]:
        out = {_MODEL_PREFIX + k: v for k, v in self.params.items()}
        if self.shaper is not None:
            out[_SHAPER] = _shaper_tensor(self.shaper)
        return out

    def to_bytes(self) -> bytes:
        """Unsigned .nlut bytes."""
        desc = {k: v for k, v in self.description.items() if v not in ("", {}, None)}
        model = {k: v for k, v in self.config.items() if k != "quant"}  # quant: derivable
        desc.update({"format": "nlut", "model": model,
                     "domain": [self.domain_min.tolist(), self.domain_max.tolist()]})
        if self.shaper is not None:
            desc["shaper_domain"] = [self.shaper.domain_min.tolist(), self.shaper.domain_max.tolist()]
        else:
            desc.pop("shaper_domain", None)
        return container.encode(self.tensors(), desc)

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


def _floats3(value, field: str, source: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise LutError(f"description field {field!r} must hold 3 numbers", source) from None
    if not np.all(np.isfinite(arr)):
        raise LutError(f"description field {field!r} is not finite", source)
    return arr


def from_bytes(data: bytes, source: str = ".nlut", trusted_keys: Sequence = (),
               require_signature: bool = False) -> NeuralLUT:
    """Decode .nlut bytes.

    With ``trusted_keys`` (Ed25519 public keys) a signed file must verify against one of them and
    an unsigned one is refused when ``require_signature``. A signature that does not verify is
    always refused (:class:`SignatureError`).
    """
    c = container.decode(data, source)
    status = check_signature(c, trusted_keys)
    if status.state == "invalid":
        raise SignatureError("signature does not match the contents: the file was altered after "
                             "signing", source)
    if require_signature and status.state == "unsigned":
        raise UnsignedError("file is not signed but a signature is required", source)
    if trusted_keys and status.state == "untrusted":
        raise SignatureError(f"signed by key {status.key_id}, which is not trusted", source)
    return _interpret(c, source, status)


def check_signature(c: "container.Container", trusted_keys: Sequence = ()) -> SignatureStatus:
    """Check a decoded container's signature (see :class:`SignatureStatus`)."""
    if c.signature is None:
        return SignatureStatus("unsigned")
    from lutplug.codec import signing

    kid = signing.key_id(c.public_key)
    try:
        embedded = signing.public_from_raw(c.public_key)
    except LutError:
        return SignatureStatus("invalid", kid)
    if not signing.verify(embedded, c.signed_part, c.signature):
        return SignatureStatus("invalid", kid)
    trusted = {signing.public_raw(k) for k in trusted_keys}
    return SignatureStatus("valid" if c.public_key in trusted else "untrusted", kid)


def _interpret(c: "container.Container", source: str, status: SignatureStatus) -> NeuralLUT:
    d = c.description
    if d.get("format") != "nlut":
        raise LutError("description does not describe an nlut", source)
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
    params = {k[len(_MODEL_PREFIX):]: v for k, v in c.tensors.items() if k.startswith(_MODEL_PREFIX)}
    for k, v in params.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise LutError(f"tensor {k!r} holds NaN or infinite values", source)
    _check_params(config, params, source)
    shaper = None
    if _SHAPER in c.tensors:
        try:
            sd = d["shaper_domain"]
            shaper = LUT1D(c.tensors[_SHAPER].astype(np.float32), _floats3(sd[0], "shaper_domain", source),
                           _floats3(sd[1], "shaper_domain", source), source=source)
        except (KeyError, IndexError, TypeError):
            raise LutError("file has a shaper but no valid 'shaper_domain'", source) from None
        except LutError as exc:
            raise exc.with_path(source) from None
    return NeuralLUT(config, params, dmin, dmax, shaper, d, status, c.content_hash, source)


_LIMITS = {"in_curve": 4096, "out_curve": 4096, "fourier": 12}
_CHOICES = {"act": ("relu", "silu", "tanh", "sin"), "skip": ("identity", "linear", "none")}
_KNOWN_KEYS = {"format", "version", "in_curve", "out_curve", "fourier", "hidden", "act", "skip",
               "center", "minmax", "quant"}


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
    unknown = set(config) - _KNOWN_KEYS
    if unknown:  # a newer writer's feature this reader would silently ignore: refuse
        raise ValueError(f"unknown network settings {sorted(unknown)}")


def _check_params(config: dict, params: Dict[str, np.ndarray], source: str) -> None:
    """Refuse a configuration or tensors that disagree with the architecture, before evaluating
    anything: every tensor present with its exact shape, quantised ones with a matching scale."""
    try:
        _check_config(config)
        expected = param_shapes(config)
        seen = set()
        for name, shape in expected.items():
            if name in params:
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
                if not np.all(np.isfinite(scale)):
                    raise ValueError(f"{name}.s holds NaN or infinite values")
                seen.update((name + ".q", name + ".s"))
            else:
                raise ValueError(f"tensor {name} is missing")
            if tuple(arr.shape) != tuple(shape):
                raise ValueError(f"{name} has shape {tuple(arr.shape)}, the network needs {shape}")
        extra = set(params) - seen
        if extra:
            raise ValueError(f"unexpected tensors {sorted(extra)}")
    except (ValueError, KeyError, TypeError) as exc:
        raise LutError(f"network does not match its configuration: {exc}", source) from None


def load_nlut(path: PathLike, trusted_keys: Sequence = (), require_signature: bool = False) -> NeuralLUT:
    """Read a .nlut file (see :func:`from_bytes` for the trust rules)."""
    data = read_bytes(path, MAX_NLUT_BYTES)
    return from_bytes(data, str(path), trusted_keys, require_signature)


def sign_file(path: PathLike, private_key, output: Optional[PathLike] = None) -> str:
    """Sign (or re-sign) a .nlut in place or into ``output``; returns the key id."""
    from lutplug.codec import signing

    data = read_bytes(path, MAX_NLUT_BYTES)
    raw_public = signing.public_raw(private_key.public_key())
    signed = container.add_signature(data, raw_public, private_key.sign)
    atomic_write(output or path, signed)
    return signing.key_id(raw_public)


def file_sha256(path: PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()

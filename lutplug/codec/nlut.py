"""A compressed LUT (.nlut): load, evaluate, bake, save, sign — the codec's public face.

Hosts open a file with :func:`open_nlut` (the :class:`NeuralLUT`, the file's facts and one info
text, under the configured trust policy); none of them needs to know how the network is built
(that lives in :mod:`lutplug.codec.model`), how its tensors are stored
(:mod:`lutplug.codec.layout`) or how signatures are checked (:mod:`lutplug.codec.signature`).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import importlib.util
import json
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from lutplug import __version__
from lutplug.codec import container, layout, signature, trust
from lutplug.codec.model import describe, forward_numpy, forward_numpy_lattice, lattice_nodes, lattice_read, n_params
from lutplug.codec.signature import SIGNER_FIELD, SignatureStatus
from lutplug.core.lut import LUT1D, LUT3D, MAX_GRID_3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write, read_bytes

#: Largest .nlut accepted on read (they are a few KB).
MAX_NLUT_BYTES = 16 << 20
#: Bytes of a float32 33³ cube, the usual uncompressed reference for compression ratios.
FLOAT32_33_BYTES = 33 ** 3 * 3 * 4
#: What :func:`from_bytes` and friends accept as trust: a trust store, public keys, or nothing.
Trust = Union[None, trust.TrustStore, Tuple[Any, ...], List[Any]]

__all__ = ["NeuralLUT", "SignatureStatus", "SIGNER_FIELD", "MAX_NLUT_BYTES", "FLOAT32_33_BYTES",
           "from_bytes", "from_bytes_unverified", "signature_status", "load_nlut", "sign_file",
           "open_nlut", "OpenedNlut", "is_nlut_path", "utc_now"]


class NeuralLUT:
    """A decoded .nlut: the network, its input domain, an optional shaper and the description.

    Evaluation (:meth:`apply`) is numpy only. ``input_domain`` / ``apply`` make it usable wherever
    a :class:`~lutplug.core.lut.LUT3D` is (quality reports, bake, hosts).
    """

    def __init__(self, config: dict, params: Dict[str, np.ndarray], domain_min: Any, domain_max: Any,
                 shaper: Optional[LUT1D] = None, description: Optional[dict] = None,
                 signature: Optional[SignatureStatus] = None, content_hash: str = "",
                 source: Optional[str] = None):
        self.config = config
        self.params = params
        self.domain_min = np.asarray(domain_min, dtype=np.float64).reshape(3)
        self.domain_max = np.asarray(domain_max, dtype=np.float64).reshape(3)
        self.shaper = shaper
        self.description: dict = description or {}
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
        evaluate: Callable[[np.ndarray], np.ndarray]
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
        """The stored tensors (see :func:`lutplug.codec.layout.stored_tensors`)."""
        return layout.stored_tensors(self.config, self.params, self.shaper)

    def to_bytes(self) -> bytes:
        """Unsigned .nlut bytes, format version 3 (docs/nlut-format.md): reading them back and
        writing again gives the same bytes."""
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
        return container.encode(self.tensors(), desc)

    def save(self, path: PathLike) -> int:
        """Write an unsigned .nlut atomically; returns its size in bytes."""
        data = self.to_bytes()
        atomic_write(path, data)
        self.content_hash = container.content_hash(data)
        return len(data)


# ----------------------------------------------------------------------------- reading

def _layout_check(source: str, data: bytes) -> container.LayoutCheck:
    """The ``check`` container.decode runs before inflating tensor data, for the format version
    in the header ``data`` begins with (:func:`container.split` checked it)."""
    return lambda description, specs: layout.check_nlut(description, specs, source, data[4])


def _interpret(c: container.Container, source: str, status: SignatureStatus) -> NeuralLUT:
    """Build the NeuralLUT of a container whose layout :func:`layout.check_nlut` accepted."""
    d = c.description
    layout.check_finite(c.tensors, source)
    dmin, dmax = layout.domain_pair(d, "domain", source)
    params = layout.stored_params(d["model"], c.tensors, c.version)
    layout.check_integers(d["model"], params, source)
    shaper = None
    if layout.SHAPER in c.tensors:
        lo, hi = layout.domain_pair(d, "shaper_domain", source)
        try:
            shaper = LUT1D(c.tensors[layout.SHAPER].astype(np.float32), lo, hi, source=source)
        except LutError as exc:
            raise exc.with_path(source) from None
    return NeuralLUT(d["model"], params, dmin, dmax, shaper, d, status, c.content_hash, source)


def from_bytes(data: bytes, source: str = ".nlut", trusted_keys: Trust = (),
               require_signature: bool = False, today: Optional[_dt.date] = None) -> NeuralLUT:
    """Decode .nlut bytes.

    ``trusted_keys``: a :class:`~lutplug.codec.trust.TrustStore` or Ed25519 public keys. With
    trusted keys a signed file must verify against one of them (and the key must not have
    expired, :class:`~lutplug.errors.ExpiredKeyError`), else
    :class:`~lutplug.errors.UntrustedKeyError`; an unsigned file is refused
    (:class:`~lutplug.errors.UnsignedError`) when ``require_signature`` or the store requires
    signatures. Always refused: a signature that does not match
    (:class:`~lutplug.errors.SignatureError`), a stripped one, one by another key than the file
    names. The signature is checked before the payload is inflated.
    """
    store = trust.as_store(trusted_keys, require_signature)
    c, status = signature.read_container(data, source, container.NLUT, store,
                                         _layout_check(source, data), today)
    return _interpret(c, source, status)


def from_bytes_unverified(data: bytes, source: str = ".nlut") -> NeuralLUT:
    """Decode .nlut bytes without checking a signature (for hosts whose Python lacks the
    cryptography package): the structure is checked as usual; a signed file comes back with
    state ``"unverified"``. Never use it where a signature is required."""
    c, status = signature.read_unverified(data, source, container.NLUT, _layout_check(source, data))
    return _interpret(c, source, status)


def signature_status(data: bytes, source: str = ".nlut", trusted_keys: Trust = (),
                     today: Optional[_dt.date] = None
                     ) -> Tuple[SignatureStatus, Optional[container.Container]]:
    """(status, decoded container) of .nlut bytes, refusing nothing but malformed structure
    (:class:`LutError`; :class:`~lutplug.errors.StrippedSignatureError` when the header says
    signed and the signature block is gone). A signature that does not match is reported
    before anything of the payload is parsed (the container is then None). What ``lutplug
    verify`` reports."""
    return signature.inspect_container(data, source, container.NLUT, trust.as_store(trusted_keys),
                                       _layout_check(source, data), today)


def load_nlut(path: PathLike, trusted_keys: Trust = (), require_signature: bool = False) -> NeuralLUT:
    """Read a .nlut file (see :func:`from_bytes` for the trust rules)."""
    data = read_bytes(path, MAX_NLUT_BYTES)
    return from_bytes(data, str(path), trusted_keys, require_signature)


def sign_file(path: PathLike, private_key: Any, output: Optional[PathLike] = None,
              resign: bool = False) -> str:
    """Sign a .nlut in place or into ``output``; returns the key id.

    The file is first made to name its signer (``"signer"`` in the description, inside the
    signed bytes: a new content hash the first time). A file that already names another signer
    is refused unless ``resign`` (then it names the new one). The signature must verify first."""
    data = read_bytes(path, MAX_NLUT_BYTES)
    return signature.sign_checked(data, str(path), container.NLUT, _layout_check(str(path), data),
                                  private_key, path, output, resign)


def is_nlut_path(path: PathLike) -> bool:
    """True when ``path`` is meant as a .nlut: its extension says so, or its first bytes are the
    .nlut magic (a file named .nlut that is not one is then refused as such, not read as a LUT)."""
    if Path(path).suffix.lower() == ".nlut":
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == container.MAGIC
    except (OSError, ValueError):
        return False


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second (provenance ``created``)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ----------------------------------------------------------------------------- hosts' one way in

def has_cryptography() -> bool:
    """Whether this Python can check Ed25519 signatures (the cryptography package imports)."""
    if importlib.util.find_spec("cryptography") is None:
        return False
    try:
        import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or a broken binary wheel
        return False
    return True


@dataclasses.dataclass
class OpenedNlut:
    """A .nlut opened by a host: the decoded :class:`NeuralLUT` and the facts of its file.

    ``file_bytes``/``sha256``: the file's size and SHA-256; ``format_version``: its header's
    version byte; ``warnings``: what the host must show (e.g. a signature left unchecked)."""

    nlut: NeuralLUT
    path: str
    file_bytes: int
    sha256: str
    format_version: int
    warnings: List[str] = dataclasses.field(default_factory=list)

    @property
    def signature(self) -> SignatureStatus:
        return self.nlut.signature

    @property
    def content_hash(self) -> str:
        return self.nlut.content_hash

    def as_dict(self) -> dict:
        """The facts as JSON-able values (``lutplug info --json``)."""
        n = self.nlut
        d = n.description
        prov = d.get("provenance", {}) or {}
        out = {"file": self.path, "format": "nlut", "format_version": self.format_version,
               "bytes": self.file_bytes, "sha256": self.sha256, "content_hash": n.content_hash,
               "signature": n.signature.state, "key_id": n.signature.key_id, "title": n.title,
               "parameters": n_params(n.config), "network": describe(n.config),
               "domain_min": n.domain_min.tolist(), "domain_max": n.domain_max.tolist(),
               "shaper": None if n.shaper is None else {"size": n.shaper.size,
                                                        "domain_min": n.shaper.domain_min.tolist(),
                                                        "domain_max": n.shaper.domain_max.tolist()},
               "colorspace": d.get("colorspace", {}), "provenance": prov,
               "quality": d.get("quality", {}),
               "ratio_vs_float32_33": round(FLOAT32_33_BYTES / self.file_bytes, 1)}
        if prov.get("source_bytes"):
            out["ratio_vs_source"] = round(prov["source_bytes"] / self.file_bytes, 1)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> str:
        """One line: the file, its size, quality and signature (a dialog's status line)."""
        q = self.nlut.description.get("quality", {}) or {}
        quality = (f"ΔE00 mean {q.get('de_mean')} / p99 {q.get('de_p99', '?')}"
                   if q.get("de_mean") is not None else "quality not measured")
        return " · ".join((Path(self.path).name, f".nlut, {_size_text(self.file_bytes)}", quality,
                           f"signature: {self.signature.text()}"))

    def summary_lines(self) -> List[str]:
        """The info text every host shows (CLI ``info``, GIMP, Nuke, OCIO, widgets): one
        ``label: value`` line each for the file, title, provenance, network, domain, shaper,
        quality, colour tags, signature and warnings."""
        n, d = self.nlut, self.as_dict()
        prov, q, cs = d["provenance"], d["quality"], d["colorspace"]
        ratios = f"{d['ratio_vs_float32_33']}:1 vs a float32 33^3 cube"
        if "ratio_vs_source" in d:
            ratios = f"{d['ratio_vs_source']}:1 vs its source, " + ratios
        lines = [("source", f"{Path(self.path).name} (.nlut v{self.format_version}, "
                            f"{self.file_bytes:,} bytes; {ratios})")]
        if n.title:
            lines.append(("title", n.title))
        if prov.get("source"):
            size = prov.get("source_bytes")
            counted = f"{size:,} bytes, " if isinstance(size, int) else ""
            digest = prov.get("source_sha256")
            lines.append(("made from", f"{prov['source']} ({prov.get('grid', '?')}^3, {counted}"
                                       + (f"sha256 {str(digest)[:16]}…)" if digest else "sha256 unknown)")))
        if prov:
            lines.append(("made", f"{prov.get('created', '?')} by lutplug {prov.get('lutplug', '?')}, "
                                  f"settings {json.dumps(prov.get('settings', {}), sort_keys=True)}"))
            lines.append(("lineage", f"parent {prov.get('parent') or 'none'}; this "
                                     f"{n.content_hash[:16]}…"))
        lines.append(("network", d["network"]))
        lines.append(("domain", f"{_fmt3(d['domain_min'])} .. {_fmt3(d['domain_max'])}"))
        if d["shaper"]:
            s = d["shaper"]
            lines.append(("shaper", f"1D, {s['size']} entries, {_fmt3(s['domain_min'])} .. "
                                    f"{_fmt3(s['domain_max'])}"))
        if q:
            met = q.get("meets_target")
            lines.append(("quality", f"ΔE00 mean {q.get('de_mean', '?')}  p99 {q.get('de_p99', '?')}  "
                                     f"max {q.get('de_max', '?')}  PSNR {q.get('psnr', '?')} dB"
                          + ("" if met is None else f"  (meets target: {'yes' if met else 'NO'})")))
        else:
            lines.append(("quality", "not measured"))
        if cs:
            lines.append(("colour", f"{cs.get('input', '?')} -> {cs.get('output', '?')}"))
        lines.append(("signature", self.signature.text()))
        lines += [("WARNING", w) for w in self.warnings]
        return [f"{label + ':':<11}{value}" for label, value in lines]


def _fmt3(v: Any) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in v) + ")"


def _size_text(n: int) -> str:
    return f"{n} bytes" if n < 10_000 else f"{n / 1024:.0f} KB"


def open_nlut(path: PathLike, policy: Optional[trust.TrustStore] = None, *,
              from_environment: bool = True, data: Optional[bytes] = None) -> OpenedNlut:
    """The one way a host opens a .nlut: read it (``data``, when the host has the bytes already),
    check it under the trust ``policy`` merged with the one the environment configures
    (:func:`lutplug.codec.trust.from_env`, unless ``from_environment`` is False), decode it, and
    return it with its facts.

    Where the cryptography package is missing (some hosts' own Python), a signed file is read
    unverified with a warning, unless a policy asks for trusted signatures (then it is refused:
    nothing can be checked). Raises :class:`LutError` (or a subclass) naming the file."""
    source = str(path)
    raw = read_bytes(path, MAX_NLUT_BYTES) if data is None else bytes(data)
    store = trust.merge([policy, trust.from_env() if from_environment else None])
    signed_part, _, key, sig = container.split(raw, source, container.NLUT)
    warnings: List[str] = []
    if sig is not None and not has_cryptography():
        if store is not None:
            raise LutError("a trusted signature is required (trust policy: "
                           f"{store.source or 'trusted keys'}), but the cryptography package is not "
                           "available in this Python, so it cannot be checked", source)
        nlut = from_bytes_unverified(raw, source)
        warnings.append("signature NOT checked: the cryptography package is not available in "
                        "this Python")
    else:
        nlut = from_bytes(raw, source, store or ())
    return OpenedNlut(nlut, source, len(raw), hashlib.sha256(raw).hexdigest(), signed_part[4],
                      warnings)

"""Host-free core of the GIMP filter (numpy only; runs inside GIMP's own Python).

* :func:`load_source` opens the file the user picked — a .nlut (signature policy applied) or any
  LUT file lutplug reads without OpenColorIO/OpenImageIO (.cube, .3dl, .spi3d, .spi1d, .csp; Hald
  and lookup-strip images when the caller can decode images, as GIMP can) — and describes it.
* :meth:`Source.kernel` picks the evaluator: the .nlut's network (``mlp``), or a dense cube
  (``cube``: a .nlut is baked to 65³ like ``lutplug apply`` does; a LUT file is used as it is).
  ``auto`` runs the network when the area is no larger than the bake itself (65³ = 274 625
  pixels: exact and no slower), else the baked cube.
* :class:`TetrahedralKernel` is the fast dense-cube evaluator: float32 channel planes holding
  the node values and precomputed edge differences (one gather and one multiply-add per
  tetrahedron vertex), branch-free tetrahedron selection through an 8-entry table, only 1-D
  operations with scalar operands, worked in cache-sized pieces on several threads (numpy
  releases the GIL). It matches :func:`lutplug.core.interpolate.tetrahedral` to float32
  rounding, for about a tenth of its CPU time (benchmarks/gimp_speed.py prints both).
* :class:`Runner` applies a kernel to a block of RGBA/RGB float pixels, with strength.
* :class:`LutCache` keeps parsed LUT files (keyed by content) so a big .cube is parsed once.

Nothing here imports GIMP; :mod:`lutplug.hosts.gimp.plugin.lutplug_apply` does the GIMP side.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np

from lutplug.errors import LutError

#: Size of the cube a .nlut is baked to (the same as ``lutplug apply``'s cube engine).
NLUT_CUBE_SIZE = 65
#: ``auto`` runs the network itself up to this many pixels (the cost of baking the cube).
AUTO_MLP_MAX_PIXELS = NLUT_CUBE_SIZE ** 3
#: Pixels per kernel call: the working set (a few arrays of this many rows) stays in L2 cache.
PIECE = 8192
#: Largest packed difference table (bytes); bigger cubes use the plain packed table.
MAX_DIFF_TABLE_BYTES = 128 << 20
#: Environment: trusted public keys (PEM files, os.pathsep-separated) and "1" to refuse unsigned
#: .nlut files. Added to what ``settings.json`` in the plug-in folder says.
ENV_TRUSTED_KEYS = "LUTPLUG_TRUSTED_KEYS"
ENV_REQUIRE_SIGNATURE = "LUTPLUG_REQUIRE_SIGNATURE"
ENV_TRUST = "LUTPLUG_TRUST"
SETTINGS_FILE = "settings.json"

#: Extensions of LUT images (decoded by the caller's ``image_reader``, e.g. GIMP's file loaders).
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff")
_FLOAT32_33_BYTES = 33 ** 3 * 3 * 4


class EngineError(LutError):
    """The engine argument does not fit the file (a bad argument, not a bad file)."""


# ------------------------------------------------------------------------------- kernels --

class TetrahedralKernel:
    """Tetrahedral interpolation of a :class:`~lutplug.core.lut.LUT3D` (shaper and domain
    included), fast in pure numpy.

    ``kernel.apply(src, dst, strength)`` reads float32 pixels (m, C), C >= 3, and writes
    ``rgb + strength * (lut(rgb) - rgb)`` into channels 0..2 of ``dst`` (which may be ``src``
    itself; other channels are left to the caller). Every step is a 1-D
    numpy operation with scalar operands (no broadcasting over a length-3 axis, which numpy runs
    as a slow inner loop), on channel planes.
    """

    def __init__(self, lut):
        table = np.ascontiguousarray(lut.table, dtype=np.float32)
        n = int(table.shape[0])
        self.n = n
        n3 = n ** 3
        flat = table.reshape(n3, 3)
        steps = (1, n, n * n)
        self.diff = 3 * 4 * n3 * 4 <= MAX_DIFF_TABLE_BYTES
        # One float32 plane per output channel. Diff mode: [values | d/dr | d/dg | d/db], the
        # edge differences at every node (the far edge is never read: lattice indices stop at
        # n-2 along the axis of a step), so a vertex costs one gather and one multiply-add.
        self._planes = []
        for c in range(3):
            if self.diff:
                plane = np.zeros(4 * n3, np.float32)
                plane[:n3] = flat[:, c]
                for a, s in enumerate(steps):
                    lo = (a + 1) * n3
                    plane[lo:lo + n3 - s] = flat[s:, c] - flat[:n3 - s, c]
            else:
                plane = np.ascontiguousarray(flat[:, c])
            self._planes.append(plane)
        # For each ordering code ((fr>=fg) | (fg>=fb)<<1 | (fr>=fb)<<2) the tetrahedron's path:
        # axes by descending fraction (a, b, c). Diff mode: offsets of the three differences to
        # add; plain mode: offsets of vertices 1, 2 and 3.
        o1, o2, o3 = (np.zeros(8, np.intp) for _ in range(3))
        for code in range(8):
            a, b, c = _order_for_code(code)
            if self.diff:
                o1[code] = (a + 1) * n3
                o2[code] = (b + 1) * n3 + steps[a]
                o3[code] = (c + 1) * n3 + steps[a] + steps[b]
            else:
                o1[code] = steps[a]
                o2[code] = steps[a] + steps[b]
                o3[code] = steps[0] + steps[1] + steps[2]
        self._o1, self._o2, self._o3 = o1, o2, o3
        # input (after the shaper) -> lattice position x = v * scale + offset, per channel
        dmin = np.asarray(lut.domain_min, np.float64)
        dmax = np.asarray(lut.domain_max, np.float64)
        scale = (n - 1) / (dmax - dmin)
        self._scale = [np.float32(v) for v in scale]
        self._offset = [np.float32(v) for v in -dmin * scale]
        self._shaper = _ShaperKernel(lut.shaper) if lut.shaper is not None else None

    def lattice_position(self, v: np.ndarray, c: int):
        """Channel c of the input (m,) -> (lower node index int32, fraction float32)."""
        n = self.n
        if self._shaper is not None:
            x = self._shaper(v, c)
            x *= self._scale[c]
        else:
            x = np.multiply(v, self._scale[c], dtype=np.float32)
        x += self._offset[c]
        np.fmax(x, np.float32(0.0), out=x)      # fmax/fmin also send NaN to the low edge
        np.fmin(x, np.float32(n - 1), out=x)
        i = x.astype(np.int32)
        np.minimum(i, np.int32(n - 2), out=i)
        x -= i
        return i, x

    def apply(self, src: np.ndarray, dst: np.ndarray, strength: float = 1.0) -> None:
        n = self.n
        m = src.shape[0]
        (ir, fr), (ig, fg), (ib, fb) = (self.lattice_position(src[:, c], c) for c in range(3))
        base = ib.astype(np.intp)
        base *= n * n
        ig = ig.astype(np.intp)
        ig *= n
        base += ig
        base += ir
        code = np.greater_equal(fr, fg).view(np.uint8).astype(np.intp)
        code += np.greater_equal(fg, fb).view(np.uint8) * np.intp(2)
        code += np.greater_equal(fr, fb).view(np.uint8) * np.intp(4)
        fmax = np.maximum(fr, fg)
        np.maximum(fmax, fb, out=fmax)
        fmin = np.minimum(fr, fg)
        np.minimum(fmin, fb, out=fmin)
        fmid = fr + fg
        fmid += fb
        fmid -= fmax
        fmid -= fmin
        i1 = self._o1.take(code)
        i1 += base
        i2 = self._o2.take(code)
        i2 += base
        i3 = self._o3.take(code)
        i3 += base
        res = np.empty(m, np.float32)
        tmp = np.empty(m, np.float32)
        tmp2 = np.empty(m, np.float32) if not self.diff else None
        for c in range(3):
            p = self._planes[c]
            p.take(base, out=res)
            if self.diff:   # c0 + fmax d1 + fmid d2 + fmin d3
                p.take(i1, out=tmp)
                tmp *= fmax
                res += tmp
                p.take(i2, out=tmp)
                tmp *= fmid
                res += tmp
                p.take(i3, out=tmp)
                tmp *= fmin
                res += tmp
            else:           # (1-fmax) c0 + (fmax-fmid) c1 + (fmid-fmin) c2 + fmin c3
                res *= np.float32(1.0) - fmax
                p.take(i1, out=tmp)
                np.subtract(fmax, fmid, out=tmp2)
                tmp *= tmp2
                res += tmp
                p.take(i2, out=tmp)
                np.subtract(fmid, fmin, out=tmp2)
                tmp *= tmp2
                res += tmp
                p.take(i3, out=tmp)
                tmp *= fmin
                res += tmp
            _store(src[:, c], dst[:, c], res, strength)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Evaluate at RGB (m, 3); a new float32 (m, 3) array."""
        rgb = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
        out = np.empty_like(rgb)
        self.apply(rgb, out)
        return out


def _store(column: np.ndarray, target: np.ndarray, res: np.ndarray, strength: float) -> None:
    """target = column + strength * (res - column) (res itself at strength 1; res is spent)."""
    if strength >= 1.0:
        target[...] = res
    else:
        res -= column
        res *= np.float32(strength)
        res += column
        target[...] = res


def _order_for_code(code: int) -> Tuple[int, int, int]:
    """Axes (0=r, 1=g, 2=b) by descending fraction for an ordering code; the two codes no
    ordering produces get any valid path (never used)."""
    want = (bool(code & 1), bool(code & 2), bool(code & 4))
    for perm in itertools.permutations(range(3)):
        rank = [0, 0, 0]
        for r, axis in enumerate(perm):
            rank[axis] = 3 - r
        if (rank[0] >= rank[1], rank[1] >= rank[2], rank[0] >= rank[2]) == want:
            return perm
    return (0, 1, 2)


class _ShaperKernel:
    """Per-channel linear 1D LUT (a LUT3D's shaper): ``shaper(v, c)`` maps channel c's
    values (m,) to a new float32 (m,) array."""

    def __init__(self, shaper):
        table = np.asarray(shaper.table, np.float32)
        m = table.shape[0]
        self.m = m
        dmin = np.asarray(shaper.domain_min, np.float64)
        dmax = np.asarray(shaper.domain_max, np.float64)
        scale = (m - 1) / (dmax - dmin)
        self._scale = [np.float32(v) for v in scale]
        self._offset = [np.float32(v) for v in -dmin * scale]
        self._lo = [np.ascontiguousarray(table[:, c]) for c in range(3)]
        self._step = [np.ascontiguousarray(np.append(np.diff(table[:, c]), np.float32(0)))
                      for c in range(3)]

    def __call__(self, v: np.ndarray, c: int) -> np.ndarray:
        x = np.multiply(v, self._scale[c], dtype=np.float32)
        x += self._offset[c]
        np.fmax(x, np.float32(0.0), out=x)
        np.fmin(x, np.float32(self.m - 1), out=x)
        i = x.astype(np.intp)
        np.minimum(i, self.m - 2, out=i)
        x -= i
        out = self._step[c].take(i)
        out *= x
        out += self._lo[c].take(i)
        return out


class GenericKernel:
    """Any transform with ``apply(rgb) -> rgb`` (a NeuralLUT's network, a trilinear LUT3D)."""

    def __init__(self, transform):
        self.transform = transform

    def apply(self, src: np.ndarray, dst: np.ndarray, strength: float = 1.0) -> None:
        out = np.asarray(self.transform.apply(np.ascontiguousarray(src[:, :3])), np.float32)
        for c in range(3):
            _store(src[:, c], dst[:, c], np.array(out[:, c]), strength)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return np.asarray(self.transform.apply(np.ascontiguousarray(rgb)), np.float32)


def cube_kernel(lut):
    """The fastest exact evaluator of a LUT3D (tetrahedral, or the LUT's own trilinear)."""
    if getattr(lut, "interpolation", "tetrahedral") == "tetrahedral":
        return TetrahedralKernel(lut)
    return GenericKernel(lut)


class Runner:
    """Applies a kernel to float32 pixel blocks on ``threads`` threads.

    ``run(px, strength, out=None)``: ``px`` is float32 (..., C), C = 3 (RGB) or 4 (RGBA, alpha
    kept), C-contiguous, possibly read-only; RGB becomes ``rgb + strength * (kernel(rgb) - rgb)``,
    written into ``out`` (a new array unless given; ``out=px`` works in place). Returns ``out``.
    """

    def __init__(self, kernel, threads: Optional[int] = None, piece: int = PIECE):
        self.kernel = kernel
        self.piece = int(piece)
        self.threads = max(1, int(threads or os.cpu_count() or 1))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _piece(self, src: np.ndarray, dst: np.ndarray, strength: float) -> None:
        self.kernel.apply(src, dst, strength)
        if dst.shape[1] > 3 and not np.may_share_memory(src, dst):
            dst[:, 3:] = src[:, 3:]

    def run(self, px: np.ndarray, strength: float = 1.0, out: Optional[np.ndarray] = None) -> np.ndarray:
        if px.dtype != np.float32 or px.shape[-1] not in (3, 4) or not px.flags.c_contiguous:
            raise ValueError(f"pixels must be C-contiguous float32 (..., 3 or 4), got "
                             f"{px.dtype} {px.shape}")
        if out is None:
            out = np.empty_like(px)
        elif out.shape != px.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError("out must be a C-contiguous float32 array shaped like the pixels")
        src = px.reshape(-1, px.shape[-1])
        dst = out.reshape(-1, px.shape[-1])
        if strength <= 0.0:
            if out is not px:
                dst[...] = src
            return out
        spans = [(s, min(s + self.piece, len(src))) for s in range(0, len(src), self.piece)]
        if self._pool is None or len(spans) == 1:
            for s, e in spans:
                self._piece(src[s:e], dst[s:e], strength)
        else:
            jobs = [self._pool.submit(self._piece, src[s:e], dst[s:e], strength) for s, e in spans]
            for job in jobs:
                job.result()
        return out


# --------------------------------------------------------------------------------- files --

@dataclasses.dataclass
class Trust:
    """Signature policy: trusted public keys (PEM paths) and whether unsigned files are refused."""

    keys: List[str] = dataclasses.field(default_factory=list)
    require_signature: bool = False
    store: Optional[str] = None  # a trust store (lutplug.codec.trust), from $LUTPLUG_TRUST

    @classmethod
    def from_settings(cls, folder: Optional[os.PathLike] = None, environ=None) -> "Trust":
        """The plug-in folder's ``settings.json`` (``trusted_keys``: paths, relative to the
        folder; ``require_signature``), plus ``$LUTPLUG_TRUSTED_KEYS``,
        ``$LUTPLUG_REQUIRE_SIGNATURE=1`` and the trust store ``$LUTPLUG_TRUST``."""
        env = os.environ if environ is None else environ
        keys: List[str] = []
        require = False
        if folder is not None:
            path = Path(folder) / SETTINGS_FILE
            if path.is_file():
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    if not isinstance(data, dict):
                        raise ValueError("not a JSON object")
                except (OSError, ValueError) as exc:
                    raise LutError(f"plug-in settings are unreadable ({exc})", path) from None
                keys += [str(Path(folder) / k) for k in data.get("trusted_keys", [])]
                require = bool(data.get("require_signature", False))
        keys += [k for k in env.get(ENV_TRUSTED_KEYS, "").split(os.pathsep) if k.strip()]
        require = require or env.get(ENV_REQUIRE_SIGNATURE, "") == "1"
        return cls(keys, require, env.get(ENV_TRUST, "").strip() or None)


def has_cryptography() -> bool:
    try:
        import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or a broken binary wheel
        return False
    return True


@dataclasses.dataclass
class Source:
    """A file opened for the filter. ``transform`` is a NeuralLUT (``kind == "nlut"``) or a
    LUT3D (``kind == "lut"``)."""

    path: str
    kind: str
    transform: object
    file_bytes: int
    identity: str                 # .nlut content hash, or sha256 of the LUT file
    signature: str                # human-readable signature status
    warnings: List[str] = dataclasses.field(default_factory=list)
    detail: str = ""              # e.g. how a LUT image was interpreted

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def title(self) -> str:
        return str(getattr(self.transform, "title", "") or "")

    def engine_for(self, engine: str, n_pixels: int) -> str:
        """The evaluator ``engine`` means for this file and area: ``"mlp"`` or ``"cube"``."""
        if engine not in ("auto", "mlp", "cube"):
            raise EngineError(f"unknown engine {engine!r}: use auto, mlp or cube")
        if self.kind != "nlut":
            if engine == "mlp":
                raise EngineError("engine 'mlp' runs a .nlut's network, but this is a plain LUT "
                                  "file: use 'auto' or 'cube'", self.path)
            return "cube"
        if engine == "auto":
            return "mlp" if n_pixels <= AUTO_MLP_MAX_PIXELS else "cube"
        return engine

    def kernel(self, engine: str = "auto", n_pixels: int = 1 << 30):
        """(kernel, description of the engine used) for ``engine`` over ``n_pixels`` pixels."""
        used = self.engine_for(engine, n_pixels)
        t = self.transform
        if self.kind == "nlut" and t.lattice_grid:  # the network only predicts its nodes
            return cube_kernel(t.bake(t.lattice_grid)), f"{t.lattice_grid}^3 residual lattice (exact)"
        if used == "mlp":
            return GenericKernel(t), "network (numpy, exact)"
        if self.kind == "nlut":
            lut = t.bake(NLUT_CUBE_SIZE)
            return cube_kernel(lut), f"{NLUT_CUBE_SIZE}^3 cube baked from the network"
        extra = " + 1D shaper" if t.shaper is not None else ""
        return cube_kernel(t), f"{t.size}^3 cube{extra}, {t.interpolation}"

    def summary(self) -> str:
        """One line for the dialog: what the file is, its quality and signature."""
        parts = [f"{self.name}"]
        t = self.transform
        if self.kind == "nlut":
            q = t.description.get("quality", {}) or {}
            parts.append(f".nlut, {_kb(self.file_bytes)}")
            if q.get("de_mean") is not None:
                parts.append(f"ΔE00 mean {q.get('de_mean')} / p99 {q.get('de_p99', '?')}")
            else:
                parts.append("quality not measured")
            parts.append(f"signature: {self.signature}")
        else:
            parts.append(f"{t.size}^3 LUT{' + shaper' if t.shaper is not None else ''}, "
                         f"{_kb(self.file_bytes)}")
            parts.append("signature: n/a (plain LUT)")
        return " · ".join(parts)

    def info(self) -> str:
        """Several lines: source, provenance, network, quality, colour tags, signature."""
        t = self.transform
        lines = []
        if self.kind == "nlut":
            from lutplug.codec.model import describe

            d = t.description
            prov = d.get("provenance", {}) or {}
            q = d.get("quality", {}) or {}
            cs = d.get("colorspace", {}) or {}
            lines.append(f"source:    {self.name} (.nlut, {self.file_bytes:,} bytes, "
                         f"{_FLOAT32_33_BYTES / max(self.file_bytes, 1):.0f}:1 vs a float32 33^3 "
                         f"cube; content {self.identity[:12]})")
            if self.title:
                lines.append(f"title:     {self.title}")
            if prov.get("source"):
                lines.append(f"made from: {prov['source']} ({prov.get('grid', '?')}^3) by lutplug "
                             f"{prov.get('lutplug', '?')} on {prov.get('created', '?')}")
            cfg = t.config
            lines.append(f"network:   {describe(cfg)}")
            if q:
                lines.append(f"quality:   ΔE00 mean {q.get('de_mean', '?')}  p99 {q.get('de_p99', '?')}  "
                             f"max {q.get('de_max', '?')}  PSNR {q.get('psnr', '?')} dB"
                             + ("" if q.get("meets_target") is None else
                                f" (meets target: {'yes' if q.get('meets_target') else 'NO'})"))
            else:
                lines.append("quality:   not measured")
            if cs:
                lines.append(f"colour:    {cs.get('input', '?')} -> {cs.get('output', '?')}")
            lines.append(f"signature: {self.signature}")
        else:
            lines.append(f"source:    {self.name} ({self.file_bytes:,} bytes, {t.size}^3 LUT"
                         f"{' with a 1D shaper' if t.shaper is not None else ''}; sha256 "
                         f"{self.identity[:12]})")
            if self.title:
                lines.append(f"title:     {self.title}")
            if self.detail:
                lines.append(f"read as:   {self.detail}")
            lines.append("signature: n/a (only .nlut files are signed)")
        for w in self.warnings:
            lines.append(f"WARNING:   {w}")
        return "\n".join(lines)


def _kb(n: int) -> str:
    return f"{n} bytes" if n < 10_000 else f"{n / 1024:.0f} KB"


ImageReader = Callable[[str], Tuple[np.ndarray, str]]


def load_source(path: str, trust: Optional[Trust] = None,
                image_reader: Optional[ImageReader] = None,
                cache: Optional["LutCache"] = None) -> Source:
    """Open ``path`` for the filter; raises :class:`LutError` naming the file and the reason.

    ``image_reader(path) -> (float32 (H, W, 3) pixels in 0..1, depth description)`` decodes
    Hald / lookup-strip images (GIMP passes one built on its own file loaders). ``cache`` keeps
    parsed LUT files (a 65^3 .cube takes about a second to parse, its cached table milliseconds).
    """
    from lutplug.codec.nlut import is_nlut_path

    path = os.fspath(path)
    trust = trust or Trust()
    p = Path(path)
    if not p.exists():
        raise LutError("file not found", path)
    if p.is_dir():
        raise LutError("is a folder, not a LUT file", path)
    if not os.access(path, os.R_OK):
        raise LutError("permission denied (cannot read the file)", path)
    if is_nlut_path(path):
        return _load_nlut(path, trust)
    return _load_lut(path, image_reader, cache)


def _load_nlut(path: str, trust: Trust) -> Source:
    from lutplug.codec import container
    from lutplug.codec import trust as trust_store
    from lutplug.codec.nlut import MAX_NLUT_BYTES, from_bytes, from_bytes_unverified
    from lutplug.fileio import read_bytes

    data = read_bytes(path, MAX_NLUT_BYTES)
    signed = len(data) > 5 and data[:4] == container.MAGIC and bool(data[5] & container.FLAG_SIGNED)
    warnings: List[str] = []
    if signed and not has_cryptography():
        if trust.keys or trust.require_signature or trust.store:
            raise LutError("a verified signature is required, but the cryptography package is "
                           "not available in GIMP's Python, so it cannot be checked "
                           "(reinstall with `lutplug gimp install`, which vendors it)", path)
        nlut = from_bytes_unverified(data, path)  # the structure is still checked
        warnings.append("signature NOT checked: the cryptography package is not available in "
                        "GIMP's Python")
        sig_text = f"NOT checked (signed with key {nlut.signature.key_id}; cryptography unavailable)"
    else:
        keys = []
        if trust.keys:
            if not has_cryptography():
                raise LutError("trusted keys are configured but the cryptography package is not "
                               "available in GIMP's Python to check signatures", path)
            from lutplug.codec.signing import load_public_key

            keys = [load_public_key(k) for k in trust.keys]
        store = trust_store.load_store(trust.store) if trust.store else None
        policy = trust_store.merge([store, trust_store.as_store(keys, trust.require_signature)])
        nlut = from_bytes(data, path, policy or (), trust.require_signature)
        st = nlut.signature
        if st.state == "valid":
            sig_text = f"valid, trusted key {st.key_name or st.key_id}"
        elif st.state == "untrusted":
            sig_text = f"intact, key {st.key_id} (no trusted keys configured: integrity only)"
        else:
            sig_text = "unsigned"
    return Source(path, "nlut", nlut, len(data), nlut.content_hash, sig_text, warnings)


def _load_lut(path: str, image_reader: Optional[ImageReader],
              cache: Optional["LutCache"] = None) -> Source:
    from lutplug.core.formats import detect_format, read_lut
    from lutplug.core.load import as_lut3d
    from lutplug.fileio import read_bytes

    data = read_bytes(path, 1 << 31)
    digest = hashlib.sha256(data).hexdigest()
    if cache is not None:
        hit = cache.get(digest)
        if hit is not None:
            lut, detail = hit
            return Source(path, "lut", lut, len(data), digest, "n/a", [], detail)
    fmt = detect_format(path)
    detail = ""
    if fmt in ("hald", "strip"):
        if image_reader is None:
            raise LutError("LUT images (Hald CLUTs, lookup strips) need an image decoder", path)
        pixels, depth = image_reader(path)
        lut = lut_from_image(pixels, path, depth, strip_only=(fmt == "strip"))
        detail = lut.comments[0] if lut.comments else ""
    elif fmt in ("clf", "ocio"):
        what = ".clf/.ctf files" if fmt == "clf" else "this file type"
        raise LutError(f"reading {what} needs OpenColorIO, which GIMP's Python does not have; "
                       f"convert it once with `lutplug bake {os.path.basename(path)} -o "
                       f"{Path(path).stem}.cube` (or `lutplug compress` for a .nlut)", path)
    else:
        lut = read_lut(path, fmt)
    lut = as_lut3d(lut)
    if cache is not None:
        cache.put(digest, lut, detail)
    return Source(path, "lut", lut, len(data), digest, "n/a", [], detail)


class LutCache:
    """Parsed LUT files, keyed by the SHA-256 of the file's bytes and the lutplug version, as
    .npz files in ``folder`` (at most ``keep`` of them, the least recently used go first).
    A damaged or unreadable entry is ignored (the file is parsed again)."""

    def __init__(self, folder: os.PathLike, keep: int = 32):
        self.folder = Path(folder)
        self.keep = keep

    def _path(self, digest: str) -> Path:
        from lutplug import __version__

        return self.folder / f"{digest[:32]}-{__version__}.npz"

    def get(self, digest: str):
        from lutplug.core.lut import LUT1D, LUT3D

        path = self._path(digest)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("sha256") != digest:
                    return None
                shaper = None
                if "shaper" in z.files:
                    shaper = LUT1D(z["shaper"], z["shaper_domain"][0], z["shaper_domain"][1])
                lut = LUT3D(z["table"], z["domain"][0], z["domain"][1], shaper=shaper,
                            title=meta.get("title", ""), comments=meta.get("comments", []),
                            interpolation=meta.get("interpolation", "tetrahedral"))
            os.utime(path)
            return lut, meta.get("detail", "")
        except Exception:  # noqa: BLE001 - a cache miss, whatever the reason
            return None

    def put(self, digest: str, lut, detail: str = "") -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            meta = {"sha256": digest, "title": lut.title, "comments": list(lut.comments)[:20],
                    "interpolation": lut.interpolation, "detail": detail}
            arrays = {"table": lut.table, "domain": np.stack([lut.domain_min, lut.domain_max]),
                      "meta": np.array(json.dumps(meta))}
            if lut.shaper is not None:
                arrays["shaper"] = lut.shaper.table
                arrays["shaper_domain"] = np.stack([lut.shaper.domain_min, lut.shaper.domain_max])
            final = self._path(digest)
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, final)
            entries = sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)
            for old in entries[:-self.keep] if len(entries) > self.keep else []:
                old.unlink()
        except OSError:
            pass  # a read-only or full cache folder only costs speed


# ---------------------------------------------------------------------------- LUT images --

def _hald_level(width: int, height: int) -> Optional[int]:
    for level in range(2, 17):
        if width == height == level ** 3:
            return level
    return None


def _strip_size(width: int, height: int) -> Optional[int]:
    if 2 <= height <= 256 and width == height * height:
        return height
    return None


def _roughness(table: np.ndarray) -> float:
    return float(sum(np.abs(np.diff(table, axis=a)).mean() for a in range(3)))


def lut_from_image(pixels: np.ndarray, path: str, depth: str = "", strip_only: bool = False):
    """A LUT3D from the RGB pixels (H, W, 3), 0..1, of a LUT image — the same layout rules as
    lutplug's Hald reader: an N²×N horizontal strip; or an L³×L³ square read as a Hald CLUT and as
    an L×L tiled lookup strip, the smoother interpretation winning."""
    from lutplug.core.lut import LUT3D

    px = np.asarray(pixels, np.float32)
    if px.ndim != 3 or px.shape[2] < 3:
        raise LutError(f"a LUT image needs RGB pixels, got shape {px.shape}", path)
    px = px[..., :3]
    if not np.all(np.isfinite(px)):
        raise LutError("image holds NaN or infinite values", path)
    h, w = px.shape[:2]
    n = _strip_size(w, h)
    suffix = f", {depth} image" if depth else ""
    if n is not None:
        table = px.reshape(n, n, n, 3).transpose(1, 0, 2, 3)
        layout = f"horizontal lookup strip ({n}^3){suffix}"
    else:
        level = _hald_level(w, h)
        if level is None:
            raise LutError(f"a {w}x{h} image is neither a Hald CLUT (L^3 x L^3, L=2..16) nor a "
                           f"lookup strip (tiled L^3 x L^3, or N^2 x N)", path)
        n = level * level
        hald = px.reshape(n, n, n, 3)
        tiles = px.reshape(level, n, level, n, 3).transpose(0, 2, 1, 3, 4).reshape(n, n, n, 3)
        if strip_only or _roughness(tiles) < _roughness(hald):
            table = tiles
            layout = f"tiled lookup strip ({level}x{level} tiles, {n}^3){suffix}"
        else:
            table = hald
            layout = f"Hald CLUT level {level} ({n}^3){suffix}"
    try:
        return LUT3D(np.ascontiguousarray(table), comments=[layout], source=str(path))
    except LutError as exc:
        raise exc.with_path(path) from None


def describe(path: str, trust: Optional[Trust] = None,
             image_reader: Optional[ImageReader] = None) -> str:
    """The dialog's info line for ``path`` (never raises)."""
    if not path:
        return "Choose a .nlut or LUT file (.cube, .3dl, .spi3d, .spi1d, .csp, Hald .png)"
    try:
        return load_source(path, trust, image_reader).summary()
    except LutError as exc:
        return f"ERROR: {exc}"
    except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
        return f"ERROR: {path}: {type(exc).__name__}: {exc}"


def error_text(exc: BaseException, path: str) -> str:
    """The message GIMP shows for a failure: always names the file and the reason."""
    if isinstance(exc, LutError):
        text = str(exc)
        return text if (path and path in text) else f"{path}: {text}"
    if isinstance(exc, MemoryError):
        return f"{path}: not enough memory to load it"
    return f"{path}: {type(exc).__name__}: {exc}"


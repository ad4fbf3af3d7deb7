"""Load the file a LutPlug node points at (host-free, numpy only): the .nlut or LUT, its BlinkScript
kernel, the dense cube baked into a cache named by content hash, and the info-panel text.

Nothing here raises for a bad file: :func:`load_source` returns a :class:`LoadedSource` whose
``error`` says what is wrong, so the node can show Nuke's error state and pass pixels through.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import List, Optional, Sequence

#: Cube sizes offered by the node ("auto": 65³ for a .nlut, the LUT's own grid for a LUT file).
CUBE_SIZES = ("auto", "17", "33", "65", "129")
AUTO_NLUT_CUBE = 65
#: Environment: cache folder for baked cubes; trusted public keys (PEM paths, os.pathsep-separated);
#: refuse unsigned .nlut files when set to 1. A trust store in $LUTPLUG_TRUST (lutplug.codec.trust)
#: is honoured as well.
ENV_CACHE = "LUTPLUG_NUKE_CACHE"
ENV_TRUSTED_KEYS = "LUTPLUG_TRUSTED_KEYS"
ENV_REQUIRE_SIGNATURE = "LUTPLUG_REQUIRE_SIGNATURE"
_FLOAT32_33_BYTES = 33 ** 3 * 3 * 4


@dataclasses.dataclass
class LoadedSource:
    """What the node needs from its file. ``ok`` False means: pass pixels through, show ``error``."""

    path: str = ""
    ok: bool = False
    error: str = ""
    kind: str = ""                 # "nlut" | "lut" | ""
    content_hash: str = ""         # .nlut content hash, or sha256 of a LUT file's bytes
    kernel: str = ""               # BlinkScript source ("" without a network)
    cube_path: str = ""            # baked dense cube (absolute path)
    cube_size: int = 0
    title: str = ""
    info: str = "no file loaded"
    warnings: List[str] = dataclasses.field(default_factory=list)

    @property
    def has_mlp(self) -> bool:
        return bool(self.kernel)


def cache_root() -> Path:
    """Folder holding baked cubes: ``$LUTPLUG_NUKE_CACHE``, else the user cache folder."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lutplug" / "nuke"


def trusted_keys_from_env() -> List[str]:
    return [p for p in os.environ.get(ENV_TRUSTED_KEYS, "").split(os.pathsep) if p.strip()]


def _has_cryptography() -> bool:
    return importlib.util.find_spec("cryptography") is not None


def _load_nlut(path: str, trusted: Sequence[str], require: bool, store=None):
    """Decode a .nlut; returns (NeuralLUT, [warnings]). ``trusted``: PEM paths; ``store``: a
    trust store (``$LUTPLUG_TRUST``). Without the cryptography package a signed file is read
    unverified (and said so) unless a verified signature is required."""
    from lutplug.codec import container, trust
    from lutplug.codec.nlut import MAX_NLUT_BYTES, from_bytes, from_bytes_unverified
    from lutplug.errors import LutError
    from lutplug.fileio import read_bytes

    data = read_bytes(path, MAX_NLUT_BYTES)
    signed = len(data) > 5 and data[:4] == container.MAGIC and bool(data[5] & container.FLAG_SIGNED)
    if signed and not _has_cryptography():
        if trusted or require or store is not None:
            raise LutError("a verified signature is required but the cryptography package is not "
                           "available in this Python, so it cannot be checked", path)
        return from_bytes_unverified(data, path), [
            "signature NOT verified: the cryptography package is not available in this Python"]
    keys = []
    if trusted:
        from lutplug.codec.signing import load_public_key

        keys = [load_public_key(k) for k in trusted]
    policy = trust.merge([store, trust.as_store(keys, require)])
    return from_bytes(data, path, policy or (), require), []


def _bake(transform, size: Optional[int], folder: Path, stem: str, reuse: bool = True) -> Path:
    """Write the dense cube (shaper kept) into ``folder`` as ``stem.cube`` (``stem.clf`` when a .cube
    cannot hold it: per-channel shaper ranges, or a trilinear cube — OpenColorIO reads a CLF's own
    interpolation); with ``reuse`` an existing file is kept (content-addressed cache names)."""
    from lutplug.core.formats import write_lut
    from lutplug.errors import LutError
    from lutplug.evaluate.load import to_cube

    folder.mkdir(parents=True, exist_ok=True)
    for ext in (".cube", ".clf"):
        existing = folder / (stem + ext)
        if reuse and existing.is_file() and existing.stat().st_size > 0:
            return existing
    cube = to_cube(transform, size)
    target = folder / f"{stem}.{'cube' if cube.interpolation == 'tetrahedral' else 'clf'}"
    try:
        write_lut(cube, target)
    except LutError:  # per-channel shaper ranges: CLF holds them (OCIOFileTransform reads it)
        target = folder / f"{stem}.clf"
        write_lut(cube, target)
    return target


def load_source(path: str, cube_size: str = "auto", cache_dir: Optional[Path] = None,
                trusted_keys: Optional[Sequence[str]] = None,
                require_signature: Optional[bool] = None, cube_dir: Optional[Path] = None,
                cube_stem: str = "") -> LoadedSource:
    """Load ``path`` (a .nlut or any LUT lutplug reads) for a LutPlug node and bake its cube: into
    the cache (``cache_dir`` or :func:`cache_root`, a folder named by content hash, reused), or,
    with ``cube_dir``, as ``cube_dir/<cube_stem>.<hash12>.cube`` (written anew). Trust follows
    ``trusted_keys``/``require_signature``, by default the environment (see ``ENV_*``).
    Never raises for a bad file: the result's ``error`` carries the reason."""
    out = LoadedSource(path=str(path or ""))
    if not path:
        return out
    trusted = trusted_keys_from_env() if trusted_keys is None else list(trusted_keys)
    require = (os.environ.get(ENV_REQUIRE_SIGNATURE, "") == "1") if require_signature is None \
        else require_signature
    try:
        from lutplug.codec import trust

        store = trust.from_env() if trusted_keys is None else None
        _load_into(out, str(path), cube_size, cache_dir, trusted, require, cube_dir, cube_stem, store)
    except Exception as exc:  # noqa: BLE001 - any failure becomes the node's error, never a crash
        out.ok = False
        out.kernel = ""
        out.cube_path = ""
        out.error = _reason(exc, str(path))
        out.info = f"ERROR: {out.error}"
    return out


def file_identity(path: str) -> str:
    """The identity :func:`load_source` records: a .nlut's content hash (unchanged by re-signing),
    or the SHA-256 of a LUT file's bytes."""
    from lutplug.codec import container
    from lutplug.codec.nlut import MAX_NLUT_BYTES
    from lutplug.codec.nlut import is_nlut_path
    from lutplug.fileio import read_bytes

    if is_nlut_path(path):
        return container.decode(read_bytes(path, MAX_NLUT_BYTES), path).content_hash
    return hashlib.sha256(read_bytes(path)).hexdigest()


def _reason(exc: BaseException, path: str) -> str:
    from lutplug.errors import LutError

    if isinstance(exc, LutError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{path}: not enough memory to load it"
    return f"{path}: {type(exc).__name__}: {exc}"


def _load_into(out: LoadedSource, path: str, cube_size: str, cache_dir: Optional[Path],
               trusted: Sequence[str], require: bool, cube_dir: Optional[Path], cube_stem: str,
               store=None) -> None:
    from lutplug.codec.blink import kernel_source
    from lutplug.codec.nlut import is_nlut_path
    from lutplug.core.load import load_lut3d
    from lutplug.fileio import read_bytes

    if cube_size not in CUBE_SIZES:
        raise ValueError(f"cube size {cube_size!r} is not one of {', '.join(CUBE_SIZES)}")
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    if is_nlut_path(path):  # a broken .nlut says so
        nlut, warnings = _load_nlut(path, trusted, require, store)
        out.kind, out.content_hash, out.warnings = "nlut", nlut.content_hash, warnings
        out.title = nlut.title
        size = AUTO_NLUT_CUBE if cube_size == "auto" else int(cube_size)
        if nlut.lattice_grid:  # reads like a cube: no network kernel, the cube at its grid
            out.warnings.append(f"{Path(path).name} stores a residual lattice (no network met its "
                                "target): applied as its baked cube")
            size = nlut.bake_size(size) if cube_size == "auto" else size
        else:
            out.kernel = kernel_source(nlut)
        transform = nlut
    else:
        data = read_bytes(path)
        lut = load_lut3d(path)
        out.kind, out.content_hash = "lut", hashlib.sha256(data).hexdigest()
        out.title = lut.title
        size = lut.size if cube_size == "auto" else int(cube_size)
        transform = lut
    out.cube_size = size
    cube: Optional[Path]
    if cube_dir is not None:
        if Path(path).resolve().parent == Path(cube_dir).resolve() and \
                Path(path).name.startswith(f"{cube_stem}.{out.content_hash[:12]}."):
            raise ValueError("the baked cube would overwrite the input file; choose another output")
        cube = _bake(transform, size, Path(cube_dir), f"{cube_stem}.{out.content_hash[:12]}", reuse=False)
    else:
        try:
            cube = _bake(transform, size, root / out.content_hash, f"cube{size}")
        except OSError as exc:
            if out.kind != "nlut":  # a plain LUT has no other engine
                raise
            # the network still runs through BlinkScript; say why the cube engine cannot
            out.warnings.append(f"the dense cube could not be written to {root} ({exc.strerror or exc}): "
                                f"only the GPU MLP engine works; set {ENV_CACHE} to a writable folder")
            cube = None
    out.cube_path = cube.resolve().as_posix() if cube is not None else ""  # forward slashes for Nuke
    out.ok = True
    out.info = info_text(transform, path, out)


def _bytes(n) -> str:
    return f"{int(n):,} bytes"


def info_text(transform, path: str, loaded: LoadedSource) -> str:
    """The node's read-only info panel: source, size, ratio, measured ΔE, colour-space tags,
    signature status, engines."""
    lines = []
    size = os.path.getsize(path) if os.path.isfile(path) else 0
    name = os.path.basename(path)
    if loaded.kind == "nlut":
        from lutplug.codec.model import describe

        d = transform.description
        prov, q, cs = d.get("provenance", {}) or {}, d.get("quality", {}) or {}, d.get("colorspace", {}) or {}
        cfg = transform.config
        lines.append(f"source:     {name}  ({_bytes(size)}, .nlut {loaded.content_hash[:12]})")
        if transform.title:
            lines.append(f"title:      {transform.title}")
        if prov.get("source"):
            ratio = f", {prov['source_bytes'] / size:.0f}:1" if prov.get("source_bytes") and size else ""
            lines.append(f"made from:  {prov['source']}  ({prov.get('grid', '?')}^3, "
                         f"{_bytes(prov.get('source_bytes') or 0)}{ratio})")
        if size:
            lines.append(f"ratio:      {_FLOAT32_33_BYTES / size:.0f}:1 vs a float32 33^3 cube")
        lines.append(f"network:    {describe(cfg)}")
        if q:
            lines.append(f"quality:    dE00 mean {q.get('de_mean', '?')}  p99 {q.get('de_p99', '?')}  "
                         f"max {q.get('de_max', '?')}  PSNR {q.get('psnr', '?')} dB"
                         + ("" if q.get("meets_target") is None else
                            f"  (meets target: {'yes' if q.get('meets_target') else 'NO'})"))
        else:
            lines.append("quality:    not measured")
        lines.append(f"colour:     {cs.get('input', '?')} -> {cs.get('output', '?')}" if cs
                     else "colour:     no colour-space tags")
        lines.append(f"signature:  {_signature_text(transform.signature)}")
    else:
        lines.append(f"source:     {name}  ({_bytes(size)}, {transform.size}^3 LUT, sha256 "
                     f"{loaded.content_hash[:12]})")
        if transform.title:
            lines.append(f"title:      {transform.title}")
        lines.append("network:    none (a plain LUT): dense cube only")
        lines.append("signature:  n/a (only .nlut files are signed)")
    engines = "GPU MLP (BlinkScript, NukeX / Nuke Studio) or " if loaded.has_mlp else ""
    cube = f"dense cube {loaded.cube_size}^3" + (f" ({loaded.cube_path})" if loaded.cube_path else "")
    lines.append(f"engines:    {engines}{cube}")
    lines += [f"WARNING:    {w}" for w in loaded.warnings]
    return "\n".join(lines)


def _signature_text(status) -> str:
    state = getattr(status, "state", "unsigned")
    key = getattr(status, "key_id", None)
    text = {"valid": "valid, signed by a trusted key",
            "untrusted": f"signed and intact; the key is not among the trusted keys ({ENV_TRUSTED_KEYS})",
            "unsigned": "unsigned",
            "unverified": "signed, NOT verified (no cryptography package in this Python)",
            "invalid": "INVALID (altered after signing)"}.get(state, state)
    return text + (f" (key {key})" if key else "")

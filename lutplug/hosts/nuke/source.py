"""Load the file a LutPlug node points at (host-free, numpy only): the .nlut or LUT, its BlinkScript
kernel, the dense cube baked into a cache named by content hash, and the info-panel text.

A .nlut is opened the one way every host opens it, :func:`lutplug.codec.nlut.open_nlut`: under
the trust policy the environment configures (``$LUTPLUG_TRUST``, ``$LUTPLUG_TRUSTED_KEYS``,
``$LUTPLUG_REQUIRE_SIGNATURE``; see :mod:`lutplug.codec.trust`), merged with the caller's, and
described by the same info lines every host shows.

Nothing here raises for a bad file: :func:`load_source` returns a :class:`LoadedSource` whose
``error`` says what is wrong, so the node can show Nuke's error state and pass pixels through.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Sequence, Union

if TYPE_CHECKING:  # the codec (numpy) is imported the first time a node needs it
    from lutplug.codec.nlut import NeuralLUT, OpenedNlut
    from lutplug.codec.trust import TrustStore
    from lutplug.core.lut import LUT3D

#: Cube sizes offered by the node ("auto": 65³ for a .nlut, the LUT's own grid for a LUT file).
CUBE_SIZES = ("auto", "17", "33", "65", "129")
AUTO_NLUT_CUBE = 65
#: Environment: the folder for baked cubes (trust comes from lutplug.codec.trust.from_env).
ENV_CACHE = "LUTPLUG_NUKE_CACHE"


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


def info_line(label: str, value: str) -> str:
    """One line of the info panel, aligned like :meth:`lutplug.codec.nlut.OpenedNlut.summary_lines`."""
    return f"{label + ':':<11}{value}"


def cache_root() -> Path:
    """Folder holding baked cubes: ``$LUTPLUG_NUKE_CACHE``, else the user cache folder."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lutplug" / "nuke"


def _bake(transform: Union["LUT3D", "NeuralLUT"], size: Optional[int], folder: Path, stem: str,
          reuse: bool = True) -> Path:
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


def load_source(path: str, cube_size: str = "auto", cache_dir: Optional[Path] = None, *,
                policy: Optional["TrustStore"] = None, cube_dir: Optional[Path] = None,
                cube_stem: str = "") -> LoadedSource:
    """Load ``path`` (a .nlut or any LUT lutplug reads) for a LutPlug node and bake its cube: into
    the cache (``cache_dir`` or :func:`cache_root`, a folder named by content hash, reused), or,
    with ``cube_dir``, as ``cube_dir/<cube_stem>.<hash12>.cube`` (written anew). A .nlut is
    checked under ``policy`` (e.g. :func:`lutplug.codec.trust.pem_keys` of explicit keys) merged
    with the environment's trust policy. Never raises for a bad file: the result's ``error``
    carries the reason."""
    out = LoadedSource(path=str(path or ""))
    if not path:
        return out
    try:
        _load_into(out, str(path), cube_size, cache_dir, policy, cube_dir, cube_stem)
    except Exception as exc:  # noqa: BLE001 - any failure becomes the node's error, never a crash
        out.ok = False
        out.kernel = ""
        out.cube_path = ""
        out.error = _reason(exc, str(path))
        out.info = f"ERROR: {out.error}"
    return out


def file_identity(path: str) -> str:
    """The identity :func:`load_source` records: a .nlut's content hash (unchanged by re-signing),
    or the SHA-256 of a LUT file's bytes. Raises (:class:`~lutplug.errors.LutError`) for a file
    that cannot be read, or a .nlut the trust policy refuses now."""
    from lutplug.codec.nlut import is_nlut_path, open_nlut
    from lutplug.fileio import read_bytes

    if is_nlut_path(path):
        return open_nlut(path).content_hash
    return hashlib.sha256(read_bytes(path)).hexdigest()


def _reason(exc: BaseException, path: str) -> str:
    from lutplug.errors import LutError

    if isinstance(exc, LutError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{path}: not enough memory to load it"
    return f"{path}: {type(exc).__name__}: {exc}"


def _load_into(out: LoadedSource, path: str, cube_size: str, cache_dir: Optional[Path],
               policy: Optional["TrustStore"], cube_dir: Optional[Path], cube_stem: str) -> None:
    from lutplug.codec.blink import kernel_source
    from lutplug.codec.nlut import is_nlut_path, open_nlut
    from lutplug.core.load import load_lut3d
    from lutplug.fileio import read_bytes

    if cube_size not in CUBE_SIZES:
        raise ValueError(f"cube size {cube_size!r} is not one of {', '.join(CUBE_SIZES)}")
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    transform: Union["LUT3D", "NeuralLUT"]
    opened: Optional["OpenedNlut"] = None
    lines: List[str]  # the file's info lines
    if is_nlut_path(path):  # a broken .nlut says so
        opened = open_nlut(path, policy)
        lines = opened.summary_lines()
        nlut = opened.nlut
        out.kind, out.content_hash = "nlut", nlut.content_hash
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
        lines = lut_lines(lut, path, out.content_hash)
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
    out.info = info_text(lines, out)
    if opened is not None:  # its warnings are in its info lines already
        out.warnings = list(opened.warnings) + out.warnings


def lut_lines(lut: "LUT3D", path: str, content_hash: str) -> List[str]:
    """The info lines of a plain LUT file (a .nlut's are :meth:`OpenedNlut.summary_lines`)."""
    size = os.path.getsize(path) if os.path.isfile(path) else 0
    lines = [info_line("source", f"{os.path.basename(path)} ({size:,} bytes, {lut.size}^3 LUT, "
                                 f"sha256 {content_hash[:12]})")]
    if lut.title:
        lines.append(info_line("title", lut.title))
    return lines + [info_line("network", "none (a plain LUT): dense cube only"),
                    info_line("signature", "n/a (only .nlut files are signed)")]


def info_text(lines: Sequence[str], loaded: LoadedSource) -> str:
    """The node's read-only info panel: the file's info ``lines`` (a .nlut's
    :meth:`~lutplug.codec.nlut.OpenedNlut.summary_lines`, the text every host shows, or
    :func:`lut_lines`), then the engines and the node's own warnings."""
    engines = "GPU MLP (BlinkScript, NukeX / Nuke Studio) or " if loaded.has_mlp else ""
    cube = f"dense cube {loaded.cube_size}^3" + (f" ({loaded.cube_path})" if loaded.cube_path else "")
    out = list(lines) + [info_line("engines", engines + cube)]
    out += [info_line("WARNING", w) for w in loaded.warnings]
    return "\n".join(out)

"""The file the user picked, opened for the filter.

* :func:`load_source` opens a .nlut through :func:`lutplug.codec.nlut.open_nlut` (under the
  filter's trust policy, :class:`~lutplug.hosts.gimp.settings.Trust`), or any LUT file lutplug
  reads without OpenColorIO/OpenImageIO (.cube, .3dl, .spi3d, .spi1d, .csp; Hald and
  lookup-strip images when the caller can decode images, as GIMP can).
* :meth:`Source.kernel` picks the evaluator: the .nlut's network (``mlp``), or a dense cube
  (``cube``: a .nlut is baked to 65³ like ``lutplug apply`` does; a LUT file is used as it is).
  ``auto`` runs the network when the area is no larger than the bake itself (65³ = 274 625
  pixels: exact and no slower), else the baked cube.
* :meth:`Source.summary` / :meth:`Source.info` are the dialog's texts: for a .nlut, the ones
  every host shows (:meth:`~lutplug.codec.nlut.OpenedNlut.summary_lines`).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

import numpy as np

from lutplug.codec.nlut import NeuralLUT, OpenedNlut, is_nlut_path, open_nlut
from lutplug.core.formats import detect_format
from lutplug.core.load import load_lut3d
from lutplug.core.lut import LUT3D
from lutplug.errors import LutError
from lutplug.fileio import read_source
from lutplug.hosts.gimp import ENGINES
from lutplug.hosts.gimp.cache import LutCache
from lutplug.hosts.gimp.kernels import GenericKernel, Kernel, cube_kernel
from lutplug.hosts.gimp.lutimage import lut_from_image
from lutplug.hosts.gimp.settings import Trust

#: Size of the cube a .nlut is baked to (the same as ``lutplug apply``'s cube engine).
NLUT_CUBE_SIZE = 65
#: ``auto`` runs the network itself up to this many pixels (the cost of baking the cube).
AUTO_MLP_MAX_PIXELS = NLUT_CUBE_SIZE ** 3
#: Largest plain LUT file read (text formats are also held to lutplug's own text limit).
MAX_LUT_FILE_BYTES = 1 << 31

#: Decodes a LUT image: path -> (float32 (H, W, 3) pixels in 0..1, depth description).
ImageReader = Callable[[str], Tuple[np.ndarray, str]]


class EngineError(LutError):
    """The engine argument does not fit the file (a bad argument, not a bad file)."""


@dataclasses.dataclass
class Source:
    """A file opened for the filter: a .nlut (``opened``, its :class:`OpenedNlut`) or a plain
    LUT file (``transform`` is then its :class:`LUT3D`; ``detail``: how a LUT image was read).
    ``identity``: the .nlut's content hash, or the SHA-256 of the LUT file."""

    path: str
    transform: Union[NeuralLUT, LUT3D]
    file_bytes: int
    identity: str
    opened: Optional[OpenedNlut] = None
    detail: str = ""

    @property
    def kind(self) -> str:
        """``"nlut"`` or ``"lut"``."""
        return "nlut" if self.opened is not None else "lut"

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def title(self) -> str:
        return str(getattr(self.transform, "title", "") or "")

    @property
    def signature(self) -> str:
        """The signature's state in words (``"n/a"`` for a plain LUT file)."""
        return self.opened.signature.text() if self.opened is not None else "n/a"

    @property
    def warnings(self) -> List[str]:
        """What the user must be told (e.g. a signature that could not be checked)."""
        return list(self.opened.warnings) if self.opened is not None else []

    def engine_for(self, engine: str, n_pixels: int) -> str:
        """The evaluator ``engine`` means for this file and area: ``"mlp"`` or ``"cube"``."""
        if engine not in ENGINES:
            raise EngineError(f"unknown engine {engine!r}: use auto, mlp or cube")
        if self.kind != "nlut":
            if engine == "mlp":
                raise EngineError("engine 'mlp' runs a .nlut's network, but this is a plain LUT "
                                  "file: use 'auto' or 'cube'", self.path)
            return "cube"
        if engine == "auto":
            return "mlp" if n_pixels <= AUTO_MLP_MAX_PIXELS else "cube"
        return engine

    def kernel(self, engine: str = "auto", n_pixels: int = 1 << 30) -> Tuple[Kernel, str]:
        """(kernel, description of the engine used) for ``engine`` over ``n_pixels`` pixels."""
        used = self.engine_for(engine, n_pixels)
        t = self.transform
        if isinstance(t, NeuralLUT):
            grid = t.lattice_grid
            if grid:  # the network only predicts its nodes
                return cube_kernel(t.bake(grid)), f"{grid}^3 residual lattice (exact)"
            if used == "mlp":
                return GenericKernel(t), "network (numpy, exact)"
            return cube_kernel(t.bake(NLUT_CUBE_SIZE)), f"{NLUT_CUBE_SIZE}^3 cube baked from the network"
        extra = " + 1D shaper" if t.shaper is not None else ""
        return cube_kernel(t), f"{t.size}^3 cube{extra}, {t.interpolation}"

    def summary(self) -> str:
        """One line for the dialog: what the file is, its quality and signature."""
        if self.opened is not None:
            return self.opened.summary()
        t = self.transform
        shaper = " + shaper" if t.shaper is not None else ""
        return " · ".join((self.name, f"{t.size}^3 LUT{shaper}, {_size_text(self.file_bytes)}",
                           "signature: n/a (plain LUT)"))

    def info(self) -> str:
        """Several ``label:    value`` lines: for a .nlut the info text every host shows; for a
        LUT file its size, title and how it was read."""
        if self.opened is not None:
            return "\n".join(self.opened.summary_lines())
        t = self.transform
        shaper = " with a 1D shaper" if t.shaper is not None else ""
        lines = [("source", f"{self.name} ({self.file_bytes:,} bytes, {t.size}^3 LUT{shaper}; "
                            f"sha256 {self.identity[:12]})")]
        if self.title:
            lines.append(("title", self.title))
        if self.detail:
            lines.append(("read as", self.detail))
        lines.append(("signature", "n/a (only .nlut files are signed)"))
        return "\n".join(f"{label + ':':<11}{value}" for label, value in lines)


def _size_text(n: int) -> str:
    return f"{n} bytes" if n < 10_000 else f"{n / 1024:.0f} KB"


def load_source(path: str, trust: Optional[Trust] = None,
                image_reader: Optional[ImageReader] = None,
                cache: Optional[LutCache] = None) -> Source:
    """Open ``path`` for the filter; raises :class:`LutError` naming the file and the reason.

    ``trust``: the filter's signature policy (default: the environment's alone).
    ``image_reader`` decodes Hald / lookup-strip images (GIMP passes one built on its own file
    loaders). ``cache`` keeps parsed LUT files.
    """
    path = os.fspath(path)
    p = Path(path)
    if not p.exists():
        raise LutError("file not found", path)
    if p.is_dir():
        raise LutError("is a folder, not a LUT file", path)
    if not os.access(path, os.R_OK):
        raise LutError("permission denied (cannot read the file)", path)
    if is_nlut_path(path):
        trust = trust if trust is not None else Trust(environ=os.environ)
        opened = open_nlut(path, trust.policy(), from_environment=False)
        return Source(path, opened.nlut, opened.file_bytes, opened.content_hash, opened)
    return _load_lut(path, image_reader, cache)


def _load_lut(path: str, image_reader: Optional[ImageReader], cache: Optional[LutCache]) -> Source:
    """A plain LUT file (read once; parsed, or taken from ``cache`` by its SHA-256)."""
    data = read_source(path, MAX_LUT_FILE_BYTES)
    digest = data.sha256
    size = len(data.data)
    hit = cache.get(digest) if cache is not None else None
    if hit is not None:
        return Source(path, hit[0], size, digest, detail=hit[1])
    fmt = detect_format(data)
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
        lut = load_lut3d(data, fmt)
    if cache is not None:
        cache.put(digest, lut, detail)
    return Source(path, lut, size, digest, detail=detail)


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

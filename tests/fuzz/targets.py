"""Fuzz targets: every reader of untrusted bytes, as ``run(data, scratch_folder)``.

A target may succeed or raise :class:`lutplug.errors.LutError` (and its subclasses, the
documented error types); anything else is a crash. :func:`check` also enforces the bounds every
input must respect: at most :data:`MAX_CPU_SECONDS` of CPU time, and at most 16x its own size +
64 MB allocated (traced by :mod:`tracemalloc`, which sees Python and numpy allocations; images,
which legitimately decode to far more, are held to lutplug.fileio.MAX_IMAGE_EXPANSION instead).

Used by the atheris job (:mod:`tests.fuzz.main`, :mod:`tests.fuzz.run`), the regression replay and
the hypothesis properties in tests/test_hostile_fuzz.py.
"""
from __future__ import annotations

import dataclasses
import functools
import io
import shutil
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

from lutplug.errors import LutError
from lutplug.fileio import MAX_IMAGE_EXPANSION
from tests.fuzz.seeds import READERS, lut_seeds

MAX_CPU_SECONDS = 1.0
ALLOC_FACTOR, ALLOC_SLACK = 16, 64 << 20


class BoundExceeded(AssertionError):
    """An input took too long or allocated too much (kind: ``"hang"`` or ``"memory"``)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class Target:
    """A reader under fuzz. ``seeds(scratch)``: valid inputs to mutate; ``max_len``: largest
    input the fuzzer generates."""

    name: str
    run: Callable[[bytes, Path], None]
    seeds: Callable[[Path], List[bytes]]
    max_len: int = 1 << 16
    alloc_factor: int = ALLOC_FACTOR


def check(target: Target, data: bytes, scratch: Path, trace: bool = True) -> float:
    """Run ``target`` on ``data``: LutError is a refusal (fine), other exceptions propagate, and
    :class:`BoundExceeded` is raised when the input breaks the time or memory bound. Returns the
    peak traced allocation in bytes (0 without ``trace``)."""
    started = not tracemalloc.is_tracing() and trace
    if started:
        tracemalloc.start()
    if trace:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    t0 = time.process_time()
    try:
        target.run(data, scratch)
    except LutError:
        pass
    finally:
        cpu = time.process_time() - t0
        peak = tracemalloc.get_traced_memory()[1] - base if trace else 0
        if started:
            tracemalloc.stop()
    limit = target.alloc_factor * len(data) + ALLOC_SLACK
    if peak > limit:
        raise BoundExceeded("memory", f"{peak} bytes allocated for a {len(data)}-byte input "
                                      f"(limit {limit})")
    if cpu > MAX_CPU_SECONDS:
        raise BoundExceeded("hang", f"{cpu:.2f} s of CPU for a {len(data)}-byte input")
    return peak


# ----------------------------------------------------------------------------- LUT files --

def _lut_reader(fmt: str) -> Callable[[bytes, Path], None]:
    reader, ext = READERS[fmt]

    def run(data: bytes, scratch: Path) -> None:
        path = scratch / f"input{ext}"
        path.write_bytes(data)
        lut = reader(path)
        assert np.all(np.isfinite(lut.table)), "reader returned non-finite values"
    return run


def _detected(data: bytes, scratch: Path) -> None:
    """The registry: format detected from the content (no extension), then read."""
    from lutplug.core.formats import read_lut

    path = scratch / "input"
    path.write_bytes(data)
    lut = read_lut(path)
    assert np.all(np.isfinite(lut.table)), "reader returned non-finite values"


@functools.lru_cache(maxsize=1)
def _all_lut_seeds(scratch: Path) -> Dict[str, List[bytes]]:
    return lut_seeds(scratch)


def _lut_seed_fn(fmt: str) -> Callable[[Path], List[bytes]]:
    return lambda scratch: _all_lut_seeds(scratch)[fmt]


# ---------------------------------------------------------------------------- .nlut etc. --

@functools.lru_cache(maxsize=1)
def _signing_key():
    """A fixed Ed25519 key (from a constant seed) so signed seeds verify in every process."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _nlut_bytes(signed: bool) -> List[bytes]:
    """Version 3 files of every layout (tensor index, packed, packed with an int16 lattice and a
    shaper; descriptions as tests and as ``compress`` write them) and the same grade as versions 1
    and 2 wrote it; ``signed``: each signed by :func:`_signing_key`."""
    from lutplug.codec import container
    from lutplug.codec.nlut import SIGNER_FIELD
    from lutplug.codec.signing import key_id, public_raw
    from tests.nlut_helpers import described, fit_stored_nlut, lattice_nlut, legacy_bytes, random_nlut

    plain = [random_nlut(1).to_bytes(), random_nlut(2, shaper=True).to_bytes(),
             random_nlut(3, hidden=(4,), fourier=0, curves=0, skip="identity").to_bytes(),
             described(fit_stored_nlut()).to_bytes(),
             described(lattice_nlut(grid=3, wide=True, shaper=True), title="").to_bytes(),
             legacy_bytes(random_nlut(4), 1), legacy_bytes(fit_stored_nlut(hidden=(3,)), 2)]
    if not signed:
        return plain
    key = _signing_key()
    raw = public_raw(key.public_key())
    out = []
    for data in plain:
        c = container.decode(data)
        sealed = container.encode(c.tensors, {**c.description, SIGNER_FIELD: key_id(raw)}, version=c.version)
        out.append(container.add_signature(sealed, raw, key.sign))
    return out


def _nlut(data: bytes, scratch: Path) -> None:
    from lutplug.codec.nlut import from_bytes

    n = from_bytes(data, "fuzz.nlut")
    with np.errstate(all="ignore"):
        n.apply(np.linspace(-0.5, 1.5, 24, dtype=np.float32).reshape(8, 3))


def _nlut_lean(data: bytes, scratch: Path) -> None:
    """Version 3 with its CRC-32 made right first (per docs/nlut-format.md: over every byte
    before it, bit 0 of byte 5 cleared), so that mutations reach the field map, tensor facts,
    description record and tensor block instead of stopping at the checksum."""
    import zlib

    if len(data) > 9 and data[:5] == b"NLUT\x03" and not data[5] & 1:
        data = data[:-4] + zlib.crc32(data[:-4]).to_bytes(4, "little")
    _nlut(data, scratch)


def _nlut_trusted(data: bytes, scratch: Path) -> None:
    from lutplug.codec.nlut import from_bytes

    from_bytes(data, "fuzz.nlut", [_signing_key().public_key()], require_signature=True)


def _tensorfile(data: bytes, scratch: Path) -> None:
    from lutplug.codec import tensorfile

    tensorfile.loads(data, "fuzz")


def _tensorfile_seeds(scratch: Path) -> List[bytes]:
    from lutplug.codec import tensorfile

    return [tensorfile.dumps({"w.q": np.arange(-6, 6, dtype=np.int8).reshape(3, 4),
                              "w.s": np.array(0.5, np.float16), "b": np.ones((2, 3), np.float32)},
                             {"k": "v"})]


def _pack(data: bytes, scratch: Path) -> None:
    from lutplug.codec.pack import read_pack

    pack = read_pack(data, source="fuzz.nlutpack")
    for name in pack.names()[:2]:
        pack.extract(name)


def _pack_seeds(scratch: Path) -> List[bytes]:
    """Packs built without training (random adapters and one whole-network look), and, whatever
    the pack API, .nlut payloads in pack framing."""
    from lutplug.codec import container
    from lutplug.codec import pack as P

    out = []
    try:
        from lutplug import LUT3D
        from lutplug.codec import adapters
        from lutplug.codec import quantize as Q
        from tests.nlut_helpers import random_nlut

        spec = adapters.make_spec(hidden=(8,))
        base = Q.quantize_params(adapters.init_shared(spec, 0), adapters.qconf(adapters.shared_shapes(spec)))
        lut = LUT3D.identity(3)
        looks = [P.new_look(f"look {i}", "adapter", Q.quantize_params(
            adapters.init_look(spec, i), adapters.qconf(adapters.look_shapes(spec))), lut, {"grid": 3})
            for i in range(2)]
        solo = random_nlut(4)
        looks.append(P.new_look("solo", "solo", solo.params, lut, {"grid": 3}, solo.config))
        out.append(P.Pack(spec, base, looks).to_bytes())
    except Exception:  # noqa: BLE001 - the pack API is young: fall back to framing-only seeds
        pass
    for data in _nlut_bytes(False)[:1]:
        c = container.decode(data)
        out.append(container.encode(c.tensors, c.description, P.FRAMING))
    return out


def _image(data: bytes, scratch: Path) -> None:
    """Plates given to ``lutplug apply`` (OpenImageIO behind lutplug's checks)."""
    from lutplug.imageio import read_image

    kind = {b"\x89PNG": ".png", b"II*\x00": ".tif", b"MM\x00*": ".tif",
            b"v/1\x01": ".exr"}.get(data[:4], ".png")
    path = scratch / f"plate{kind}"
    path.write_bytes(data)
    pixels, _ = read_image(path)
    assert pixels.dtype == np.float32


def _image_seeds(scratch: Path) -> List[bytes]:
    from lutplug.imageio import write_image

    rng = np.random.default_rng(0)
    out = []
    for name, kind in (("a.png", "uint8"), ("b.tif", "uint16"), ("c.exr", "half")):
        write_image(scratch / name, rng.random((6, 8, 3)).astype(np.float32), pixel_type=kind)
        out.append((scratch / name).read_bytes())
    return out


# ------------------------------------------------------------------------ configs, trust --

_CONFIG = """ocio_profile_version: 2

environment:
  {}
search_path: luts
strictparsing: true
luma: [0.2126, 0.7152, 0.0722]

roles:
  default: lin
  scene_linear: lin
  color_timing: ACEScct   # grades work here

file_rules:
  - !<Rule> {name: Default, colorspace: lin}

displays:
  sRGB:
    - !<View> {name: Raw, colorspace: lin}
active_displays: []
active_views: []

looks:
  - !<Look>
    name: warm
    process_space: ACEScct
    transform: !<ExponentTransform> {value: [1.1, 1.0, 0.9, 1.0]}

colorspaces:
  - !<ColorSpace>
    name: lin
    family: ""
    bitdepth: 32f
    isdata: false

  - !<ColorSpace>
    name: ACEScct
    bitdepth: 32f
    isdata: false
    from_scene_reference: !<MatrixTransform> {matrix: [0.5, 0, 0, 0.1, 0, 0.5, 0, 0.1, 0, 0, 0.5, 0.1, 0, 0, 0, 1]}
"""

_CONFIG_V1 = """ocio_profile_version: 1
search_path: ""
roles: {default: raw, color_timing: ACEScct, reference: raw}
displays: {sRGB: [!<View> {name: Raw, colorspace: raw}]}
colorspaces:
  - !<ColorSpace> {name: raw, bitdepth: 32f, isdata: false}
  - !<ColorSpace> {name: ACEScct, bitdepth: 32f, isdata: false, from_reference: !<LogTransform> {base: 2}}
"""


@functools.lru_cache(maxsize=1)
def _grade():
    from tests.nlut_helpers import random_nlut

    return random_nlut(5)


def _ocio_config(data: bytes, scratch: Path) -> None:
    """``lutplug ocio add``'s input: the config text, edited and checked, written elsewhere."""
    from lutplug.hosts.ocio.edit import add_grade

    src, out = scratch / "cfg", scratch / "out"
    for d in (src, out):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    (src / "config.ocio").write_bytes(data)
    add_grade(src / "config.ocio", _grade(), "fuzz grade", output=out / "config.ocio", size=2)


def _config_seeds(scratch: Path) -> List[bytes]:
    return [_CONFIG.encode(), _CONFIG_V1.encode()]


def _trust(data: bytes, scratch: Path) -> None:
    from lutplug.codec.trust import load_store

    path = scratch / "trust.txt"
    path.write_bytes(data)
    load_store(path)


def _trust_seeds(scratch: Path) -> List[bytes]:
    from lutplug.codec.trust import TrustedKey
    from lutplug.codec.signing import public_raw

    raw = public_raw(_signing_key().public_key())
    line = TrustedKey(raw, "studio").line()
    return [f"# studio keys\n{line}  not-after=2030-01-31\nallow-unsigned\n".encode(),
            f"{line}\nrequire-signature\n".encode()]


def _zip(data: bytes, scratch: Path) -> None:
    from lutplug.fileio import extract_zip

    archive, dest = scratch / "in.zip", scratch / "extracted"
    shutil.rmtree(dest, ignore_errors=True)
    archive.write_bytes(data)
    for f in extract_zip(archive, dest):
        resolved = f.resolve()
        assert resolved.is_relative_to(dest.resolve()), f"{f} written outside the folder"


def _zip_seeds(scratch: Path) -> List[bytes]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.ocio", _CONFIG)
        zf.writestr("luts/a.cube", "LUT_3D_SIZE 2\n" + "0 0 0\n1 1 1\n" * 4)
        zf.writestr("luts/", "")
    return [buf.getvalue()]


TARGETS: Dict[str, Target] = {t.name: t for t in (
    [Target(fmt, _lut_reader(fmt), _lut_seed_fn(fmt)) for fmt in READERS]
    + [Target("detect", _detected, lambda s: [b for v in _all_lut_seeds(s).values() for b in v[:1]]),
       Target("nlut", _nlut, lambda s: _nlut_bytes(False) + _nlut_bytes(True)),
       Target("nlut-trusted", _nlut_trusted, lambda s: _nlut_bytes(True)),
       Target("nlut-lean", _nlut_lean, lambda s: [d for d in _nlut_bytes(False) if d[4] == 3]),
       Target("safetensors", _tensorfile, _tensorfile_seeds),
       Target("pack", _pack, _pack_seeds),
       Target("ocio-config", _ocio_config, _config_seeds),
       Target("trust-store", _trust, _trust_seeds),
       Target("zip-extract", _zip, _zip_seeds),
       # images legitimately decode to far more than 16x their size (a flat PNG inflates
       # ~1000x, read as float32 4x more): bounded by lutplug.fileio.MAX_IMAGE_EXPANSION instead
       Target("image", _image, _image_seeds, alloc_factor=MAX_IMAGE_EXPANSION)])}


def description_of(name: str) -> str:
    """What a target reads, for reports."""
    return {"detect": "any LUT file, format detected from content",
            "nlut": ".nlut, versions 1-3 (from_bytes, then evaluated)",
            "nlut-trusted": ".nlut with a trusted key required",
            "nlut-lean": ".nlut version 3, CRC-32 fixed up (record, facts, block parsers)",
            "safetensors": "the safetensors payload reader",
            "pack": ".nlutpack (read_pack, then extract)",
            "ocio-config": "OCIO config text through `ocio add` (edit, verify, write)",
            "trust-store": "trust-store file (verify --trust, $LUTPLUG_TRUST)",
            "zip-extract": "archive extraction (.ocioz, packs): lutplug.fileio.extract_zip",
            "image": "PNG/TIFF/EXR plates for `apply` (read_image)",
            }.get(name, f"{name} LUT reader")


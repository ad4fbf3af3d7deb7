"""Hostile .nlut and .nlutpack containers: each is refused with a clear message before any large
allocation (tracemalloc measures what loading allocated)."""
from __future__ import annotations

import json
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from lutplug.codec import container, tensorfile
from lutplug.codec.nlut import from_bytes, load_nlut
from lutplug.errors import LutError, SignatureError
from tests.nlut_helpers import fit_stored_nlut, random_nlut

pytest.importorskip("cryptography")

#: Most a refused hostile file may make the loader allocate (bytes): the inflated header and
#: small tensors of a real file, far below what the files claim.
SMALL = 4 << 20


def _payload(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _frame(raw_payload: bytes, framing=container.NLUT, version=1, flags=0) -> bytes:
    """Framed as the container does (level 1: bombs compress quickly); the .nlut payloads here
    are version 1's one tensor per parameter."""
    deflater = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, framing.zdict)
    payload = deflater.compress(raw_payload) + deflater.flush()
    return container.HEADER.pack(framing.magic, framing.version if version is None else version,
                                 flags, 0, len(payload)) + payload


@pytest.fixture(scope="module")
def grade():
    """(tensors, description) of a small valid .nlut (version 1 layout: a random network with
    float and per-row-scaled tensors, which version 2's packing does not take)."""
    c = container.decode(random_nlut(4).to_bytes())
    return c.tensors, c.description


def _refused(data: bytes, match: str, loader=from_bytes, error=LutError) -> str:
    """Load ``data``: it must raise ``error`` matching ``match`` and allocate < SMALL bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(error, match=match) as info:
            loader(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SMALL, f"allocated {peak} bytes before refusing"
    return str(info.value)


def _meta(description: dict) -> dict:
    return {"__metadata__": {"nlut": json.dumps(description)}}


def test_header_claiming_huge_tensors(grade):
    _, desc = grade
    # a tensor of 2^40 elements
    huge = {**_meta(desc), "m.W0": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 1 << 42]}}
    msg = _refused(_frame(_payload(huge)), "unacceptable shape")
    assert "at most 16777216 elements" in msg
    # within the element limit, but 128 MB of data: more than a payload may inflate to
    big = {**_meta(desc), "m.W0": {"dtype": "F64", "shape": [1 << 24], "data_offsets": [0, 8 << 24]}}
    _refused(_frame(_payload(big)), "tensor header describes 134217728 data bytes")
    # the outer header claims a 4 GB payload
    good = random_nlut(4).to_bytes()
    lying = container.HEADER.pack(b"NLUT", 1, 0, 0, 0xFFFFFFFF) + good[12:]
    _refused(lying, "4294967295-byte payload, more than")
    # the tensor header's own length field claims 2^60 bytes
    _refused(_frame(struct.pack("<Q", 1 << 60) + b"{}"), "header claims 1152921504606846976 bytes")


def test_decompression_bombs(grade):
    tensors, desc = grade
    raw = tensorfile.dumps(tensors, {"nlut": json.dumps(desc)})
    # a valid payload followed by 80 MB of zeros (the file is ~350 KB)
    bomb = _frame(raw + bytes(80 << 20))
    assert len(bomb) < 400_000
    _refused(bomb, "inflates beyond")
    # nothing but zeros: refused as soon as the first 8 bytes are read
    _refused(_frame(bytes(80 << 20)), "not valid JSON|inflates beyond")
    # a header describing 60 MB that the architecture does not need: refused before inflating it
    wrong = {**_meta(desc), "m.W0": {"dtype": "F32", "shape": [15 << 20], "data_offsets": [0, 60 << 20]}}
    _refused(_frame(_payload(wrong, bytes(60 << 20))), "inflates beyond|does not match")


def test_tensor_shapes_disagreeing_with_the_architecture(grade):
    tensors, desc = grade
    bad = dict(tensors)
    bad["m.W1.q"] = np.zeros((5, 7), np.int8)
    _refused(container.encode(bad, desc, version=1), r"network does not match its configuration: .*W1")
    extra = dict(tensors, **{"m.extra": np.zeros(3, np.float32)})
    _refused(container.encode(extra, desc, version=1), "unexpected tensors")
    stray = dict(tensors, **{"evil": np.zeros(3, np.float32)})
    _refused(container.encode(stray, desc, version=1), "unexpected tensors")
    missing = {k: v for k, v in tensors.items() if not k.startswith("m.b0")}
    _refused(container.encode(missing, desc, version=1), "b0 is missing")
    wrong_dtype = dict(tensors, **{"m.W1.q": tensors["m.W1.q"].astype(np.int16)})
    _refused(container.encode(wrong_dtype, desc, version=1), "int8")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_weights(grade, value):
    tensors, desc = grade
    floats = [k for k, v in tensors.items() if v.dtype.kind == "f" and v.size]
    for name in floats[:3]:
        bad = dict(tensors)
        arr = bad[name].copy()
        arr.reshape(-1)[0] = value
        bad[name] = arr
        _refused(container.encode(bad, desc, version=1), "NaN or infinite")
    # a JSON NaN/Infinity constant in the description (not JSON, Python would accept it)
    text = json.dumps(desc).replace('"domain": [[0', '"domain": [[NaN', 1)
    assert "NaN" in text
    _refused(_frame(tensorfile.dumps(tensors, {"nlut": text})), "not a JSON number")


def _huge_field(tensors: dict, desc: dict, meta_key: str, field: str) -> bytes:
    """A payload whose description field ``field`` holds 100 MB (built without json.dumps of
    100 MB)."""
    marker = "@@HUGE@@"
    raw = tensorfile.dumps(tensors, {meta_key: json.dumps(dict(desc, **{field: marker}))})
    n = struct.unpack("<Q", raw[:8])[0]
    header = raw[8:8 + n].replace(marker.encode(), b"x" * (100 << 20))
    return struct.pack("<Q", len(header)) + header + raw[8 + n:]


def test_metadata_field_of_100_mb(grade, tmp_path):
    tensors, desc = grade
    data = _frame(_huge_field(tensors, desc, "nlut", "title"))
    assert len(data) < 1 << 20  # compresses to ~450 KB
    _refused(data, r"header claims \d+ bytes, more than the 1048576 accepted")
    # stored raw, the file itself is over the size limit: refused before it is read
    path = tmp_path / "big.nlut"
    path.write_bytes(b"NLUT" + bytes(17 << 20))
    _refused(path, "more than the 16777216 accepted", loader=load_nlut)


def test_signature_over_different_bytes(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from lutplug.codec.signing import public_raw

    key = ed25519.Ed25519PrivateKey.generate()
    data = random_nlut(5).to_bytes()
    signed = container.add_signature(data, public_raw(key.public_key()), key.sign)
    other = container.add_signature(random_nlut(6).to_bytes(), public_raw(key.public_key()), key.sign)
    # the signature of another file (same key, genuine signature) grafted onto this one
    forged = signed[:-64] + other[-64:]
    _refused(forged, "altered after signing", error=SignatureError)
    # a signature over this file's bytes with the flag cleared (not what the format signs)
    flagless = bytearray(signed[:-96])
    flagless[5] = 0
    forged = signed[:-64] + key.sign(bytes(flagless))
    _refused(forged, "altered after signing", error=SignatureError)


@pytest.mark.parametrize("version, word", [(0, "older"), (3, "newer"), (255, "newer")])
def test_other_format_versions_are_refused(version, word):
    data = bytearray(random_nlut(7).to_bytes())
    data[4] = version
    _refused(bytes(data), f"format version {version} is {word}.*downgrade")


def test_a_version_byte_that_disagrees_with_the_layout_is_refused(packed_grade):
    v1 = bytearray(random_nlut(7).to_bytes())
    v2 = bytearray(container.encode(*packed_grade))
    assert (v1[4], v2[4]) == (1, 2)
    v1[4], v2[4] = 2, 1
    _refused(bytes(v1), "m.q must be int8")
    _refused(bytes(v2), "tensor cin is missing")


@pytest.fixture(scope="module")
def packed_grade():
    """(tensors, description) of a small valid version 2 .nlut (int8 network, float16 scales)."""
    c = container.decode(fit_stored_nlut().to_bytes())
    assert c.version == 2 and {"m.q", "m.s"} <= set(c.tensors)
    return c.tensors, c.description


def test_packed_tensors_disagreeing_with_the_architecture(packed_grade):
    tensors, desc = packed_grade
    for name, bad, msg in [("m.q", tensors["m.q"][:-1], r"m\.q must be int8 \(\d+,\), got int8 \(\d+,\)"),
                           ("m.s", tensors["m.s"].astype(np.float32), "m.s must be float16"),
                           ("m.W0.q", np.zeros((6, 3), np.int8), "unexpected tensors")]:
        _refused(_frame(tensorfile.dumps(dict(tensors, **{name: bad}), {"nlut": json.dumps(desc)}),
                        version=2), msg)
    nan = dict(tensors, **{"m.s": np.where(np.arange(tensors["m.s"].size) == 2, np.nan,
                                           tensors["m.s"]).astype(np.float16)})
    _refused(_frame(tensorfile.dumps(nan, {"nlut": json.dumps(desc)}), version=2), "NaN or infinite")


def test_duplicate_keys(grade):
    tensors, desc = grade
    # in the description: a second "domain" after the real one
    text = json.dumps(desc)[:-1] + ', "domain": [[0, 0, 0], [9, 9, 9]]}'
    _refused(_frame(tensorfile.dumps(tensors, {"nlut": text})), "duplicate key 'domain'")
    # in the tensor header: one tensor listed twice
    raw = tensorfile.dumps(tensors, {"nlut": json.dumps(desc)})
    n = struct.unpack("<Q", raw[:8])[0]
    header = raw[8:8 + n].decode().rstrip()
    first = header.index('"m.')
    entry_end = header.index("}", first) + 1
    doubled = header[:entry_end] + "," + header[first:entry_end] + header[entry_end:]
    _refused(_frame(struct.pack("<Q", len(doubled)) + doubled.encode() + raw[8 + n:]),
             "duplicate key")


def test_deeply_nested_json_is_refused(grade):
    tensors, _ = grade
    _refused(_frame(tensorfile.dumps(tensors, {"nlut": "[" * 200_000})), "not valid JSON")
    _refused(_frame(struct.pack("<Q", 100_000) + b"[" * 100_000), "not valid JSON")


def test_a_valid_file_loads_within_the_same_bounds(grade):
    tensors, desc = grade
    tracemalloc.start()
    try:
        n = from_bytes(container.encode(tensors, desc, version=1), "ok.nlut")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SMALL and n.apply(np.full((1, 3), 0.5, np.float32)).shape == (1, 3)


# ---------------------------------------------------------------------------------- packs --

@pytest.fixture(scope="module")
def pack_module():
    return pytest.importorskip("lutplug.codec.pack", reason="look packs (lutplug.codec.pack) are "
                               "not in this tree yet")


@pytest.fixture(scope="module")
def pack_bytes(pack_module, tmp_path_factory):
    from tests.fuzz.targets import TARGETS

    for seed in TARGETS["pack"].seeds(tmp_path_factory.mktemp("pack")):
        try:
            pack_module.read_pack(seed)
            return seed
        except LutError:
            continue
    pytest.skip("no pack could be built without training")


def test_pack_hostile_framing(pack_module, pack_bytes):
    read = pack_module.read_pack
    c = container.decode(pack_bytes, "p", pack_module.FRAMING)
    fr = pack_module.FRAMING
    data = bytearray(pack_bytes)
    data[4] = 0
    _refused(bytes(data), "older.*downgrade", loader=read)
    huge = {"__metadata__": {fr.meta_key: json.dumps(c.description)},
            "base.W0.q": {"dtype": "I8", "shape": [1 << 30], "data_offsets": [0, 1 << 30]}}
    _refused(_frame(_payload(huge), fr), "unacceptable shape", loader=read)
    raw = tensorfile.dumps(c.tensors, {fr.meta_key: json.dumps(c.description)})
    _refused(_frame(raw + bytes(80 << 20), fr), "inflates beyond", loader=read)
    _refused(_frame(_huge_field(c.tensors, c.description, fr.meta_key, "created"), fr),
             "more than the 1048576 accepted", loader=read)
    text = json.dumps(c.description)[:-1] + ', "looks": []}'
    _refused(_frame(tensorfile.dumps(c.tensors, {fr.meta_key: text}), fr), "duplicate key", loader=read)


def test_pack_hostile_contents(pack_module, pack_bytes):
    read = pack_module.read_pack
    fr = pack_module.FRAMING
    c = container.decode(pack_bytes, "p", fr)
    floats = sorted((k for k, v in c.tensors.items() if v.dtype.kind == "f" and v.size),
                    key=lambda k: k.endswith(".s"))  # a weight first, then a scale
    for name in (floats[0], floats[-1]):
        bad = dict(c.tensors)
        arr = bad[name].copy()
        arr.reshape(-1)[0] = np.nan
        bad[name] = arr
        with pytest.raises(LutError, match="NaN|infinite|finite|bad scale"):
            read(container.encode(bad, c.description, fr))
    wrong = dict(c.tensors)
    name = next(k for k in wrong if k.endswith(".q"))
    wrong[name] = np.zeros((3, 5, 7), np.int8)
    with pytest.raises(LutError):
        read(container.encode(wrong, c.description, fr))
    # a look named to escape the extraction folder
    desc = json.loads(json.dumps(c.description))
    desc["looks"][0]["name"] = "../../etc/evil"
    with pytest.raises(LutError, match="name"):
        read(container.encode(c.tensors, desc, fr))
    # a pack signed, then altered
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from lutplug.codec.signing import public_raw

    key = ed25519.Ed25519PrivateKey.generate()
    signed = bytearray(container.add_signature(pack_bytes, public_raw(key.public_key()), key.sign, fr))
    signed[40] ^= 1
    with pytest.raises(LutError):
        read(bytes(signed))


@pytest.mark.parametrize("side", [4096, 16384])
def test_image_header_claiming_a_huge_size(tmp_path, side):
    """A 100-byte PNG claiming side x side pixels: refused from its header, for plates and for
    Hald images alike, before OpenImageIO decodes (it would allocate side² x 3 float32)."""
    pytest.importorskip("OpenImageIO")
    from lutplug.core.formats.hald import read_hald
    from lutplug.imageio import read_image
    from tests.fuzz.seeds import png8

    small = png8(np.zeros((2, 2, 3), np.uint8))
    ihdr = struct.pack(">II", side, side) + small[24:29]
    data = small[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF) + small[33:]
    path = tmp_path / "huge.png"
    path.write_bytes(data)
    _refused(path, "far more than its", loader=read_image)
    _refused(path, "far more than its" if side == 4096 else "neither a Hald", loader=read_hald)

""".nlut format version 3 (docs/nlut-format.md, "Version 3"), checked against the spec: a file
built byte by byte from the spec reads back into the expected grade and lutplug writes exactly
those bytes; the spec's encodings on the examples it gives; round trips of every field; every bit
of a signed and of an unsigned file guarded."""
from __future__ import annotations

import calendar
import hashlib
import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lutplug import LutError
from lutplug.codec import container, fieldcodecs, lean, record, textcode, wire
from lutplug.codec.model import make_config
from lutplug.codec.nlut import NeuralLUT, from_bytes, sign_file
from lutplug.codec.signing import generate_keypair, load_private_key, load_public_key
from tests.nlut_helpers import described, fit_stored_nlut, lattice_nlut, leb128, random_nlut

# --------------------------------------------------------------------- the spec, restated --

#: docs/nlut-format.md, "Short texts": code length -> the bytes having it (12 bits also 0xC3;
#: every other byte 13 bits). Canonical codes: by length, then byte value.
SPEC_LENGTHS = {4: " _aeinot", 5: "dhlrs", 6: "-cfgmpuwy", 7: ".0123456789ETbkv", 8: "AHINORS",
                9: "CDLMUWjx", 10: "BFGPYz", 11: "KVq",
                12: "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~JQXZ"}


def _spec_codes() -> dict:
    lengths = {ord(c): n for n, chars in SPEC_LENGTHS.items() for c in chars}
    lengths[0xC3] = 12
    lengths.update({b: 13 for b in range(256) if b not in lengths})
    codes, code, prev = {}, 0, 0
    for sym, n in sorted(lengths.items(), key=lambda kv: (kv[1], kv[0])):
        code <<= n - prev
        prev = n
        codes[sym] = format(code, f"0{n}b")
        code += 1
    return codes


CODES = _spec_codes()


def _packed(text: str) -> bytes:
    bits = "".join(CODES[b] for b in text.encode())
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def _text(value: str) -> bytes:
    raw, small = value.encode(), _packed(value)
    return leb128(2 * len(raw) + 1) + small if len(small) < len(raw) else leb128(2 * len(raw)) + raw


def _dec4(value: str) -> bytes:
    """The spec's dec4 of a decimal written with 4 significant digits, e.g. "3.050e-1"."""
    mantissa, exponent = value.split("e")
    m, d = int(mantissa.replace(".", "")), int(exponent) + 4
    return struct.pack("<H", 1 + 9000 * d + (m - 1000))


# ------------------------------------------------------------------- a file from the spec --

def _spec_grade():
    """(hand-built version 3 bytes, the NeuralLUT they hold)."""
    rng = np.random.default_rng(5)
    config = make_config(hidden=(2,), act="relu", skip="linear", center=True)
    shapes = [("W0", (2, 3)), ("b0", (2,)), ("W1", (3, 2)), ("b1", (3,)), ("A", (3, 3)), ("c", (3,))]
    params, q, s = {}, b"", b""
    for name, shape in shapes:  # packing order: cin, W0, b0, ..., W{L}, b{L}, A, c, cout, fix
        ints = rng.integers(-127, 128, shape).astype(np.int8)
        scale = np.array([rng.uniform(0.001, 0.02)], np.float16)
        params[name + ".q"], params[name + ".s"] = ints, scale
        q += ints.tobytes()
        s += scale.astype("<f2").tobytes()
    description = {
        "title": "tea",
        "provenance": {"grid": 33, "created": "2026-12-07T10:11:12+00:00", "lutplug": "0.1.0",
                       "parent": None, "settings": {"target": {"de_mean": 0.45, "de_p99": 1.5,
                                                               "de_max": 3.0, "psnr": 45.0},
                                                    "budget_bytes": None, "seed": 0, "device": "cpu"},
                       "source": "warm.cube", "source_bytes": 918223, "source_sha256": "ab" * 32},
        "quality": {"de_mean": 0.305, "de_p95": 0.6322, "de_p99": 0.8061, "de_max": 1.63,
                    "psnr": 48.47, "max_abs": 0.0613, "points": 33 ** 3 + 200_000, "meets_target": True},
    }
    n = NeuralLUT(config, params, [0, 0, 0], [1, 1, 1], None, description)
    title_slot = 0  # slot 0 (map bit 3): title set; nothing else differs from the usual file
    created = calendar.timegm((2026, 12, 7, 10, 11, 12))
    record_bytes = (
        leb128(33) + struct.pack("<I", created)                      # provenance.grid, .created
        + leb128(2 * (2 * 4 + 1)) + _packed("warm")                  # source: "warm" packed, .cube
        + leb128(918223) + bytes.fromhex("ab" * 32)                  # source_bytes, source_sha256
        + leb128(0) + leb128(1) + leb128(2)                              # model.in_curve 0, hidden [2]
        + _text("tea")                                             # title
        + _dec4("3.050e-1") + _dec4("6.322e-1") + _dec4("8.061e-1") + _dec4("1.630e0")
        + _dec4("4.847e1") + _dec4("6.130e-2"))                   # quality (points, meets: default)
    part = b"NLUT\x03" + leb128(1 << (3 + title_slot)) + record_bytes + q + s
    return part + zlib.crc32(part).to_bytes(4, "little"), n


def test_a_file_built_from_the_spec_reads_back_and_lutplug_writes_the_same_bytes():
    data, n = _spec_grade()
    assert _text("tea") == b"\x07\x73\x20"  # t=0111 e=0011 a=0010, padded
    back = from_bytes(data, "spec.nlut")
    expected_config = {k: v for k, v in n.config.items() if k != "quant"}
    assert back.config == expected_config
    for k, v in n.params.items():
        assert back.params[k].dtype == v.dtype
        np.testing.assert_array_equal(back.params[k], v)
    assert fieldcodecs.same(back.description, {**n.description, "format": "nlut", "model": expected_config,
                                          "domain": [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]})
    assert n.to_bytes() == data == back.to_bytes()
    assert back.content_hash == hashlib.sha256(data).hexdigest()  # unsigned: the file's own hash
    assert lean.sections(data)["tensors"] == (len(data) - 4 - 41, len(data) - 4)  # 29 int8 + 6 f16


def test_the_spec_tables_are_the_codes():
    # the Huffman code, the fields and the field map's slots are part of version 3
    assert {b: len(c) for b, c in CODES.items()} == textcode.CODE_LENGTHS
    assert sum(2.0 ** -n for n in textcode.CODE_LENGTHS.values()) == 1.0
    assert [f.key for f in record.FIELDS][:8] == ["format", "interpolation", "provenance", "provenance.grid",
                                                  "provenance.created", "provenance.lutplug",
                                                  "provenance.parent", "provenance.settings"]
    assert len(record.FIELDS) == 56 and len(record.SLOTS) == 81
    assert record.SLOTS[:6] == (("title", "set"), ("model.fix", "set"), ("quality.meets_target", "set"),
                                ("colorspace", "set"), ("colorspace.input", "set"),
                                ("colorspace.output", "set"))
    assert record.SLOTS[35] == ("extras", "set") and record.SLOTS[-1] == ("quality.meets_target", "absent")
    assert _layout_digest() == FROZEN_LAYOUT, "the record layout changed: that needs a new format version"


def _layout_digest() -> str:
    def default(f):
        return getattr(f.default, "__name__", None) or repr(f.default) if f.kind == "defaulted" else ""
    layout = ([[f.key, f.codec.name, f.kind, default(f)] for f in record.FIELDS]
              + [list(s) for s in record.SLOTS] + [list(fieldcodecs.EXTENSIONS)])
    return hashlib.sha256(json.dumps(layout).encode()).hexdigest()


#: SHA-256 of the fields (key, codec, kind, default), the slots and the extensions as specified.
FROZEN_LAYOUT = "0ead13b016c35ae2e6628ac372f7d83588b2d0e57f71263181eb9499ac439fa6"


# ------------------------------------------------------------------------ encodings --

@pytest.mark.parametrize("value, encoded", [
    (0.45, bytes([2 * (-2 + 63), 45])), (3.0, bytes([2 * 63, 3])), (-0.1, bytes([2 * 62 + 1, 1])),
    (0.0, bytes([2 * 63, 0])), (-0.0, bytes([2 * 63 + 1, 0])), (1500.0, bytes([2 * 65, 15])),
    (0.00021961925085633993, b"\xfe" + struct.pack("<f", 0.00021961925085633993)),
    (1e-300, b"\xff" + struct.pack("<d", 1e-300)),
])
def test_real_encoding(value, encoded):
    assert wire.real_bytes(value) == encoded
    back = wire.Reader(encoded).real("x")
    assert back == value and np.copysign(1, back) == np.copysign(1, value)


def test_real_decimal_canonical_form():
    for bad in (bytes([126, 30]), bytes([120, 0])):  # m with a trailing zero; 0 with an exponent
        with pytest.raises(wire.Malformed, match="canonical"):
            wire.Reader(bad).real("x")
    with pytest.raises(wire.Malformed, match="finite"):
        wire.Reader(b"\xff" + struct.pack("<d", float("inf"))).real("x")
    step = 0.018581361171917516  # a lattice step: 17 digits, 9 bytes either way (decimal first)
    assert wire.real_bytes(step)[0] < 254 and len(wire.real_bytes(step)) == 9


@pytest.mark.parametrize("text, value", [("1.000e-4", 0.0001), ("9.999e2", 999.9), ("3.050e-1", 0.305),
                                         ("4.093e-1", 0.4093), ("4.847e1", 48.47)])
def test_dec4_codes(text, value):
    assert wire.dec4_code(value) == struct.unpack("<H", _dec4(text))[0]
    assert wire.Reader(_dec4(text)).dec4("x") == value


def test_dec4_escape_and_reserved_codes():
    for value in (1000.0, 0.00005, -1.0, 0.12345, -0.0):
        w = wire.Writer()
        w.dec4(value)
        assert w.buf[:2] == b"\xff\xff" and wire.Reader(bytes(w.buf)).dec4("x") == value
    assert wire.Reader(b"\x00\x00").dec4("x") == 0.0
    with pytest.raises(wire.Malformed, match="reserved"):
        wire.Reader(struct.pack("<H", 63001)).dec4("x")


def test_varints_times_versions():
    assert leb128(300) == b"\xac\x02" and wire.Reader(b"\xac\x02").varint("x") == 300
    for bad, msg in ((b"\x80\x00", "shortest"), (b"\x80", "left"), (b"\xff" * 10, "9 bytes")):
        with pytest.raises(wire.Malformed, match=msg):
            wire.Reader(bad).varint("x")
    assert wire.time_seconds("2026-12-07T00:00:00+00:00") == calendar.timegm((2026, 12, 7, 0, 0, 0))
    for other in ("2026-12-07T00:00:00Z", "2026-12-07T00:00:00.5+00:00", "2026-12-07T01:00:00+01:00"):
        assert wire.time_seconds(other) is None  # kept in the extras instead
    assert (wire.version_number("0.1.0"), wire.version_number("1.2.3")) == (64, 4096 + 128 + 3)
    assert wire.version_number("0.1.0.dev1") is None and wire.version_number("01.2.3") is None


def test_texts_raw_or_packed():
    assert textcode.packed(b"tea") == _packed("tea") == b"\x73\x20"
    for value in ("", "x", "freshluts_cool_cinema", "Generated by Resolve", "日本語のタイトル", "é"):
        w = wire.Writer()
        textcode.write(w, value)
        assert bytes(w.buf) == _text(value)
        assert textcode.read(wire.Reader(bytes(w.buf)), "t") == value


# ------------------------------------------------------------------------ round trips --

def _all_fields() -> dict:
    """A description where every field differs from its default, plus unknown ones."""
    return {
        "title": "Ünïcode & co", "colorspace": {"input": "ACEScct", "output": "sRGB - Display"},
        "interpolation": "trilinear", "signer": "0123456789abcdef", "domain": [[-0.1, 0.0, 0.0], [1.5, 2.0, 3.0]],
        "shaper_domain": [[-0.017289999999999996, 0.0, 0.0], [55.07956000000001, 1.0, 1e-300]],
        "provenance": {"grid": 65, "created": "2026-12-07T10:11:12+00:00", "lutplug": "0.2.0.dev1",
                       "parent": "cd" * 32, "job": "ef" * 32, "shaper_entries": [65536, 1536],
                       "settings": {"target": {"de_mean": 0.8, "de_p99": 2.5, "de_max": 5.0, "psnr": 40.0},
                                    "budget_bytes": 4096, "seed": 7, "device": "cuda",
                                    "pack": None, "look": "warm"},
                       "source": "LMT Kodak 2383.clf", "source_bytes": 133274, "source_sha256": "12" * 32},
        "quality": {"de_mean": 0.0398, "de_p95": 1234.5, "de_p99": 0.00001, "de_max": 2.782, "psnr": 56.16,
                    "max_abs": -0.0, "points": 17, "meets_target": False},
        "made_with": {"tool": "x", "n": 2 ** 70},
    }


def test_every_field_round_trips():
    d = _all_fields()
    slots, data = record.encode(d)
    back = record.decode(wire.Reader(data), slots)
    assert fieldcodecs.same(back, d)
    n = lattice_nlut(grid=3, wide=True, shaper=True)
    n.description = d
    again = from_bytes(n.to_bytes())
    kept = {k: v for k, v in d.items() if k not in ("signer", "shaper_domain", "domain")}
    assert fieldcodecs.same({k: again.description[k] for k in kept}, kept)
    assert again.to_bytes() == n.to_bytes()


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
                    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=16)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_descriptions_round_trip_exactly(data):
    d = _all_fields() if data.draw(st.booleans()) else described(fit_stored_nlut()).description
    d = json.loads(json.dumps(d))
    paths = [("title",), ("provenance", "grid"), ("provenance", "settings"), ("quality", "psnr"),
             ("model",), ("provenance",), ("colorspace", "input"), ("unknown",), ("quality", "points")]
    for path in data.draw(st.lists(st.sampled_from(paths), max_size=3, unique=True)):
        holder = d
        for key in path[:-1]:
            holder = holder.setdefault(key, {}) if isinstance(holder.get(key, {}), dict) else {}
        holder[path[-1]] = data.draw(JSON)
    slots, raw = record.encode(d)
    assert fieldcodecs.same(record.decode(wire.Reader(raw), slots), d)


@pytest.mark.parametrize("make", [fit_stored_nlut, lambda: random_nlut(1, shaper=True),
                                  lambda: described(lattice_nlut(grid=4, wide=True, shaper=True)),
                                  lambda: described(fit_stored_nlut(), title="")])
def test_bytes_decode_to_the_same_grade_and_encode_to_the_same_bytes(make):
    n = make()
    data = n.to_bytes()
    back = from_bytes(data)
    assert back.to_bytes() == data
    assert fieldcodecs.same(json.loads(json.dumps(back.description)),
                       json.loads(json.dumps(container.decode(data).description)))
    x = np.random.default_rng(1).uniform(-0.2, 3.2, (400, 3)).astype(np.float32)
    np.testing.assert_array_equal(back.apply(x), n.apply(x))


def test_a_typical_file_spends_at_most_96_bytes_besides_its_tensors():
    data = described(fit_stored_nlut(hidden=(8,), fixes=0)).to_bytes()
    start, end = lean.sections(data)["tensors"]
    assert len(data) - (end - start) <= 96


# ------------------------------------------------------------------ every bit guarded --

@pytest.fixture(scope="module")
def signed_v3(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("v3")
    path = tmp / "s.nlut"
    described(fit_stored_nlut(hidden=(2,), fixes=2)).save(path)
    generate_keypair(tmp / "k", tmp / "k.pub")
    sign_file(path, load_private_key(tmp / "k"))
    return path.read_bytes(), [load_public_key(tmp / "k.pub")]


def test_signing_detects_every_flipped_bit_of_a_v3_file(signed_v3):
    data, trusted = signed_v3
    assert data[4] == 3 and data[5] & 1
    assert from_bytes(data, "s.nlut", trusted).signature.state == "valid"
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            with pytest.raises(LutError):
                from_bytes(bytes(bad), "s.nlut", trusted)
            with pytest.raises(LutError):  # also without a trusted key: integrity alone
                from_bytes(bytes(bad), "s.nlut")


def test_every_flipped_bit_of_an_unsigned_v3_file_is_detected():
    data = described(fit_stored_nlut(hidden=(2,), fixes=2)).to_bytes()
    from_bytes(data)
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            with pytest.raises(LutError):
                from_bytes(bytes(bad), "u.nlut")


def test_delta_coding_matches_the_spec_and_is_chosen_when_it_is_smaller():
    """The spec's delta coding (differences along the axis modulo 2^bits, then the bytes of all
    values shuffled lowest first), built by hand; the writer picks it for a smooth shaper and a
    smooth residual lattice, and the grade reads back bit-identically."""
    shaper = np.linspace(0.0, 1.0, 1024, dtype=np.float16)[:, None].repeat(3, 1) ** 2
    bits = shaper.astype(np.float16).view(np.uint16).astype(np.int64)
    diffs = np.concatenate([bits[:1], np.diff(bits, axis=0)]) % 65536
    by_hand = bytes(diffs.astype("<u2").reshape(-1).view(np.uint8).reshape(-1, 2).T.reshape(-1))
    assert lean.delta_encode(shaper.astype(np.float16), 0) == by_hand
    back = lean.delta_decode(by_hand, np.dtype("<f2"), shaper.shape, 0)
    assert np.array_equal(back.view(np.uint16), shaper.astype(np.float16).view(np.uint16))
    q = (np.arange(5 ** 3 * 3, dtype=np.int64).reshape(5, 5, 5, 3) % 7 - 3).astype(np.int8)
    coded = np.frombuffer(lean.delta_encode(q, 2), np.int8).reshape(q.shape)
    assert np.array_equal(coded[:, :, 1:], (q[:, :, 1:].astype(np.int16) - q[:, :, :-1]).astype(np.int8))
    assert np.array_equal(lean.delta_decode(coded.tobytes(), np.dtype("i1"), q.shape, 2), q)

    from lutplug.core.lut import LUT1D, lattice

    n = lattice_nlut(seed=3, grid=9, shaper=True)
    n.shaper = LUT1D(np.linspace(0.0, 1.0, 2048)[:, None].repeat(3, 1) ** 0.5, [0, 0, 0], [1, 1, 1])
    data = n.to_bytes()
    facts_bits = wire.Reader(data, 5, len(data)).bitmap("map", lean.MAP_BITS)
    assert facts_bits & lean.FLAG_FACTS
    r = wire.Reader(data, 5, len(data))
    r.bitmap("map", lean.MAP_BITS)
    facts = r.varint("facts", 63)
    assert facts & lean.FACT_SHAPER_DELTA  # a smooth 2048-entry curve deflates far better coded
    m = from_bytes(data)
    x = lattice(11)
    assert np.array_equal(m.apply(x), n.apply(x)) and m.to_bytes() == data

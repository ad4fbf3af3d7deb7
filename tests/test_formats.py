"""Per-format tests: writer → reader round trips (and OpenColorIO reading what we write),
reader edge cases, and bad input turning into LutError naming the file and line.

References are independent of our readers: OpenColorIO's CPU processor on the file, explicit
formulas for generated files, and a from-scratch PNG decoder for 16-bit images.
"""
from __future__ import annotations

import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from lutplug import LUT1D, LUT3D, LutError
from lutplug.core.formats import (clf, csp, detect_format, hald, ocio_sampled, read_lut,
                                  spi, threedl, write_lut)
from lutplug.core.load import load_lut3d
from tests.helpers import random_table

ocio = pytest.importorskip("PyOpenColorIO")


# ----------------------------------------------------------------------------------------------
# helpers


def _write(path: Path, text: str, crlf: bool = False) -> Path:
    path.write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode())
    return path


def _probe(lut, count=20_000, seed=0) -> np.ndarray:
    lo, hi = lut.input_domain
    return (lo + np.random.default_rng(seed).random((count, 3)) * (hi - lo)).astype(np.float32)


def _assert_lut_error(fn, path, line=None, match=None):
    with pytest.raises(LutError) as info:
        fn()
    msg = str(info.value)
    assert str(path) in msg, msg
    if line is not None:
        assert f"{path}:{line}:" in msg, msg
    if match is not None:
        assert match.lower() in msg.lower(), msg
    return msg


def _smooth_int_table(n: int, top: int, seed: int = 0) -> np.ndarray:
    """Integer code values table [b, g, r] in 0..top."""
    return np.round(np.clip(random_table(n, seed), 0, 1) * top).astype(np.int64)


def _threedl_text(codes: np.ndarray, mesh=None, breakpoints=None, header="# made for a test\n",
                  trailer="") -> str:
    n = codes.shape[0]
    out = header
    if mesh is not None:
        out += f"3DMESH\nMesh {mesh[0]} {mesh[1]}\n"
    if breakpoints is not None:
        out += " ".join(str(int(v)) for v in breakpoints) + "\n\n"
    rows = codes.transpose(2, 1, 0, 3).reshape(-1, 3)  # [r, g, b]: blue fastest
    out += "\n".join(f"{r} {g} {b}" for r, g, b in rows.tolist()) + "\n" + trailer
    assert len(rows) == n ** 3
    return out


def _spi3d_text(table: np.ndarray, order=None, comment=True) -> str:
    n = table.shape[0]
    r, g, b = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
    idx = np.stack([r, g, b], -1).reshape(-1, 3)
    rows = [f"{i} {j} {k} {table[k, j, i, 0]:.9g} {table[k, j, i, 1]:.9g} {table[k, j, i, 2]:.9g}"
            for i, j, k in idx.tolist()]
    if order is not None:
        rows = [rows[o] for o in order]
    return (f"SPILUT 1.0\n3 3\n{n} {n} {n}\n" + "\n".join(rows) + "\n"
            + ("# a comment line\n" if comment else ""))


def _spi1d_text(table: np.ndarray, components: int, dmin=0.0, dmax=1.0) -> str:
    body = "\n".join(" ".join(f"{v:.9g}" for v in row[:components]) for row in table)
    return (f"Version 1\nFrom {dmin} {dmax}\nLength {len(table)}\nComponents {components}\n"
            f"{{\n{body}\n}}\n")


def _csp_text(table: np.ndarray, prelut, metadata=("first line", "second line"),
              kind="3D") -> str:
    out = f"CSPLUTV100\n{kind}\n\n"
    if metadata is not None:
        out += "BEGIN METADATA\n" + "".join(f"{m}\n" for m in metadata) + "END METADATA\n\n"
    for xs, ys in prelut:
        out += f"{len(xs)}\n" + " ".join(f"{v:.9g}" for v in xs) + "\n" \
               + " ".join(f"{v:.9g}" for v in ys) + "\n"
    if kind == "3D":
        n = table.shape[0]
        out += f"\n{n} {n} {n}\n"
        rows = table.reshape(-1, 3)  # red fastest
    else:
        out += f"\n{len(table)}\n"
        rows = table
    return out + "\n".join(" ".join(f"{v:.9g}" for v in row) for row in rows.tolist()) + "\n"


def _ocio_matches(path, lut, ocio_file_apply, tol, interpolation="tetrahedral", count=20_000):
    x = _probe(lut, count)
    method = "trilinear" if any("interpolation: trilinear" in c for c in
                                getattr(lut, "comments", ())) else "tetrahedral"
    ours = lut.apply(x, method=method) if isinstance(lut, LUT3D) else lut.apply(x)
    ref = ocio_file_apply(path, x, interpolation)
    err = float(np.abs(ours.astype(np.float64) - ref).max())
    assert err <= tol, f"max |ours - OCIO| = {err:.3g} > {tol:g}"
    return err


def _png(width: int, height: int, bit_depth: int = 8, color_type: int = 2, data=None,
         idat=None) -> bytes:
    """A PNG file built by hand (filter 0 on every row)."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    if idat is None:
        raw = b"".join(b"\x00" + data[y].tobytes() for y in range(height))
        idat = zlib.compress(raw)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def _decode_png16(path: Path) -> np.ndarray:
    """Independent 16-bit RGB PNG decoder (zlib + the five PNG row filters)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 16 and ctype == 2 and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp, stride = 6, width * 6
    out = np.zeros((height, stride), dtype=np.int64)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        ftype, cur = line[0], np.frombuffer(line[1:], dtype=np.uint8).astype(np.int64)
        rec = np.zeros(stride, dtype=np.int64)
        for x in range(stride):
            a = rec[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            rec[x] = (cur[x] + pred) & 0xFF
        out[y], prev = rec, rec
    words = out.reshape(height, width, 3, 2)
    return (words[..., 0] * 256 + words[..., 1]).astype(np.float64) / 65535.0


# ----------------------------------------------------------------------------------------------
# round trips


ROUND_TRIP_LUTS = {
    "plain": lambda: LUT3D(random_table(17, 1)),
    "domain": lambda: LUT3D(random_table(9, 2), -0.5, 2.0),
    "per_channel_domain": lambda: LUT3D(random_table(5, 3), (-0.1, -0.2, 0.0), (1.5, 2.0, 3.0)),
    "shaper": lambda: LUT3D(random_table(9, 4), 0.0, 4.0,
                            shaper=LUT1D(np.linspace(0, 1, 64) ** 2 * 4, -1, 2)),
    "per_channel_shaper": lambda: LUT3D(
        random_table(7, 5), (0.0, -0.5, 0.1), (1.0, 1.5, 1.2),
        shaper=LUT1D(np.stack([np.linspace(0, 1, 32) ** 0.5, np.linspace(-0.5, 1.5, 32),
                               np.linspace(0.1, 1.2, 32) ** 2], -1), (0, 0, -1), (1, 2, 1))),
}


@pytest.mark.parametrize("kind", sorted(ROUND_TRIP_LUTS))
def test_clf_round_trip_and_ocio_reads_it(kind, tmp_path, ocio_file_apply):
    lut = ROUND_TRIP_LUTS[kind]()
    lut.title, lut.comments = "round <trip> & co", ["first", "second \x01 odd char"]
    path = tmp_path / "lut.clf"
    write_lut(lut, path)
    back = load_lut3d(path)
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)
    np.testing.assert_allclose(back.domain_min, lut.domain_min, atol=1e-9)
    np.testing.assert_allclose(back.domain_max, lut.domain_max, atol=1e-9)
    assert (back.shaper is None) == (lut.shaper is None)
    if lut.shaper is not None:
        np.testing.assert_allclose(back.shaper.table, lut.shaper.table, atol=1e-6)
        np.testing.assert_allclose(back.shaper.domain_min, lut.shaper.domain_min, atol=1e-9)
        np.testing.assert_allclose(back.shaper.domain_max, lut.shaper.domain_max, atol=1e-9)
    assert back.title == "round <trip> & co" and back.comments[:2] == ["first", "second   odd char"]
    x = _probe(lut)
    np.testing.assert_allclose(back.apply(x), lut.apply(x), atol=1e-6)
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)


def test_clf_1d_round_trip(tmp_path, ocio_file_apply):
    lut = LUT1D(np.stack([np.linspace(0, 1, 100) ** p for p in (0.5, 1.0, 2.2)], -1), -0.25, 1.5)
    path = tmp_path / "one.clf"
    write_lut(lut, path)
    back = read_lut(path)
    assert isinstance(back, LUT1D)
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)
    np.testing.assert_allclose(back.domain_min, lut.domain_min, atol=1e-9)
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)
    _ocio_matches(path, load_lut3d(path), ocio_file_apply, 1e-6)  # 1D: an exact 3D equivalent


def test_spi3d_round_trip_and_ocio_reads_it(tmp_path, ocio_file_apply):
    lut = LUT3D(random_table(17, 6), title="t", comments=["c1"])
    path = tmp_path / "a.spi3d"
    write_lut(lut, path)
    back = load_lut3d(path)
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)
    assert back.comments == ["t", "c1"]
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)


@pytest.mark.parametrize("kind", ["domain", "shaper"])
def test_spi3d_writer_refuses_what_spi3d_cannot_hold(kind, tmp_path):
    path = tmp_path / "a.spi3d"
    _assert_lut_error(lambda: write_lut(ROUND_TRIP_LUTS[kind](), path), path, match="spi3d")
    assert not path.exists()


@pytest.mark.parametrize("kind", ["plain", "domain", "per_channel_domain", "shaper"])
def test_cube_round_trip_and_ocio_reads_it(kind, tmp_path, ocio_file_apply):
    lut = ROUND_TRIP_LUTS[kind]()
    path = tmp_path / "a.cube"
    write_lut(lut, path)
    back = load_lut3d(path)
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)
    x = _probe(lut)
    np.testing.assert_allclose(back.apply(x), lut.apply(x), atol=1e-6)
    _ocio_matches(path, lut, ocio_file_apply, 2e-6)


def test_hald_round_trip_16_bit_with_independent_decoder(tmp_path):
    table = np.round(np.clip(random_table(16, 7), 0, 1) * 65535) / 65535  # exact in 16 bit
    lut = LUT3D(table)
    path = tmp_path / "hald.png"
    write_lut(lut, path)
    assert detect_format(path) == "hald"
    back = load_lut3d(path)
    assert "Hald CLUT level 4" in back.comments[0] and "16-bit" in back.comments[0]
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)
    # Independent decoding: raw zlib PNG, Hald raster order = cube order (R fastest).
    pixels = _decode_png16(path)
    assert pixels.shape == (64, 64, 3)
    np.testing.assert_allclose(pixels.reshape(16, 16, 16, 3), table, atol=1e-9)
    # A 16-bit file must not go through 8 bits: these values are not multiples of 1/255.
    assert np.abs(back.table * 255 - np.round(back.table * 255)).max() > 0.01


@pytest.mark.parametrize("size,level", [(33, 6), (64, 8), (4, 2), (17, 5)])
def test_hald_level_choice_and_resampling(size, level, tmp_path):
    lut = LUT3D(np.clip(random_table(size, 8), 0, 1))
    path = tmp_path / "h.tif"
    hald.write_hald(lut, path)
    back = load_lut3d(path)
    assert back.size == level * level and f"level {level}" in back.comments[0]
    x = _probe(lut, 5000)
    # Resampling a 33³ table onto 36³ changes it by the interpolation error only.
    tol = 1e-4 if back.size == size else 0.02
    assert np.abs(back.apply(x) - lut.apply(x)).max() < tol


def test_hald_writer_refuses_shaper_unless_baked(tmp_path):
    lut = ROUND_TRIP_LUTS["shaper"]()
    path = tmp_path / "s.png"
    _assert_lut_error(lambda: write_lut(lut, path), path, match="bake=True")
    hald.write_hald(lut, path, bake=True)
    assert load_lut3d(path).size == 9


def test_hald_512_written_by_us_is_detected_as_hald_and_strips_as_strips(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    lut = LUT3D(np.clip(random_table(64, 9), 0, 1))
    path = tmp_path / "big.png"
    hald.write_hald(lut, path)
    back = load_lut3d(path)
    assert back.size == 64 and back.comments[0].startswith("Hald CLUT level 8")
    # The same table laid out as an 8-bit GPUImage strip (formula from shared/luts/README.md).
    codes = np.round(lut.table * 255).astype(np.uint8)
    img = codes.reshape(8, 8, 64, 64, 3).transpose(0, 2, 1, 3, 4).reshape(512, 512, 3)
    strip = tmp_path / "strip.png"
    Image.fromarray(img, "RGB").save(strip)
    got = load_lut3d(strip)
    assert "tiled lookup strip" in got.comments[0] and "8-bit" in got.comments[0]
    np.testing.assert_allclose(got.table, codes / 255.0, atol=1e-7)
    # A horizontal N²×N strip (Unity-style, 16³).
    small = np.round(np.clip(random_table(16, 10), 0, 1) * 255).astype(np.uint8)
    horiz = tmp_path / "h.png"
    Image.fromarray(small.transpose(1, 0, 2, 3).reshape(16, 256, 3), "RGB").save(horiz)
    got = read_lut(horiz, format="strip")
    np.testing.assert_allclose(got.table, small / 255.0, atol=1e-7)


# ----------------------------------------------------------------------------------------------
# .3dl


@pytest.mark.parametrize("variant", ["lustre", "flame", "foundry16", "bare12", "crlf"])
def test_3dl_variants_match_ocio(variant, tmp_path, ocio_file_apply):
    n = 17
    if variant == "lustre":
        text = _threedl_text(_smooth_int_table(33, 4095), mesh=(5, 12),
                             trailer="\nLUT8\ngamma 1.0\n")
    elif variant == "flame":
        text = _threedl_text(_smooth_int_table(n, 4095), mesh=(4, 12),
                             breakpoints=np.r_[np.arange(0, 1024, 64), 1023])
    elif variant == "foundry16":
        text = _threedl_text(_smooth_int_table(n, 40000), header="# Generated by Foundry::LUT\n",
                             breakpoints=np.r_[np.arange(0, 65536, 4096), 65535])
    else:
        text = _threedl_text(_smooth_int_table(n, 4095))
    path = _write(tmp_path / f"{variant}.3dl", text, crlf=variant == "crlf")
    lut = load_lut3d(path)
    assert lut.shaper is None
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)
    if variant == "foundry16":
        assert any("16-bit" in c for c in lut.comments)


def test_3dl_order_is_blue_fastest(tmp_path):
    codes = _smooth_int_table(3, 1023)
    lut = load_lut3d(_write(tmp_path / "o.3dl", _threedl_text(codes, mesh=(1, 10))))
    np.testing.assert_allclose(lut.table, codes / 1023.0, atol=1e-7)
    text = (tmp_path / "o.3dl").read_text().splitlines()
    second_row = [int(v) for v in text[4].split()]
    assert second_row == codes[1, 0, 0].tolist()  # node r=0, g=0, b=1


@pytest.mark.parametrize("top,bits", [(200, 8), (1000, 10), (3000, 12), (9000, 16), (60000, 16)])
def test_3dl_output_depth_inferred_like_ocio(top, bits, tmp_path, ocio_file_apply):
    codes = _smooth_int_table(5, top)
    codes[-1, -1, -1] = top
    path = _write(tmp_path / "d.3dl", _threedl_text(codes))
    lut = load_lut3d(path)
    assert any(f"{bits}-bit" in c for c in lut.comments)
    np.testing.assert_allclose(lut.table, codes / (2.0 ** bits - 1), atol=1e-7)
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)


def test_3dl_nonuniform_breakpoints_become_a_shaper_like_ocio(tmp_path, ocio_file_apply):
    bp = np.round((np.linspace(0, 1, 17) ** 1.6) * 1023).astype(int)
    path = _write(tmp_path / "nu.3dl", _threedl_text(_smooth_int_table(17, 4095), breakpoints=bp))
    lut = load_lut3d(path)
    assert lut.shaper is not None
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)


@pytest.mark.parametrize("text,line,match", [
    ("3DMESH\nMesh 4 12\n" + "0 0 4095\n" * 27, 2, "Mesh 4 12"),
    ("3DMESH\nMesh 20 12\n0 0 0\n", 2, "nodes"),
    ("0 0 1.5\n" * 7 + "0 0 4095\n", 1, "integers"),
    ("1 2 3\n" * 8, None, "implausibly low"),
    ("0 64 1023\n" * 7 + "0 4095\n", 8, "value(s)"),
    ("0 64 1023\n" * 4 + "garbage here\n" + "0 64 1023\n" * 4, 5, "garbage"),
    ("0 64 1023\n" * 8 + "LUT8\ngamma 1.0\n0 0 0\n", 11, "trailer"),
    ("<?xml version='1.0'?>\n", 1, "XML"),
    ("0 0 4095\n" * 9, None, "cube number"),
])
def test_3dl_bad_input(text, line, match, tmp_path):
    path = _write(tmp_path / "bad.3dl", text)
    _assert_lut_error(lambda: read_lut(path), path, line, match)


# ----------------------------------------------------------------------------------------------
# .spi3d / .spi1d


def test_spi3d_rows_in_any_order_with_comments(tmp_path, ocio_file_apply):
    table = random_table(8, 11)
    order = np.random.default_rng(0).permutation(8 ** 3)
    path = _write(tmp_path / "shuffled.spi3d", _spi3d_text(table, order), crlf=True)
    lut = load_lut3d(path)
    np.testing.assert_allclose(lut.table, table, atol=1e-6)
    assert lut.comments == ["a comment line"]
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)


def test_spi3d_index_order_is_r_g_b(tmp_path):
    rows = "\n".join(f"{i} {j} {k} {i} {j} {k}"
                     for i in range(2) for j in range(2) for k in range(2))
    lut = load_lut3d(_write(tmp_path / "i.spi3d", f"SPILUT 1.0\n3 3\n2 2 2\n{rows}\n"))
    np.testing.assert_array_equal(lut.table, LUT3D.identity(2).table)


def _spi3d_rows(n=2):
    return [f"{i} {j} {k} 0.1 0.2 0.3" for i in range(n) for j in range(n) for k in range(n)]


@pytest.mark.parametrize("text,line,match", [
    ("SPILUT 1.0\n3 3\n2 2 2\n" + "\n".join(_spi3d_rows()[:-1] + [_spi3d_rows()[0]]) + "\n",
     11, "more than once"),
    ("SPILUT 1.0\n3 3\n2 2 2\n" + "\n".join(_spi3d_rows()[:-1] + ["1 1 2 0 0 0"]) + "\n",
     11, "outside 0..1"),
    ("SPILUT 1.0\n3 3\n2 2 2\n" + "\n".join(_spi3d_rows()[:-1]) + "\n", None, "found 7"),
    ("SPILUT 1.0\n1 3\n2 2 2\n", 2, "3 3"),
    ("SPILUT 1.0\n3 3\n2 3 2\n", 3, "differ"),
    ("SPILUT 1.0\n3 3\n100000 100000 100000\n", 3, "outside 2..256"),
    ("SPILUT 1.0\n3 3\n2 2 2\n" + "\n".join(_spi3d_rows()[:-1] + ["1 1 1 0 nan 0"]) + "\n",
     11, "NaN"),
    ("NOTSPI\n", 1, "SPILUT"),
])
def test_spi3d_bad_input(text, line, match, tmp_path):
    path = _write(tmp_path / "bad.spi3d", text)
    _assert_lut_error(lambda: read_lut(path), path, line, match)


@pytest.mark.parametrize("components", [1, 2, 3])
def test_spi1d_components_match_ocio(components, tmp_path, ocio_file_apply):
    x = np.linspace(0, 1, 257)
    table = np.stack([x ** 0.45, x ** 1.2, np.sqrt(x) * 0.5], -1)
    path = _write(tmp_path / f"c{components}.spi1d", _spi1d_text(table, components, -0.125, 1.125))
    lut = read_lut(path)
    assert isinstance(lut, LUT1D) and lut.domain_min.tolist() == [-0.125] * 3
    expect = {1: table[:, [0, 0, 0]], 2: np.c_[table[:, :2], np.zeros(257)], 3: table}[components]
    np.testing.assert_allclose(lut.table, expect, atol=1e-7)
    _ocio_matches(path, lut, ocio_file_apply, 1e-6, interpolation="linear")
    _ocio_matches(path, load_lut3d(path), ocio_file_apply, 1e-6, interpolation="linear")


@pytest.mark.parametrize("text,line,match", [
    ("Version 2\nLength 2\nComponents 1\n{\n0\n1\n}\n", 1, "Version 1"),
    ("Version 1\nComponents 1\n{\n0\n1\n}\n", None, "Length"),
    ("Version 1\nLength 3\nComponents 1\n{\n0\n1\n}\n", None, "found 2"),
    ("Version 1\nLength 2\nComponents 1\n{\n0\n1\n", None, "'}'"),
    ("Version 1\nLength 2\nComponents 3\n{\n0 0 0\n1 1\n}\n", 6, "expected 3 numbers"),
    ("Version 1\nLength 2\nComponents 1\n{\n0\ninf\n}\n", 6, "infinite"),
    ("Version 1\nLength 100000000000\nComponents 1\n{\n0\n}\n", 2, "outside"),
    ("Version 1\nFrom 1 0\nLength 2\nComponents 1\n{\n0\n1\n}\n", 2, "increasing"),
    ("Version 1\nBogus 3\n", 2, "unknown"),
])
def test_spi1d_bad_input(text, line, match, tmp_path):
    path = _write(tmp_path / "bad.spi1d", text)
    _assert_lut_error(lambda: read_lut(path), path, line, match)


# ----------------------------------------------------------------------------------------------
# .csp


def test_csp_nonuniform_per_channel_prelut_matches_ocio(tmp_path, ocio_file_apply):
    prelut = [(np.array([-0.1, 0.05, 0.3, 1.0, 2.5]), np.array([-0.2, 0.1, 0.45, 0.8, 1.1])),
              (np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.7, 1.0])),
              (np.array([0.0, 0.2, 0.4, 0.6, 1.0, 4.0]), np.array([0.0, 0.3, 0.5, 0.6, 0.8, 1.0]))]
    path = _write(tmp_path / "p.csp", _csp_text(random_table(9, 12), prelut))
    lut = load_lut3d(path)
    assert lut.shaper is not None and lut.shaper.size == csp.PRELUT_SAMPLES
    assert lut.input_domain[0].tolist() == [-0.1, 0.0, 0.0]
    assert lut.input_domain[1].tolist() == [2.5, 1.0, 4.0]
    assert lut.comments == ["first line", "second line"]
    _ocio_matches(path, lut, ocio_file_apply, 1e-5)


def test_csp_spline_reproduces_lines_and_its_knots():
    xs, ys = np.array([0.0, 0.1, 0.5, 2.0]), np.array([1.0, 1.2, 2.0, 5.0])
    np.testing.assert_allclose(csp.cinespace_spline(xs, ys, xs), ys, atol=1e-12)
    t = np.linspace(-1, 3, 101)
    line = csp.cinespace_spline(xs, 2 * xs + 1, t)
    np.testing.assert_allclose(line, np.clip(2 * t + 1, 1, 5), atol=1e-12)


def test_csp_identity_and_affine_prelut(tmp_path, ocio_file_apply):
    table = random_table(5, 13)
    ident = [(np.array([0.0, 1.0]), np.array([0.0, 1.0]))] * 3
    path = _write(tmp_path / "i.csp", _csp_text(table, ident, metadata=None), crlf=True)
    lut = load_lut3d(path)
    assert lut.shaper is None and lut.domain_max.tolist() == [1, 1, 1]
    np.testing.assert_allclose(lut.table, table, atol=1e-7)
    affine = [(np.array([-0.5, 2.0]), np.array([0.0, 1.0])),
              (np.array([0.0, 4.0]), np.array([-0.25, 1.75])),
              (np.array([0.0, 1.0]), np.array([0.0, 1.0]))]
    path = _write(tmp_path / "a.csp", _csp_text(table, affine))
    lut = load_lut3d(path)
    assert lut.shaper is None
    np.testing.assert_allclose(lut.domain_min, [-0.5, 0.5, 0.0])
    np.testing.assert_allclose(lut.domain_max, [2.0, 2.5, 1.0])
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)


def test_csp_1d(tmp_path, ocio_file_apply):
    x = np.linspace(0, 1, 64)
    table = np.stack([x ** 0.5, x, x ** 2], -1)
    ident = [(np.array([0.0, 1.0]), np.array([0.0, 1.0]))] * 3
    path = _write(tmp_path / "one.csp", _csp_text(table, ident, kind="1D"))
    lut = read_lut(path)
    assert isinstance(lut, LUT1D)
    _ocio_matches(path, lut, ocio_file_apply, 1e-6, interpolation="linear")
    curve = [(np.array([0.0, 0.3, 1.0]), np.array([0.0, 0.6, 1.0]))] * 3
    path = _write(tmp_path / "two.csp", _csp_text(table, curve, kind="1D"))
    _ocio_matches(path, read_lut(path), ocio_file_apply, 1e-4, interpolation="linear")


_CSP_HEAD = "CSPLUTV100\n3D\n2\n0 1\n0 1\n2\n0 1\n0 1\n2\n0 1\n0 1\n"


@pytest.mark.parametrize("text,line,match", [
    ("CSPLUTV100\n2D\n", 2, "'1D' or '3D'"),
    ("CSPLUTV100\n3D\n2\n1 0\n0 1\n", 4, "increase strictly"),
    ("CSPLUTV100\n3D\n3\n0 1\n0 1\n", 4, "expected 3"),
    (_CSP_HEAD + "2 2 2\n" + "0 0 0\n" * 7, None, "found 7"),
    (_CSP_HEAD + "100000 100000 100000\n", 12, "outside"),
    (_CSP_HEAD + "2 2 2\n" + "0 0 0\n" * 7 + "0 x 0\n", 20, "non-numeric"),
    ("CSPLUTV100\n3D\nBEGIN METADATA\nnever ends\n", None, "END METADATA"),
    ("CSPLUTV100\n3D\n2\n0 1\n", None, "truncated"),
])
def test_csp_bad_input(text, line, match, tmp_path):
    path = _write(tmp_path / "bad.csp", text)
    _assert_lut_error(lambda: read_lut(path), path, line, match)


# ----------------------------------------------------------------------------------------------
# .cube (the lead's reader, same checks)


def test_cube_edge_cases_match_ocio(tmp_path, ocio_file_apply):
    table = random_table(5, 14)
    rows = "\n".join(" ".join(f"{v:.9g}" for v in r) for r in table.reshape(-1, 3).tolist())
    path = _write(tmp_path / "d.cube", "# comment\nTITLE \"x\"\nDOMAIN_MIN -0.1 -0.2 0\n"
                  f"DOMAIN_MAX 1.5 2 3\nLUT_3D_SIZE 5\n\n{rows}\n", crlf=True)
    lut = load_lut3d(path)
    assert lut.title == "x" and lut.comments == ["comment"]
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)
    path = _write(tmp_path / "r.cube", f"LUT_3D_SIZE 5\nLUT_3D_INPUT_RANGE -0.5 2.5\n{rows}\n")
    lut = load_lut3d(path)
    assert lut.domain_min.tolist() == [-0.5] * 3
    _ocio_matches(path, lut, ocio_file_apply, 2e-6)
    shaper = "\n".join(f"{v:.9g} {v:.9g} {v:.9g}" for v in np.linspace(0, 1, 16) ** 0.5)
    path = _write(tmp_path / "s.cube", "LUT_1D_SIZE 16\nLUT_1D_INPUT_RANGE 0 4\nLUT_3D_SIZE 5\n"
                  f"{shaper}\n{rows}\n")
    lut = load_lut3d(path)
    assert lut.shaper is not None and lut.input_domain[1].tolist() == [4, 4, 4]
    _ocio_matches(path, lut, ocio_file_apply, 2e-6)
    path = _write(tmp_path / "one.cube", f"LUT_1D_SIZE 16\n{shaper}\n")
    assert load_lut3d(path).shaper.size == 16  # 1D only: the shaper of an exact 3D equivalent


@pytest.mark.parametrize("text,line,match", [
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7, None, "found 7"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "0 0 nan\n", 9, "NaN"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "0 zero 0\n", 9, "non-numeric"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "0 0\n", 9, "expected 3"),
    ("LUT_3D_SIZE 100000\n0 0 0\n", 1, "outside"),
    ("NONSENSE 3\n", 1, "unknown keyword"),
])
def test_cube_bad_input(text, line, match, tmp_path):
    path = _write(tmp_path / "bad.cube", text)
    _assert_lut_error(lambda: read_lut(path), path, line, match)


# ----------------------------------------------------------------------------------------------
# headers claiming huge sizes are refused before any allocation


def _huge_png(tmp_path):
    return tmp_path / "huge.png", _png(100_000, 100_000, idat=zlib.compress(b"\x00" * 16))


HUGE = {
    "cube": lambda t: (t / "h.cube", b"LUT_3D_SIZE 100000\n0 0 0\n"),
    "spi3d": lambda t: (t / "h.spi3d", b"SPILUT 1.0\n3 3\n100000 100000 100000\n0 0 0 0 0 0\n"),
    "spi1d": lambda t: (t / "h.spi1d", b"Version 1\nLength 999999999\nComponents 3\n{\n0 0 0\n}\n"),
    "csp": lambda t: (t / "h.csp", _CSP_HEAD.encode() + b"100000 100000 100000\n0 0 0\n"),
    "csp_prelut": lambda t: (t / "p.csp", b"CSPLUTV100\n3D\n999999999\n0 1\n0 1\n"),
    "3dl": lambda t: (t / "h.3dl", b"3DMESH\nMesh 60 12\n0 0 4095\n"),
    "png": _huge_png,
}


@pytest.mark.parametrize("kind", sorted(HUGE))
def test_huge_header_refused_before_allocating(kind, tmp_path):
    path, data = HUGE[kind](tmp_path)
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(LutError) as info:
            read_lut(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while refusing {kind}"


# ----------------------------------------------------------------------------------------------
# generic bad input, every reader


def _good_files(tmp_path) -> dict:
    """One small valid file per format: (path, index of a data line for mutations, token)."""
    files = {}
    table = np.clip(random_table(2, 15), 0, 1)
    rows = "\n".join(" ".join(f"{v:.6f}" for v in r) for r in table.reshape(-1, 3).tolist())
    files["cube"] = (_write(tmp_path / "g.cube", f"LUT_3D_SIZE 2\n{rows}\n"), 3)
    files["3dl"] = (_write(tmp_path / "g.3dl", _threedl_text(_smooth_int_table(3, 4095),
                                                            mesh=(1, 12), header="")), 5)
    files["spi3d"] = (_write(tmp_path / "g.spi3d", _spi3d_text(table, comment=False)), 5)
    files["spi1d"] = (_write(tmp_path / "g.spi1d", _spi1d_text(table.reshape(-1, 3), 3)), 7)
    files["csp"] = (_write(tmp_path / "g.csp", _csp_text(table, [(np.array([0.0, 1.0]),) * 2] * 3,
                                                         metadata=None)), 15)
    return files


MUTATIONS = ["empty", "blank", "truncated", "drop_line", "non_numeric", "nan", "inf", "binary"]


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("fmt", ["cube", "3dl", "spi3d", "spi1d", "csp"])
def test_text_readers_bad_input(fmt, mutation, tmp_path):
    path, data_line = _good_files(tmp_path)[fmt]
    read_lut(path)  # the unmutated file is fine
    lines = path.read_text().splitlines()
    line = None
    if mutation == "empty":
        path.write_bytes(b"")
    elif mutation == "blank":
        path.write_bytes(b"  \n\r\n\t\n")
    elif mutation == "truncated":
        path.write_text("\n".join(lines[: len(lines) // 2]))
    elif mutation == "drop_line":
        del lines[data_line - 1]
        path.write_text("\n".join(lines) + "\n")
    elif mutation == "binary":
        path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8))
                         + b"\x00")
    else:
        token = {"non_numeric": "x1y", "nan": "nan", "inf": "-inf"}[mutation]
        parts = lines[data_line - 1].split()
        parts[-1] = token
        lines[data_line - 1] = " ".join(parts)
        path.write_text("\n".join(lines) + "\n")
        line = data_line
    _assert_lut_error(lambda: read_lut(path), path, line)


@pytest.mark.parametrize("mutation", ["empty", "truncated", "binary", "not_xml", "bad_array"])
def test_clf_bad_input(mutation, tmp_path):
    path = tmp_path / "g.clf"
    clf.write_clf(LUT3D(random_table(3, 16)), path)
    text = path.read_text()
    data = {"empty": b"", "truncated": text[: len(text) // 2].encode(),
            "binary": b"\x00\x01\x02garbage\xff" * 50, "not_xml": b"LUT_3D_SIZE 2\n",
            "bad_array": text.replace('dim="3 3 3 3"', 'dim="3 3 3 5"').encode()}[mutation]
    path.write_bytes(data)
    _assert_lut_error(lambda: read_lut(path), path)


@pytest.mark.parametrize("mutation", ["empty", "garbage", "gray", "not_hald_size", "truncated"])
def test_image_bad_input(mutation, tmp_path):
    path = tmp_path / "bad.png"
    if mutation == "empty":
        path.write_bytes(b"")
    elif mutation == "garbage":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x07" * 300)
    elif mutation == "gray":
        path.write_bytes(_png(8, 8, 8, 0, data=np.zeros((8, 8), np.uint8)))
    elif mutation == "not_hald_size":
        path.write_bytes(_png(100, 100, 8, 2, data=np.zeros((100, 100, 3), np.uint8)))
    else:
        good = _png(8, 8, 8, 2, data=np.zeros((8, 8, 3), np.uint8))
        path.write_bytes(good[: len(good) - 30])
    for reader in (hald.read_hald, hald.read_strip, read_lut):
        _assert_lut_error(lambda: reader(path), path)


def test_unknown_format_and_unreadable_files(tmp_path):
    path = _write(tmp_path / "lut.xyz", "this is not a LUT\n")
    assert detect_format(path) == "ocio"
    _assert_lut_error(lambda: read_lut(path), path, match="OpenColorIO cannot read")
    _assert_lut_error(lambda: read_lut(path, format="bogus"), path, match="unknown format")
    missing = tmp_path / "missing.spi3d"
    _assert_lut_error(lambda: read_lut(missing), missing, match="not found")
    _assert_lut_error(lambda: read_lut(tmp_path), tmp_path)


# ----------------------------------------------------------------------------------------------
# content detection and OCIO-sampled formats


def test_sniffing(tmp_path):
    files = _good_files(tmp_path)
    for fmt in ("cube", "3dl", "spi3d", "csp"):
        src = files[fmt][0]
        blind = tmp_path / f"blind_{fmt}.dat"
        blind.write_bytes(src.read_bytes())
        assert detect_format(blind) == fmt
    assert spi.sniff_spi1d(files["spi1d"][0].read_bytes())
    assert not spi.sniff(files["spi1d"][0].read_bytes())
    clf_path = tmp_path / "x.clf"
    clf.write_clf(LUT3D(random_table(2)), clf_path)
    assert clf.sniff(clf_path.read_bytes()[:4096])
    png = tmp_path / "x.png"
    hald.write_hald(LUT3D(random_table(4).clip(0, 1)), png)
    assert hald.sniff(png.read_bytes()[:16]) and not threedl.sniff(png.read_bytes()[:16])


def test_ocio_sampled_matrix_file(tmp_path, ocio_file_apply):
    path = _write(tmp_path / "m.spimtx", "0.6 0.3 0.1 0\n0.2 0.7 0.1 0\n0.05 0.15 0.8 0\n")
    lut = load_lut3d(path)
    assert lut.size == ocio_sampled.SAMPLE_SIZE
    assert any("sampled from OpenColorIO" in c for c in lut.comments)
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)  # a linear map is exact on any lattice


def test_ocio_reader_extracts_exact_tables(tmp_path, ocio_file_apply):
    codes = _smooth_int_table(9, 4095)
    path = _write(tmp_path / "x.3dl", _threedl_text(codes, mesh=(3, 12)))
    via_ocio = read_lut(path, format="ocio")
    np.testing.assert_allclose(via_ocio.table, load_lut3d(path).table, atol=1e-7)
    assert any("read through OpenColorIO" in c for c in via_ocio.comments)
    x = np.linspace(0, 1, 33)
    spi1d = _write(tmp_path / "y.spi1d", _spi1d_text(np.stack([x ** 2] * 3, -1), 1, -0.5, 2.0))
    one = read_lut(spi1d, format="ocio")
    assert isinstance(one, LUT1D)
    np.testing.assert_allclose(one.domain_min, [-0.5] * 3)
    np.testing.assert_allclose(one.table[:, 0], x ** 2, atol=1e-7)


def test_clf_with_mixing_matrix_is_sampled(tmp_path, ocio_file_apply):
    path = tmp_path / "mix.clf"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ProcessList compCLFversion="3.0" id="mix" name="mixing">\n'
        '  <Matrix inBitDepth="32f" outBitDepth="32f"><Array dim="3 3">\n'
        "    0.8 0.2 0.0  0.1 0.8 0.1  0.0 0.3 0.7</Array></Matrix>\n"
        '  <LUT1D inBitDepth="32f" outBitDepth="32f"><Array dim="3 1">0 0.7 1</Array></LUT1D>\n'
        "</ProcessList>\n")
    lut = load_lut3d(path)
    assert lut.shaper is None and lut.size == 65
    assert any("not an exact LUT because of a MatrixTransform" in c for c in lut.comments)
    # Matrix then a 2-segment curve: kinks along slanted planes, so only close, not exact.
    _ocio_matches(path, lut, ocio_file_apply, 0.02)


def test_clf_integer_bit_depths_are_normalised(tmp_path, ocio_file_apply):
    codes = _smooth_int_table(3, 4095)
    body = "\n".join(" ".join(str(v) for v in row)
                     for row in codes.transpose(2, 1, 0, 3).reshape(-1, 3).tolist())
    path = tmp_path / "int.clf"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ProcessList compCLFversion="3.0" id="i">\n'
        '  <LUT3D inBitDepth="10i" outBitDepth="12i" interpolation="trilinear">\n'
        f'    <Array dim="3 3 3 3">\n{body}\n    </Array>\n  </LUT3D>\n</ProcessList>\n')
    lut = load_lut3d(path)
    np.testing.assert_allclose(lut.table, codes / 4095.0, atol=1e-7)
    assert "interpolation: trilinear (as the file requests)" in lut.comments
    _ocio_matches(path, lut, ocio_file_apply, 1e-6)

"""Property tests over every reader: whatever the bytes, only LutError may escape.

Inputs: mutated valid files (generated ones, plus small files of the shared corpus when it is
present), random bytes, and random headers around plausible data. A reader may also succeed;
then it must return a LUT3D or LUT1D with finite values.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lutplug import LUT1D, LUT3D, LutError
from lutplug.core.formats import clf, csp, cube, hald, ocio_sampled, spi, threedl

pytest.importorskip("PyOpenColorIO")
pytest.importorskip("OpenImageIO")

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "luts"

READERS = {
    "cube": (cube.read, ".cube"),
    "3dl": (threedl.read, ".3dl"),
    "spi3d": (spi.read_spi3d, ".spi3d"),
    "spi1d": (spi.read_spi1d, ".spi1d"),
    "csp": (csp.read, ".csp"),
    "clf": (clf.read, ".clf"),
    "hald": (hald.read_hald, ".png"),
    "strip": (hald.read_strip, ".png"),
    "ocio": (ocio_sampled.read, ".spimtx"),
}
#: Small real files used as extra mutation seeds when the corpus is present.
CORPUS_SEEDS = {
    "cube": ["colour-test_resolve_Three_Dimensional_Table_With_Shaper.cube",
             "colour-test_iridas_eotf_sRGB_3D.cube"],
    "spi3d": ["colour-test_sony_Colour_Correct.spi3d"],
    "csp": ["colour-test_cinespace_Three_Dimensional_Table_With_Shaper.csp"],
    "clf": ["ocio-test_lut3d_17x17x17_10i_12i.clf"],
    "strip": ["gpuimage_lookup_soft_elegance_2.png"],
}

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


def _png8(pixels: np.ndarray) -> bytes:
    import struct

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    h, w = pixels.shape[:2]
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _generated_seeds(tmp: Path) -> dict:
    rng = np.random.default_rng(0)
    t = rng.random((3, 3, 3, 3))
    rows = "\n".join(" ".join(f"{v:.5f}" for v in r) for r in t.reshape(-1, 3))
    ints = "\n".join(" ".join(str(int(v * 4095)) for v in r) for r in t.reshape(-1, 3))
    idx = [(i, j, k) for i in range(3) for j in range(3) for k in range(3)]
    spi3 = "\n".join(f"{i} {j} {k} {t[k, j, i, 0]:.5f} {t[k, j, i, 1]:.5f} {t[k, j, i, 2]:.5f}"
                     for i, j, k in idx)
    seeds = {
        "cube": [f"TITLE \"t\"\n# c\nLUT_3D_SIZE 3\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 2 3\n{rows}\n",
                 "LUT_1D_SIZE 3\nLUT_3D_SIZE 2\n0 0 0\n0.5 0.5 0.5\n1 1 1\n"
                 + "0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n"],
        "3dl": [f"3DMESH\nMesh 1 12\n0 512 1023\n{ints}\n\nLUT8\ngamma 1.0\n",
                f"0 400 1023\n{ints}\n"],
        "spi3d": [f"SPILUT 1.0\n3 3\n3 3 3\n{spi3}\n"],
        "spi1d": ["Version 1\nFrom -0.5 1.5\nLength 4\nComponents 3\n{\n"
                  "0 0 0\n0.3 0.3 0.2\n0.6 0.7 0.6\n1 1 1\n}\n",
                  "Version 1\nLength 3\nComponents 1\n{\n0\n0.5\n1\n}\n"],
        "csp": ["CSPLUTV100\n3D\nBEGIN METADATA\nm\nEND METADATA\n"
                "3\n0 0.5 1\n0 0.6 1\n2\n0 1\n0 1\n0\n\n3 3 3\n" + rows + "\n",
                "CSPLUTV100\n1D\n2\n0 1\n0 1\n2\n0 1\n0 1\n2\n0 1\n0 1\n3\n"
                "0 0 0\n.5 .5 .5\n1 1 1\n"],
        "ocio": ["0.6 0.3 0.1 0\n0.2 0.7 0.1 0\n0.05 0.15 0.8 0\n"],
    }
    out = {k: [s.encode() for s in v] for k, v in seeds.items()}
    clf_path = tmp / "seed.clf"
    clf.write_clf(LUT3D(t, shaper=LUT1D(np.linspace(0, 1, 5) ** 2, 0, 2)), clf_path)
    out["clf"] = [clf_path.read_bytes()]
    png16 = tmp / "seed.png"
    hald.write_hald(LUT3D(np.clip(rng.random((4, 4, 4, 3)), 0, 1)), png16)
    png8 = _png8((rng.random((8, 8, 3)) * 255).astype(np.uint8))
    out["hald"] = [png16.read_bytes(), png8]
    out["strip"] = [png8, _png8((rng.random((4, 16, 3)) * 255).astype(np.uint8))]
    return out


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(fuzz_dir) -> dict:
    out = _generated_seeds(fuzz_dir)
    if CORPUS.is_dir():
        for fmt, names in CORPUS_SEEDS.items():
            out[fmt] += [(CORPUS / n).read_bytes() for n in names if (CORPUS / n).exists()]
    return out


TOKENS = ["nan", "inf", "-inf", "-1", "1e400", "1e-400", "99999999999999999999", "", "abc",
          "0x10", "1_0", "\u22121", "\x00", "{", "}", "#", "<", "LUT_3D_SIZE", "65536", "3 3 3",
          "Mesh 9 12", "Length 4294967297"]


def _mutate(data: bytes, draw) -> bytes:
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "token", "line_dup", "line_del",
                                   "truncate"]))
        if not data:
            data = draw(st.binary(max_size=64))
            continue
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data = data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1:]
        elif op == "insert":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 64)):]
        elif op == "truncate":
            data = data[:pos]
        else:
            lines = data.split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            if op == "line_dup":
                lines.insert(k, lines[k])
            elif op == "line_del":
                del lines[k]
            else:
                parts = lines[k].split(b" ")
                j = draw(st.integers(0, len(parts) - 1))
                parts[j] = draw(st.sampled_from(TOKENS)).encode()
                lines[k] = b" ".join(parts)
            data = b"\n".join(lines)
    return data


def _check(fmt: str, path: Path, data: bytes) -> None:
    reader, _ = READERS[fmt]
    path.write_bytes(data)
    try:
        lut = reader(path)
    except LutError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(lut, (LUT3D, LUT1D))
    assert np.all(np.isfinite(lut.table))


@pytest.mark.parametrize("fmt", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_mutated_files_only_raise_lut_error(fmt, seeds, fuzz_dir, data):
    seed = data.draw(st.sampled_from(seeds[fmt]))
    _check(fmt, fuzz_dir / f"mutated{READERS[fmt][1]}", _mutate(seed, data.draw))


@pytest.mark.parametrize("fmt", sorted(READERS))
@settings(FUZZ, max_examples=30)
@given(blob=st.binary(max_size=3000))
def test_random_bytes_only_raise_lut_error(fmt, fuzz_dir, blob):
    _check(fmt, fuzz_dir / f"random{READERS[fmt][1]}", blob)


_HEADERS = {
    "cube": lambda a, b, c: f"LUT_3D_SIZE {a}\nDOMAIN_MIN {b} {b} {b}\nDOMAIN_MAX {c} {c} {c}\n",
    "3dl": lambda a, b, c: f"3DMESH\nMesh {a} {b}\n{c} 1023\n",
    "spi3d": lambda a, b, c: f"SPILUT 1.0\n3 3\n{a} {b} {c}\n",
    "spi1d": lambda a, b, c: f"Version 1\nFrom {b} {c}\nLength {a}\nComponents {a % 5}\n{{\n",
    "csp": lambda a, b, c: f"CSPLUTV100\n3D\n{a}\n{b} {c}\n{c} {b}\n0\n0\n{a} {a} {a}\n",
}


@pytest.mark.parametrize("fmt", sorted(_HEADERS))
@settings(FUZZ, max_examples=40)
@given(a=st.one_of(st.integers(-5, 300), st.integers(-2 ** 63, 2 ** 63)),
       b=st.one_of(st.integers(-3, 70000), st.floats(allow_nan=True)),
       c=st.one_of(st.integers(-3, 70000), st.floats(allow_nan=True)),
       rows=st.lists(st.lists(st.one_of(st.integers(-10, 70000), st.floats(width=32)),
                              min_size=1, max_size=6), max_size=40),
       closing=st.sampled_from(["", "}\n", "LUT8\n"]))
def test_random_headers_only_raise_lut_error(fmt, fuzz_dir, a, b, c, rows, closing):
    text = _HEADERS[fmt](a, b, c) + "".join(" ".join(str(v) for v in r) + "\n" for r in rows)
    _check(fmt, fuzz_dir / f"header{READERS[fmt][1]}", (text + closing).encode())

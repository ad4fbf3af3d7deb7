"""Seed inputs for the fuzzers (tests/test_formats_fuzz.py, tests/test_hostile_fuzz.py and the
atheris targets in :mod:`tests.fuzz.targets`): small valid files of every format lutplug reads,
built in code (plus a few files of the shared corpus when it is present)."""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from lutplug import LUT1D, LUT3D
from lutplug.core.formats import clf, csp, cube, hald, ocio_sampled, spi, threedl

#: Every LUT reader under fuzz: format name -> (reader(path), file extension).
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
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "luts"
#: Small real files used as extra mutation seeds when the corpus is present.
CORPUS_SEEDS = {
    "cube": ["colour-test_resolve_Three_Dimensional_Table_With_Shaper.cube",
             "colour-test_iridas_eotf_sRGB_3D.cube"],
    "spi3d": ["colour-test_sony_Colour_Correct.spi3d"],
    "csp": ["colour-test_cinespace_Three_Dimensional_Table_With_Shaper.csp"],
    "clf": ["ocio-test_lut3d_17x17x17_10i_12i.clf"],
    "strip": ["gpuimage_lookup_soft_elegance_2.png"],
}


def png8(pixels: np.ndarray) -> bytes:
    import struct

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    h, w = pixels.shape[:2]
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def generated_seeds(tmp: Path) -> dict:
    """{format name: [file bytes]} for every LUT reader (``tmp``: a scratch folder)."""
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
    small = png8((rng.random((8, 8, 3)) * 255).astype(np.uint8))
    out["hald"] = [png16.read_bytes(), small]
    out["strip"] = [small, png8((rng.random((4, 16, 3)) * 255).astype(np.uint8))]
    return out


def lut_seeds(tmp: Path) -> dict:
    """:func:`generated_seeds` plus the corpus files of :data:`CORPUS_SEEDS` that exist."""
    out = generated_seeds(tmp)
    if CORPUS.is_dir():
        for fmt, names in CORPUS_SEEDS.items():
            out[fmt] += [(CORPUS / n).read_bytes() for n in names if (CORPUS / n).exists()]
    return out

"""Property tests over every reader: whatever the bytes, only LutError may escape.

Inputs: mutated valid files (generated ones, plus small files of the shared corpus when it is
present), random bytes, and random headers around plausible data. A reader may also succeed;
then it must return a LUT3D or LUT1D with finite values.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lutplug import LUT1D, LUT3D, LutError
from tests.fuzz.mutate import mutate
from tests.fuzz.seeds import READERS, lut_seeds

pytest.importorskip("PyOpenColorIO")
pytest.importorskip("OpenImageIO")

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(fuzz_dir) -> dict:
    return lut_seeds(fuzz_dir)


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
    _check(fmt, fuzz_dir / f"mutated{READERS[fmt][1]}", mutate(seed, data.draw))


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

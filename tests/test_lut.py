import numpy as np
import pytest

from lutplug import LUT1D, LUT3D, LutError
from lutplug.core.lut import MAX_GRID_3D, lattice
from lutplug.core.load import as_lut3d
from tests.helpers import random_table


def test_identity_and_domain():
    lut = LUT3D.identity(5, (-0.1, -0.2, 0.0), (1.5, 2.0, 3.0))
    x = np.random.default_rng(0).uniform([-0.1, -0.2, 0], [1.5, 2, 3], (1000, 3))
    np.testing.assert_allclose(lut.apply(x), x, atol=1e-5)
    assert lut.input_domain[0].tolist() == [-0.1, -0.2, 0.0]


def test_lattice_is_r_fastest():
    pts = lattice(3)
    assert pts[:4].tolist() == [[0, 0, 0], [0.5, 0, 0], [1, 0, 0], [0, 0.5, 0]]
    assert pts[9].tolist() == [0, 0, 0.5]


def test_shaper_then_cube():
    # shaper x -> x^2 on [0, 4] maps into a 3D domain [0, 16] holding an identity cube:
    # the whole LUT must be x^2 (to the shaper's linear-interpolation accuracy).
    x = np.linspace(0, 4, 4097)
    shaper = LUT1D(np.stack([x ** 2] * 3, -1), 0, 4)
    lut = LUT3D(LUT3D.identity(2, 0, 16).table, 0, 16, shaper=shaper)
    probe = np.random.default_rng(0).uniform(0, 4, (1000, 3))
    np.testing.assert_allclose(lut.apply(probe), probe ** 2, atol=1e-5 * 16)
    assert lut.input_domain[1].tolist() == [4, 4, 4]


def test_resample_keeps_shaper_and_values_at_common_nodes():
    lut = LUT3D(random_table(9), shaper=LUT1D(np.linspace(0, 1, 16) ** 0.5))
    small = lut.resample(5)
    assert small.size == 5 and small.shaper is lut.shaper
    np.testing.assert_allclose(small.table, lut.table[::2, ::2, ::2], atol=1e-6)


def test_one_d_lut_as_exact_3d():
    table = np.stack([np.linspace(0, 1, 33) ** p for p in (0.5, 1.0, 2.2)], -1)
    lut1 = LUT1D(table)
    lut3 = as_lut3d(lut1)
    x = np.random.default_rng(3).random((5000, 3))
    np.testing.assert_allclose(lut3.apply(x), lut1.apply(x), atol=1e-6)


@pytest.mark.parametrize("table", [np.zeros((4, 4, 4)), np.zeros((4, 4, 5, 3)), np.zeros((1, 1, 1, 3)),
                                   np.full((2, 2, 2, 3), np.nan)])
def test_bad_tables_are_lut_errors(table):
    with pytest.raises(LutError):
        LUT3D(table)


def test_bad_domain_and_sizes():
    with pytest.raises(LutError, match="domain_max"):
        LUT3D(random_table(3), domain_min=1, domain_max=0)
    with pytest.raises(LutError):
        lattice(MAX_GRID_3D + 1)
    with pytest.raises(LutError, match="interpolation"):
        LUT3D.identity(2).apply([[0, 0, 0]], method="cubic")

import numpy as np
import pytest

colour = pytest.importorskip("colour")
from colour.algebra import table_interpolation_tetrahedral, table_interpolation_trilinear

from lutplug.core.interpolate import linear_1d, tetrahedral, trilinear, trilinear_resample
from lutplug.core.lut import lattice
from tests.helpers import random_table


@pytest.mark.parametrize("n", [2, 3, 17, 33])
@pytest.mark.parametrize("ours, theirs", [(tetrahedral, table_interpolation_tetrahedral),
                                          (trilinear, table_interpolation_trilinear)])
def test_matches_colour_science(n, ours, theirs):
    table = random_table(n, seed=n)
    u = np.random.default_rng(1).uniform(-0.1, 1.1, (20000, 3))
    # colour-science indexes table[r, g, b]; ours is table[b, g, r] (R fastest).
    ref = theirs(u, table.transpose(2, 1, 0, 3).astype(np.float64))
    np.testing.assert_allclose(ours(table, u), ref, atol=2e-6)


@pytest.mark.parametrize("n", [3, 9])
def test_tetrahedral_matches_colour_science_on_ties(n):
    # points where two or three fractions are equal (cell diagonals, faces, nodes) and on the
    # cell boundaries: the tetrahedron choice there must not matter
    table = random_table(n, seed=7)
    rng = np.random.default_rng(3)
    k = rng.integers(0, n - 1, (6000, 3)) + 0.0
    f = rng.random((6000, 1))
    u = (k + np.concatenate([f, f, rng.random((6000, 1))], 1)) / (n - 1)  # fr == fg
    u[2000:4000] = ((k + f)[2000:4000]) / (n - 1)  # fr == fg == fb
    u[4000:] = np.round(u[4000:] * (n - 1) * 2) / ((n - 1) * 2)  # half-way and node points
    u = np.concatenate([u, u[:, [2, 0, 1]], u[:, [1, 2, 0]]])
    ref = table_interpolation_tetrahedral(u, table.transpose(2, 1, 0, 3).astype(np.float64))
    np.testing.assert_allclose(tetrahedral(table, u), ref, atol=2e-6)


def test_tetrahedral_exact_on_affine_functions():
    # Tetrahedral interpolation reproduces any affine map exactly (closed form).
    n = 9
    g = np.linspace(0, 1, n)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rgb = np.stack([r, gg, b], -1)
    m = np.array([[0.8, 0.3, -0.1], [0.1, 0.9, 0.2], [-0.2, 0.05, 1.1]])
    table = (rgb @ m.T + [0.01, -0.02, 0.03]).astype(np.float32)
    u = np.random.default_rng(2).random((5000, 3))
    np.testing.assert_allclose(tetrahedral(table, u), u @ m.T + [0.01, -0.02, 0.03], atol=1e-6)


@pytest.mark.parametrize("n, size", [(2, 9), (5, 5), (17, 65), (33, 8)])
def test_trilinear_resample_is_colour_science_at_every_node(n, size):
    # a table read one axis at a time at every node of a size³ lattice: colour-science's
    # trilinear at those points, and bit for bit our point-wise trilinear
    table = random_table(n, seed=n + size)
    out = trilinear_resample(table, size)
    assert out.shape == (size, size, size, 3) and out.dtype == np.float32
    u = lattice(size)
    ref = table_interpolation_trilinear(u.astype(np.float64), table.transpose(2, 1, 0, 3).astype(np.float64))
    np.testing.assert_allclose(out.reshape(-1, 3), ref, atol=2e-6)
    np.testing.assert_array_equal(out.reshape(-1, 3), trilinear(table, u))


def test_nodes_are_reproduced_and_shape_kept():
    table = random_table(5)
    g = np.linspace(0, 1, 5)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    u = np.stack([r, gg, b], -1)  # (5, 5, 5, 3)
    for fn in (tetrahedral, trilinear):
        out = fn(table, u)
        assert out.shape == u.shape and out.dtype == np.float32
        np.testing.assert_allclose(out, table, atol=1e-6)


def test_linear_1d_per_channel():
    table = np.stack([np.linspace(0, 1, 5) ** p for p in (1, 2, 3)], -1).astype(np.float32)
    u = np.array([[0.5, 0.5, 0.5], [0.125, 2.0, -1.0]])
    out = linear_1d(table, u)
    assert out[0].tolist() == pytest.approx([0.5, 0.25, 0.125])
    # 0.125 lies between nodes 0 and 0.25 (linear), 2.0 clamps to 1, -1 clamps to 0.
    assert out[1].tolist() == pytest.approx([0.125, 1.0, 0.0])


def test_bad_shapes_raise_value_error():
    with pytest.raises(ValueError):
        tetrahedral(np.zeros((4, 4, 3, 3), np.float32), np.zeros((1, 3)))
    with pytest.raises(ValueError):
        trilinear(np.zeros((4, 4, 4, 3), np.float32), np.zeros((1, 2)))

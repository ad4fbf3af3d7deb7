import math

import numpy as np
import pytest

colour = pytest.importorskip("colour")

from lutplug import LUT3D
from lutplug.metrics import (QUALITY_TARGETS, delta_e2000, evaluation_points, psnr,
                             quality_report, srgb_to_lab)
from tests.helpers import random_table

# Sharma, Wu & Dalal (2005), Table 1: (Lab1, Lab2, ΔE00) — the published CIEDE2000 test data.
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_sharma_reference_values():
    lab1 = np.array([s[0] for s in SHARMA])
    lab2 = np.array([s[1] for s in SHARMA])
    np.testing.assert_allclose(delta_e2000(lab1, lab2), [s[2] for s in SHARMA], atol=5e-5)
    np.testing.assert_allclose(delta_e2000(lab2, lab1), [s[2] for s in SHARMA], atol=5e-5)


def test_matches_colour_science_on_random_pairs():
    rng = np.random.default_rng(0)
    lab1 = np.column_stack([rng.uniform(0, 100, 20000), rng.uniform(-128, 128, (20000, 2))])
    lab2 = lab1 + rng.normal(0, 5, lab1.shape)
    lab2[::3] = np.column_stack([rng.uniform(0, 100, len(lab2[::3])),
                                 rng.uniform(-128, 128, (len(lab2[::3]), 2))])
    ref = colour.delta_E(lab1, lab2, method="CIE 2000")
    np.testing.assert_allclose(delta_e2000(lab1, lab2), ref, atol=1e-6, rtol=0)


def test_srgb_to_lab_matches_colour_science():
    rgb = np.random.default_rng(1).uniform(-0.2, 1.2, (10000, 3))
    ref = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.clip(rgb, 0, 1)))
    # the D65 white is stored to 8 decimals (lutplug.metrics.colour.WHITE_D65): < 1e-6 in L*a*b*
    np.testing.assert_allclose(srgb_to_lab(rgb), ref, atol=1e-6, rtol=0)


def test_psnr_closed_form():
    a = np.zeros((100, 3))
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 0.01) == pytest.approx(40.0)


def test_quality_report_of_identical_and_shifted_luts():
    ref = LUT3D(np.clip(random_table(9), 0.05, 0.9))
    same = quality_report(ref, ref, n_random=5000)
    # lattice of max(grid, 17) nodes per axis + the random points
    assert same.de_max == 0 and same.psnr == math.inf and same.points == 17 ** 3 + 5000
    shifted = LUT3D(ref.table + 0.01)
    rep = quality_report(ref, shifted, n_random=5000)
    x = evaluation_points(ref, n_random=5000)
    expected = colour.delta_E(colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.clip(ref.apply(x), 0, 1))),
                              colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.clip(shifted.apply(x), 0, 1))),
                              method="CIE 2000")
    # rel 1e-7: the D65 white to 8 decimals (lutplug.metrics.colour.WHITE_D65)
    assert rep.de_mean == pytest.approx(expected.mean(), rel=1e-7)
    assert rep.de_max == pytest.approx(expected.max(), rel=1e-7)
    # a uniform 0.01 shift that never clips is exactly 40 dB, below T1's 45 dB
    assert rep.psnr == pytest.approx(40.0, abs=1e-4)
    assert rep.meets(QUALITY_TARGETS["draft"]) and not rep.meets(QUALITY_TARGETS["invisible"])

import numpy as np
import pytest

ocio = pytest.importorskip("PyOpenColorIO")
from lutplug import LUT1D, LUT3D, LutError, read_lut
from lutplug.evaluate.ocio_cpu import apply_image, cpu_processor
from tests.helpers import random_table, shared_lut


def _image(lut, shape=(64, 80), seed=0):
    dmin, dmax = lut.input_domain
    return (dmin + np.random.default_rng(seed).random(shape + (3,)) * (dmax - dmin)).astype(np.float32)


@pytest.mark.parametrize("make", [
    lambda: LUT3D(random_table(17)),
    lambda: LUT3D(random_table(5), (-0.1, -0.2, 0.0), (1.5, 2.0, 3.0)),
    lambda: LUT3D(random_table(9), 0.0, 4.0, shaper=LUT1D(np.linspace(0, 1, 64) ** 2 * 4, -1, 2)),
])
def test_ocio_processor_matches_numpy_tetrahedral(make):
    lut = make()
    img = _image(lut)
    np.testing.assert_allclose(apply_image(lut, img), lut.apply(img), atol=2e-6 * max(
        1.0, float(np.abs(lut.table).max())))


def test_mix_and_alpha():
    lut = LUT3D(random_table(9))
    rgba = np.concatenate([_image(lut), np.random.default_rng(5).random((64, 80, 1))], -1).astype(np.float32)
    full = apply_image(lut, rgba)
    half = apply_image(lut, rgba, mix=0.25)
    np.testing.assert_array_equal(full[..., 3], rgba[..., 3])
    np.testing.assert_allclose(half[..., :3], 0.75 * rgba[..., :3] + 0.25 * full[..., :3], atol=1e-6)
    np.testing.assert_array_equal(apply_image(lut, rgba, mix=0.0), rgba)
    with pytest.raises(LutError, match="mix"):
        apply_image(lut, rgba, mix=1.5)
    with pytest.raises(LutError, match="shape"):
        apply_image(lut, rgba[..., :2])


def test_same_result_as_ocio_reading_the_file_itself():
    path = shared_lut("freshluts_moonlight_orange.cube")
    img = _image(LUT3D.identity(2), (50, 50))
    ref = img.copy()
    cfg = ocio.Config.CreateRaw()
    cfg.getProcessor(ocio.FileTransform(str(path), interpolation=ocio.INTERP_TETRAHEDRAL)) \
        .getDefaultCPUProcessor().applyRGB(ref)
    np.testing.assert_allclose(apply_image(read_lut(path), img), ref, atol=1e-6)
    assert cpu_processor(read_lut(path)) is not None

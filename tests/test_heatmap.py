import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image

from lutplug import LUT3D
from lutplug.metrics.heatmap import colorize, lut_slice_delta_e, save_heatmap
from lutplug.metrics import delta_e2000_rgb
from tests.helpers import random_table


def test_colour_scale_anchors():
    rgb = colorize(np.array([[0.0, 1.5, 3.0, 30.0]]), threshold=1.5)
    assert rgb[0, 0].tolist() == [13, 13, 89]        # 0: dark blue
    assert rgb[0, 1].tolist() == [242, 230, 38]      # the threshold: yellow
    assert rgb[0, 2].tolist() == rgb[0, 3].tolist() == [191, 0, 0]  # >= 2x threshold: red


def test_slices_match_direct_delta_e_and_png_written(tmp_path):
    ref = LUT3D(np.clip(random_table(9), 0, 1))
    cand = LUT3D(np.clip(ref.table + 0.02, 0, 1))
    de = lut_slice_delta_e(ref, cand, slices=(0.5,), resolution=8)
    assert de.shape == (8, 8)
    # pixel (row g, column r) of the B = 0.5 slice is the ΔE at input (r, g, 0.5)
    r, g = 5 / 7, 2 / 7
    x = np.array([[r, g, 0.5]], np.float32)
    assert de[2, 5] == pytest.approx(float(delta_e2000_rgb(ref.apply(x), cand.apply(x))[0]), rel=1e-6)
    path = tmp_path / "h.png"
    save_heatmap(de, path, threshold=1.5, title="test")
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.width >= 8 and im.height > 8

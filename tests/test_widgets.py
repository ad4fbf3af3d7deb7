"""lutplug.widgets without a browser: traits, the numbers against independent computations
(OpenColorIO for the grade, lutplug.metrics / colour-science for ΔE00 and PSNR), display
downscaling above 2 MP, paths against objects, the picker messages and PackBrowser's items."""
import hashlib
import io
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("anywidget")
import traitlets
from PIL import Image

from lutplug import LUT3D, read_lut
from lutplug.codec.nlut import load_nlut, open_nlut
from lutplug.data import data_path
from lutplug.evaluate.ocio_cpu import apply_image
from lutplug.metrics.heatmap import colorize
from lutplug.imageio import write_image
from lutplug.metrics import delta_e2000_rgb, psnr, quality_report
from lutplug.widgets import CompareWidget, PackBrowser
from lutplug.widgets.compare import STATIC
from lutplug.widgets.images import MAX_DISPLAY_PIXELS, display_shape, review_plate_path
from tests.nlut_helpers import random_nlut

CUBE = data_path("freshluts_cool_cinema.cube")
N_RANDOM = 5000  # domain statistics: lattice + this many points keeps each widget quick


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _picture(h=96, w=128, seed=0) -> np.ndarray:
    """A smooth colour field with noise, float32 (h, w, 3) in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x / w, y / h, 0.5 + 0.4 * np.sin(x / 9.0) * np.cos(y / 7.0)], -1)
    rgb = rgb + np.random.default_rng(seed).normal(0, 0.03, rgb.shape)
    return np.clip(rgb, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def lut() -> LUT3D:
    return read_lut(CUBE)


@pytest.fixture(scope="module")
def coarse(lut) -> LUT3D:
    """A visibly different candidate: the grade resampled to 5³, held in memory."""
    return lut.resample(5)


def test_review_plate_is_bundled_with_its_licence():
    path = review_plate_path()
    with Image.open(path) as im:
        assert im.size == (1024, 768) and im.mode == "RGB"
    licence = (path.parent / "LICENSE.md").read_text()
    assert hashlib.sha256(path.read_bytes()).hexdigest() in licence
    for words in ("public domain", "CC0", "astronaut", "raccoon", "rocket", "coffee"):
        assert words in licence


def test_front_end_is_bundled_and_loads_nothing_from_the_network():
    for name in ("compare.js", "pack.js", "widgets.css"):
        text = (STATIC / name).read_text()
        assert "http://" not in text and "https://" not in text and "@import" not in text
        assert "from \"" not in text and "from '" not in text and "import(" not in text
    # the wipe position stays in the browser (tests/test_widgets_browser.py watches the socket)
    assert 'model.set("split"' not in (STATIC / "compare.js").read_text()
    from lutplug.widgets.pack import PackGrid

    assert str(CompareWidget._esm) == (STATIC / "compare.js").read_text()  # files, read by anywidget
    grid = PackGrid()
    assert grid._esm == (STATIC / "pack.js").read_text() and grid._css == (STATIC / "widgets.css").read_text()


def test_image_stats_match_an_independent_computation(lut, coarse):
    pic = _picture()
    w = CompareWidget(CUBE, coarse, pic, n_random=N_RANDOM)
    a = apply_image(lut, pic)  # OpenColorIO's tetrahedral, not lutplug's
    b = apply_image(coarse, pic)
    de = delta_e2000_rgb(a, b)
    s = w.image_stats
    assert (s.width, s.height) == (128, 96)
    assert s.de_mean == pytest.approx(de.mean(), rel=1e-4)
    assert s.de_p99 == pytest.approx(np.percentile(de, 99), rel=1e-4)
    assert s.de_max == pytest.approx(de.max(), rel=1e-4)
    assert s.psnr == pytest.approx(psnr(a, b), abs=1e-3)
    colour = pytest.importorskip("colour")  # ΔE00 by an independent implementation too
    lab = [colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.clip(x, 0, 1))) for x in (a, b)]
    assert s.de_mean == pytest.approx(colour.delta_E(*lab, method="CIE 2000").mean(), rel=2e-3)
    d = quality_report(lut, coarse, n_random=N_RANDOM)
    assert w.stats["domain"]["de_p99"] == pytest.approx(d.de_p99)
    assert w.stats["domain"]["points"] == d.points
    assert w.stats["image"]["de_max"] == pytest.approx(de.max(), rel=1e-4)
    json.dumps(w.stats, allow_nan=False)  # what travels to the browser is plain JSON
    assert "vs" in w.summary() and f"{s.de_mean:.3f}" in w.summary()


def test_pictures_and_probe_carry_both_grades(lut, coarse):
    pic = _picture()
    w = CompareWidget(lut, coarse, pic, n_random=N_RANDOM)
    assert (w.width, w.height) == (128, 96)
    ref_a = (np.clip(apply_image(lut, pic), 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.abs(_png(w.original_png).astype(int) - ref_a).max() <= 1
    ref_b = (np.clip(apply_image(coarse, pic), 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.abs(_png(w.compressed_png).astype(int) - ref_b).max() <= 1
    probe = np.frombuffer(w.probe, "<f2").reshape(96, 128, 10).astype(np.float32)
    np.testing.assert_allclose(probe[..., 0:3], pic, atol=1e-3)
    np.testing.assert_allclose(probe[..., 3:6], apply_image(lut, pic), atol=2e-3)
    np.testing.assert_allclose(probe[..., 6:9], apply_image(coarse, pic), atol=2e-3)
    de = delta_e2000_rgb(apply_image(lut, pic), apply_image(coarse, pic))
    np.testing.assert_allclose(probe[..., 9], de, rtol=1e-3, atol=1e-3)  # float16 of the exact ΔE00
    ramp = np.frombuffer(w.ramp, np.uint8).reshape(256, 3)  # colour of ΔE = i/255 · 2 · threshold
    np.testing.assert_array_equal(ramp, colorize(np.linspace(0, 2 * 1.5, 256), threshold=1.5))


def test_mix_and_exposure_regrade_like_opencolorio(lut, coarse):
    pic = _picture()
    w = CompareWidget(lut, coarse, pic, n_random=N_RANDOM)
    full = w.image_stats.de_mean
    w.mix = 0.4
    w.exposure = -1.0
    ref = apply_image(lut, pic * 0.5, mix=0.4)  # exposure −1 stop halves the input
    np.testing.assert_allclose(w.frame.original, ref, atol=2e-5)
    np.testing.assert_allclose(w.frame.source, pic * 0.5, atol=1e-7)
    de = delta_e2000_rgb(ref, apply_image(coarse, pic * 0.5, mix=0.4))
    assert w.image_stats.de_mean == pytest.approx(de.mean(), rel=1e-4)
    assert w.image_stats.de_mean < full
    assert w.stats["image"]["de_mean"] == pytest.approx(de.mean(), rel=1e-4)
    w.mix = 0.0  # no grade at all: both sides are the input, identical
    assert w.image_stats.de_max == 0 and w.stats["image"]["psnr"] is None  # inf is sent as null


def test_traits_are_validated(lut, coarse):
    w = CompareWidget(lut, coarse, _picture(16, 16), n_random=1000)
    for name, bad in (("view", "split-screen"), ("mix", 1.5), ("mix", -0.1), ("threshold", 0.0),
                      ("split", 2.0)):
        with pytest.raises(traitlets.TraitError):
            setattr(w, name, bad)
    w.view = "heatmap"
    assert w.view == "heatmap"
    with pytest.raises(Exception, match="expected a LUT or .nlut"):
        CompareWidget(lut, 42, _picture(16, 16))
    with pytest.raises(Exception, match="file not found"):
        CompareWidget(lut, "/nonexistent/grade.nlut", _picture(16, 16))
    with pytest.raises(Exception, match="pixels must be float, uint8 or uint16"):
        CompareWidget(lut, coarse, np.zeros((4, 4, 3), np.int32))


def test_pictures_over_two_megapixels_are_shown_downscaled():
    assert MAX_DISPLAY_PIXELS == 2_000_000
    assert CompareWidget.__init__.__kwdefaults__["max_display_pixels"] == MAX_DISPLAY_PIXELS
    h, w = display_shape(2160, 3840)  # UHD, 8.3 MP
    assert 1_990_000 < h * w <= 2_000_000 and abs(w / h - 16 / 9) < 0.002
    assert display_shape(1080, 1920) == (1060, 1885)  # HD is 2.07 MP: just over
    assert display_shape(1000, 2000) == (1000, 2000)  # 2 MP exactly: as is


def test_large_image_is_shown_downscaled_but_measured_at_full_resolution(lut, coarse):
    pic = _picture(300, 420, seed=2)  # 126 kpx against a 50 kpx display limit: same code as 2 MP
    w = CompareWidget(lut, coarse, pic, n_random=1000, max_display_pixels=50_000)
    assert w.width * w.height <= 50_000 < 300 * 420
    assert abs(w.width / w.height - 420 / 300) < 0.01
    assert _png(w.original_png).shape == (w.height, w.width, 3)
    assert len(w.probe) == w.width * w.height * 10 * 2
    a, b = apply_image(lut, pic), apply_image(coarse, pic)  # every pixel, independently
    de = delta_e2000_rgb(a, b)
    assert (w.image_stats.width, w.image_stats.height) == (420, 300)
    assert w.image_stats.de_mean == pytest.approx(de.mean(), rel=1e-4)
    assert w.image_stats.de_p99 == pytest.approx(np.percentile(de, 99), rel=1e-4)
    assert w.image_stats.de_max == pytest.approx(de.max(), rel=1e-4)
    assert w.image_stats.psnr == pytest.approx(psnr(a, b), abs=1e-3)
    assert w.stats["image"]["display_width"] == w.width < w.stats["image"]["width"] == 420
    # the display proxy is an area average of the full picture, graded afterwards
    assert w.frame.source.shape[:2] == (w.height, w.width)
    np.testing.assert_allclose(w.frame.source.mean(axis=(0, 1)), pic.mean(axis=(0, 1)), atol=2e-3)
    # statistics in bands of rows give the same numbers as all at once
    from lutplug.widgets.comparison import image_stats

    banded = image_stats(lut, coarse, pic, chunk_pixels=420 * 7)
    assert banded.de_mean == pytest.approx(de.mean(), rel=1e-5) and banded.psnr == pytest.approx(psnr(a, b))


def test_paths_and_objects_compare_the_same(tmp_path):
    nlut = random_nlut(3)
    nlut_path = tmp_path / "grade.nlut"
    size = nlut.save(nlut_path)
    cube = nlut.bake(9)
    cube_path = tmp_path / "grade_9.cube"
    from lutplug import write_lut

    write_lut(cube, cube_path)
    pic = _picture(32, 48)
    by_path = CompareWidget(cube_path, nlut_path, pic, n_random=1000)
    by_object = CompareWidget(read_lut(cube_path), load_nlut(nlut_path), pic, n_random=1000)
    assert by_path.stats == by_object.stats
    sizes = by_path.stats["sizes"]
    assert sizes["compressed_bytes"] == size == nlut_path.stat().st_size
    assert sizes["original_bytes"] == cube_path.stat().st_size
    assert sizes["ratio"] == pytest.approx(cube_path.stat().st_size / size)
    assert (sizes["original_name"], sizes["compressed_name"]) == ("grade_9.cube", "grade.nlut")
    in_memory = CompareWidget(read_lut(cube_path).resample(5), nlut, pic, n_random=1000)
    sizes = in_memory.stats["sizes"]
    assert "in memory" in sizes["original_name"] and sizes["original_bytes"] is None
    assert sizes["compressed_bytes"] == len(nlut.to_bytes()) and sizes["ratio"] is None


def test_picker_loads_paths_uploads_and_reports_errors(tmp_path, lut, coarse):
    w = CompareWidget(lut, coarse, _picture(16, 16), n_random=1000)
    hdr = _picture(40, 60) * 4.0  # scene-linear values well above 1
    exr = tmp_path / "shot.exr"
    write_image(exr, hdr, pixel_type="half")
    w._on_message(w, {"type": "path", "path": str(exr)}, [])
    assert w.error == "" and (w.width, w.height) == (60, 40) and w.stats["image"]["name"] == "shot.exr"
    w.exposure = -2.0  # bring the HDR picture back into the grade's domain
    np.testing.assert_allclose(w.frame.source, hdr.astype(np.float16).astype(np.float32) / 4, atol=1e-6)
    png = io.BytesIO()
    Image.fromarray(np.full((10, 20, 3), 128, np.uint8)).save(png, format="PNG")
    w._on_message(w, {"type": "upload", "name": "grey card.png"}, [memoryview(png.getvalue())])
    assert w.error == "" and (w.width, w.height) == (20, 10)
    assert w.stats["image"]["name"] == "grey card.png"
    np.testing.assert_allclose(w.frame.source, 128 / 255 * 0.25, atol=1e-6)
    w._on_message(w, {"type": "path", "path": str(tmp_path / "missing.exr")}, [])
    assert "missing.exr" in w.error and "not found" in w.error
    w._on_message(w, {"type": "upload", "name": "notes"}, [b"hello"])
    assert "extension" in w.error
    assert (w.width, w.height) == (20, 10)  # a failed load keeps the picture shown


def test_pack_browser_pairs_measures_and_opens(tmp_path, lut):
    paired = random_nlut(5)
    paired.description["provenance"].update(source="look.cube")
    paired.save(tmp_path / "look_small.nlut")  # paired through its provenance
    shutil.copy(CUBE, tmp_path / "look.cube")
    lone = random_nlut(6)
    lone.description.update(quality={"de_mean": 0.31, "de_max": 2.5},
                            provenance={"grid": 17, "source": "elsewhere.cube", "source_bytes": 50000})
    lone.save(tmp_path / "lone.nlut")
    shutil.copy(data_path("freshluts_classic_film.cube"), tmp_path / "uncompressed.cube")
    (tmp_path / "broken.cube").write_text("LUT_3D_SIZE 2\n0 0 0\n")
    (tmp_path / "notes.txt").write_text("not listed")
    browser = PackBrowser(tmp_path, _picture(300, 400))
    items = {i.name: i for i in browser.items}
    assert sorted(items) == ["broken", "lone", "look_small", "uncompressed"]
    pair = items["look_small"]
    assert pair.original == tmp_path / "look.cube" and pair.comparable
    expected = quality_report(lut, load_nlut(tmp_path / "look_small.nlut"), n_random=20_000)
    assert pair.de_mean == pytest.approx(expected.de_mean) and pair.de_max == pytest.approx(expected.de_max)
    assert pair.ratio == pytest.approx(CUBE.stat().st_size / (tmp_path / "look_small.nlut").stat().st_size)
    assert (items["lone"].de_mean, items["lone"].ratio) == (0.31, 50000 / (tmp_path / "lone.nlut").stat().st_size)
    assert "stored" in items["lone"].quality
    # a .nlut card carries the info text every host shows (its tooltip in the browser)
    assert items["lone"].info == "\n".join(open_nlut(tmp_path / "lone.nlut").summary_lines())
    assert items["lone"].info.startswith("source:    lone.nlut (.nlut v")
    assert "\nquality:   ΔE00 mean 0.31  p99 ?  max 2.5  PSNR ? dB\n" in items["lone"].info
    assert "\nsignature: unsigned" in items["lone"].info and items["uncompressed"].info == ""
    assert items["broken"].error and not items["broken"].comparable
    assert not items["uncompressed"].comparable and items["uncompressed"].ratio is None
    thumb = _png(pair.thumbnail)
    assert thumb.shape == (150, 200, 3)
    cards = browser.grid.items
    assert [c["name"] for c in cards] == [i.name for i in browser.items]
    assert [c["info"] for c in cards] == [i.info for i in browser.items]
    json.dumps([{k: v for k, v in c.items() if k != "thumbnail"} for c in cards], allow_nan=False)

    index = [i.name for i in browser.items].index("look_small")
    browser.grid.selected = index  # what a click in the browser does
    assert browser.compare is not None and browser.children[-1] is browser.compare
    assert browser.compare.stats["sizes"]["original_name"] == "look.cube"
    assert browser.compare.comparison.domain.de_mean == pytest.approx(
        quality_report(lut, load_nlut(tmp_path / "look_small.nlut")).de_mean)
    browser.select([i.name for i in browser.items].index("lone"))  # no original: its own bake
    assert browser.compare.stats["sizes"]["compressed_name"] == "lone.nlut"
    assert "baked" in browser.grid.status
    assert browser.select([i.name for i in browser.items].index("uncompressed")) is None
    assert "lutplug compress" in browser.grid.status


def test_widgets_open_a_nlut_under_the_environments_trust_policy(tmp_path, lut, monkeypatch):
    """The widgets open a .nlut the way every host does: $LUTPLUG_REQUIRE_SIGNATURE refuses an
    unsigned one, in the comparison and on its card."""
    from lutplug.errors import LutError

    for var in ("LUTPLUG_TRUST", "LUTPLUG_TRUSTED_KEYS"):
        monkeypatch.delenv(var, raising=False)
    random_nlut(7).save(tmp_path / "grade.nlut")
    monkeypatch.setenv("LUTPLUG_REQUIRE_SIGNATURE", "1")
    with pytest.raises(LutError, match="not signed"):
        CompareWidget(lut, tmp_path / "grade.nlut", _picture(8, 8), n_random=100)
    (item,) = PackBrowser(tmp_path / "grade.nlut", _picture(8, 8)).items
    assert "not signed" in item.error and not item.comparable and item.info == ""

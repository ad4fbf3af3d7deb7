"""--display: a grade's output converted to another display through OCIO, checked against OCIO's
own colour-space conversion and against colour-science's sRGB -> Display P3 closed form."""
import numpy as np
import pytest
from click.testing import CliRunner

ocio = pytest.importorskip("PyOpenColorIO")
colour = pytest.importorskip("colour")

from lutplug import LUT3D  # noqa: E402
from lutplug.cli import main  # noqa: E402
from lutplug.core.formats import read_lut, write_lut  # noqa: E402
from lutplug.errors import LutError  # noqa: E402
from lutplug.evaluate import display  # noqa: E402
from tests.helpers import run_compute_shader  # noqa: E402
from tests.nlut_helpers import random_nlut  # noqa: E402

STUDIO = "ocio://studio-config-latest"


def _ocio_convert(rgb, src, dst):
    """OCIO's own conversion between two colour spaces of the studio config."""
    cfg = ocio.Config.CreateFromFile(STUDIO)
    proc = cfg.getProcessor(src, dst).getDefaultCPUProcessor()
    buf = np.ascontiguousarray(np.asarray(rgb, np.float32).reshape(-1)).copy()
    proc.applyRGB(buf)
    return buf.reshape(np.shape(rgb))


def _p3_closed_form(rgb):
    """sRGB display values -> Display P3 display values (both with the sRGB transfer curve)."""
    return colour.RGB_to_RGB(np.asarray(rgb, np.float64), "sRGB", "Display P3",
                             apply_cctf_decoding=True, apply_cctf_encoding=True)


def _grade(n=9):
    g = np.linspace(0, 1, n)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rgb = np.stack([r, gg, b], -1)
    return LUT3D((0.05 + 0.9 * rgb ** 1.1 * np.array([1.0, 0.95, 0.85])).astype(np.float32), title="warm")


def test_display_names_resolve_to_display_colour_spaces():
    assert display.display_colorspace("Display P3") == "Display P3 - Display"
    assert display.display_colorspace("sRGB - Display") == "sRGB - Display"
    with pytest.raises(LutError, match="neither a display nor a colour space"):
        display.display_colorspace("Nonexistent Display 9000")


def test_nlut_on_p3_equals_ocio_conversion_of_its_output():
    nlut = random_nlut(3)
    nlut.description["colorspace"] = {"input": "ACEScct", "output": "sRGB - Display"}
    shown = display.for_display(nlut, "Display P3")
    assert (shown.source, shown.target) == ("sRGB - Display", "Display P3 - Display")
    x = np.random.default_rng(0).random((2000, 3)).astype(np.float32)
    graded = np.clip(nlut.apply(x), 0, 1)
    got = shown.apply(x)
    np.testing.assert_allclose(got, _ocio_convert(nlut.apply(x), "sRGB - Display", "Display P3 - Display"),
                               atol=2e-5)
    inside = np.all((graded > 0.01) & (graded < 0.99), axis=1)
    np.testing.assert_allclose(got[inside], _p3_closed_form(graded[inside]), atol=2e-3)
    # the same grade really looks the same: sRGB output and its P3 encoding are one colour
    xyz_srgb = colour.RGB_to_XYZ(graded[inside], "sRGB", apply_cctf_decoding=True)
    xyz_p3 = colour.RGB_to_XYZ(got[inside].astype(np.float64), "Display P3", apply_cctf_decoding=True)
    np.testing.assert_allclose(xyz_p3, xyz_srgb, atol=2e-3)


def test_untagged_grade_is_taken_as_srgb_and_unknown_tag_is_refused():
    lut = _grade()
    assert display.for_display(lut, "Display P3").source == "sRGB - Display"
    nlut = random_nlut(1)
    nlut.description["colorspace"] = {"output": "No Such Space"}
    with pytest.raises(LutError, match="No Such Space"):
        display.for_display(nlut, "Display P3")


def test_cli_bake_display_converts_every_node(tmp_path):
    src = tmp_path / "warm.cube"
    write_lut(_grade(), src)
    out = tmp_path / "warm_p3.cube"
    r = CliRunner().invoke(main, ["bake", str(src), "-o", str(out), "--display", "Display P3"])
    assert r.exit_code == 0, r.output
    baked, orig = read_lut(out), read_lut(src)
    np.testing.assert_allclose(baked.table, _p3_closed_form(orig.table), atol=2e-3)
    np.testing.assert_allclose(baked.table, _ocio_convert(orig.table, "sRGB - Display",
                                                          "Display P3 - Display"), atol=1e-5)


def test_cli_apply_display_converts_the_graded_pixels(tmp_path):
    from lutplug.imageio import read_image, write_image

    src = tmp_path / "warm.cube"
    write_lut(_grade(), src)
    img = tmp_path / "in.exr"
    pixels = np.random.default_rng(1).random((8, 12, 3)).astype(np.float32)
    write_image(img, pixels)
    plain, p3 = tmp_path / "plain.exr", tmp_path / "p3.exr"
    runner = CliRunner()
    assert runner.invoke(main, ["apply", str(img), "-o", str(plain), "--lut", str(src)]).exit_code == 0
    r = runner.invoke(main, ["apply", str(img), "-o", str(p3), "--lut", str(src), "--display", "Display P3"])
    assert r.exit_code == 0, r.output
    graded, _ = read_image(plain)
    shown, _ = read_image(p3)
    assert np.abs(shown - graded).max() > 0.02  # the conversion is not a no-op
    # half-float EXR output: values agree to its precision
    np.testing.assert_allclose(shown, _ocio_convert(graded, "sRGB - Display", "Display P3 - Display"),
                               atol=1.5e-3)


def test_cli_export_glsl_display_runs_network_then_conversion(tmp_path):
    moderngl = pytest.importorskip("moderngl")
    try:
        gl = moderngl.create_standalone_context(backend="egl", require=450)
    except Exception as exc:  # pragma: no cover - machine without EGL
        pytest.skip(f"no headless GL context: {exc}")
    nlut = random_nlut(5)
    nlut.description["colorspace"] = {"output": "sRGB - Display"}
    src, shader = tmp_path / "g.nlut", tmp_path / "g.glsl"
    nlut.save(src)
    r = CliRunner().invoke(main, ["export", str(src), "--glsl", str(shader), "--display", "Display P3"])
    assert r.exit_code == 0, r.output
    x = np.random.default_rng(3).random((3000, 3)).astype(np.float32)
    out = run_compute_shader(gl, shader.read_text(), x)[:, :3]
    gl.release()
    np.testing.assert_allclose(out, _ocio_convert(nlut.apply(x), "sRGB - Display", "Display P3 - Display"),
                               atol=2e-4)
    r = CliRunner().invoke(main, ["export", str(src), "--onnx", str(tmp_path / "g.onnx"), "--display", "Display P3"])
    assert r.exit_code == 2

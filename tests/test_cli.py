import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("PyOpenColorIO")
from lutplug import read_lut
from lutplug.cli import main
from lutplug.data import data_path
from lutplug.imageio import read_image, write_image

CUBE = data_path("freshluts_cool_cinema.cube")


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_info_json():
    code, out = run("info", CUBE, "--json")
    assert code == 0
    d = json.loads(out)
    assert d["format"] == "cube" and d["size"] == 16 and d["kind"] == "LUT3D"
    assert len(d["sha256"]) == 64 and d["bytes"] == CUBE.stat().st_size


def test_bake_resizes_and_converts(tmp_path):
    out = tmp_path / "small.cube"
    code, text = run("bake", CUBE, "-o", out, "--size", 9)
    assert code == 0, text
    baked = read_lut(out)
    assert baked.size == 9
    np.testing.assert_allclose(baked.table, read_lut(CUBE).resample(9).table, atol=1e-6)


def test_apply_keeps_bit_depth_and_mix(tmp_path):
    img = tmp_path / "in.png"
    px = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    write_image(img, px, pixel_type="uint16")
    out = tmp_path / "out.png"
    code, text = run("apply", img, "-o", out, "--lut", CUBE, "--mix", 0.5)
    assert code == 0, text
    graded, info = read_image(out)
    assert info.pixel_type == "uint16"
    src, _ = read_image(img)
    expected = 0.5 * src + 0.5 * read_lut(CUBE).apply(src)
    np.testing.assert_allclose(graded, expected, atol=1.5 / 65535)


def test_eval_json_and_heatmap(tmp_path):
    small = tmp_path / "s.cube"
    run("bake", CUBE, "-o", small, "--size", 5)
    heat = tmp_path / "heat.png"
    code, out = run("eval", CUBE, small, "--json", "--points", 2000, "--heatmap", heat)
    assert code == 0, out
    d = json.loads(out)
    assert d["de_max"] > d["de_p99"] > 0 and d["points"] == 17 ** 3 + 2000
    assert heat.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out = run("eval", CUBE, CUBE, "--json", "--points", 100)
    assert json.loads(out)["de_max"] == 0 and json.loads(out)["meets"]["invisible"]


@pytest.mark.parametrize("args, needle", [
    (("info", "nope.cube"), "nope.cube: file not found"),
    (("bake", "nope.cube", "-o", "x.cube"), "nope.cube"),
    (("eval", "nope.cube", "nope2.cube"), "nope.cube"),
])
def test_bad_input_exit_2_names_file(args, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run(*args)
    assert code == 2 and needle in out


def test_garbage_lut_and_unwritable_format(tmp_path):
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_3D_SIZE 2\n0 0 0\n1 1 x\n" + "0 0 0\n" * 6)
    code, out = run("info", bad)
    assert code == 2 and "bad.cube:3: non-numeric value: '1 1 x'" in out
    code, out = run("bake", CUBE, "-o", tmp_path / "x.xyz")
    assert code == 2 and "cannot write" in out
    assert not (tmp_path / "x.xyz").exists()


def test_usage_error_is_2():
    code, _ = run("bake")
    assert code == 2


def test_demo_runs(tmp_path):
    code, out = run("demo", "-o", tmp_path / "demo")
    assert code == 0, out
    assert "meets T1" in out and (tmp_path / "demo" / "astronaut_graded.png").exists()

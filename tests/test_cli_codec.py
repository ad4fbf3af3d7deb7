"""CLI commands around .nlut files (networks built without training, see nlut_helpers)."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("PyOpenColorIO")
from lutplug import read_lut
from lutplug.cli import main
from lutplug.codec.nlut import load_nlut
from lutplug.imageio import read_image, write_image
from tests.nlut_helpers import fit_stored_nlut, legacy_bytes, random_nlut


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def nlut_file(tmp_path):
    path = tmp_path / "g.nlut"
    random_nlut(11, act="relu", fourier=0, center=True).save(path)
    return path


def test_info_json_of_nlut(nlut_file):
    code, out = run("info", nlut_file, "--json")
    assert code == 0, out
    d = json.loads(out)
    assert d["format"] == "nlut" and d["signature"] == "unsigned" and d["bytes"] == nlut_file.stat().st_size
    assert d["ratio_vs_float32_33"] == round(33 ** 3 * 12 / d["bytes"], 1)
    assert d["format_version"] == 3  # every network is written as version 3
    code, out = run("info", nlut_file)
    assert code == 0 and "signature: unsigned" in out and "(.nlut v3," in out
    for version in (1, 2):  # files of the older versions say theirs
        nlut_file.write_bytes(legacy_bytes(fit_stored_nlut(), version))
        code, out = run("info", nlut_file)
        assert code == 0 and f"nlut v{version}," in out


def test_bake_nlut_to_formats(nlut_file, tmp_path):
    n = load_nlut(nlut_file)
    for name in ("b.cube", "b.spi3d", "b.clf"):
        code, out = run("bake", nlut_file, "-o", tmp_path / name, "--size", 9)
        assert code == 0, out
        np.testing.assert_allclose(read_lut(tmp_path / name).table, n.bake(9).table, atol=1e-5)


def test_bake_keeps_a_trilinear_reading(tmp_path):
    # a grade made from a trilinear LUT: .clf says so (OpenColorIO reads it back trilinear), .cube
    # cannot and the CLI says that
    n = random_nlut(12, act="relu", fourier=0, center=True)
    n.description["interpolation"] = "trilinear"
    path = tmp_path / "t.nlut"
    n.save(path)
    code, out = run("bake", path, "-o", tmp_path / "t.clf", "--size", 5)
    assert code == 0 and "cannot say" not in out, out
    assert read_lut(tmp_path / "t.clf").interpolation == "trilinear"
    result = CliRunner().invoke(main, ["bake", str(path), "-o", str(tmp_path / "t.cube")])
    assert result.exit_code == 0 and "trilinear interpolation, which .cube cannot say" in result.stderr


def test_apply_nlut_both_engines(nlut_file, tmp_path):
    img = tmp_path / "in.exr"
    px = np.random.default_rng(0).random((24, 32, 4)).astype(np.float32)
    write_image(img, px, pixel_type="float")
    n = load_nlut(nlut_file)
    from lutplug.evaluate.ocio_cpu import apply_image

    # mlp: the network itself; cube: exactly the 65³ bake applied by OpenColorIO
    for engine, expected in (("mlp", n.apply(px[..., :3])),
                             ("cube", apply_image(n.bake(65), px)[..., :3])):
        out = tmp_path / f"{engine}.exr"
        code, text = run("apply", img, "-o", out, "--lut", nlut_file, "--engine", engine)
        assert code == 0, text
        graded, info = read_image(out)
        assert info.pixel_type == "float"
        np.testing.assert_allclose(graded[..., :3], expected, atol=1e-5)
        np.testing.assert_array_equal(graded[..., 3], px[..., 3])


def test_eval_nlut_against_its_bake(nlut_file, tmp_path):
    cube = tmp_path / "b.cube"
    run("bake", nlut_file, "-o", cube, "--size", 33)
    code, out = run("eval", nlut_file, cube, "--json", "--points", 5000)
    assert code == 0, out
    assert json.loads(out)["de_mean"] < 0.5


def test_sign_verify_exit_codes(nlut_file, tmp_path):
    key = tmp_path / "me.key"
    assert run("keygen", "-o", key)[0] == 0
    other = tmp_path / "other.key"
    run("keygen", "-o", other)
    code, out = run("verify", nlut_file)
    assert code == 0 and "UNSIGNED" in out
    assert run("verify", nlut_file, "--pubkey", f"{key}.pub")[0] == 4
    assert run("sign", nlut_file, "--key", key)[0] == 0
    assert run("verify", nlut_file, "--pubkey", f"{key}.pub")[0] == 0
    code, out = run("verify", nlut_file, "--pubkey", f"{other}.pub")
    assert code == 5 and "UNTRUSTED" in out
    data = bytearray(nlut_file.read_bytes())
    data[20] ^= 0x10
    nlut_file.write_bytes(bytes(data))
    code, out = run("verify", nlut_file, "--pubkey", f"{key}.pub")
    assert code == 3 and "INVALID" in out
    code, out = run("apply", nlut_file, "-o", tmp_path / "x.png", "--lut", nlut_file)
    assert code == 2


def test_export_glsl_and_keygen_refuses_overwrite(nlut_file, tmp_path):
    code, out = run("export", nlut_file, "--glsl", tmp_path / "s.glsl", "--stage", "fragment")
    assert code == 0, out
    text = (tmp_path / "s.glsl").read_text()
    assert text.startswith("#version 450") and "lutplug_apply" in text
    key = tmp_path / "k"
    run("keygen", "-o", key)
    code, out = run("keygen", "-o", key)
    assert code == 2 and "refusing to overwrite" in out
    assert run("export", nlut_file)[0] == 2


def test_search_seconds_reaches_the_size_search(tmp_path, monkeypatch):
    # --search-seconds becomes the recipe's search_seconds (the size search's modelled budget)
    import lutplug.codec.compress as compress_module
    from lutplug import LutError

    seen = {}

    def fake_compress(lut, **kwargs):
        seen.update(kwargs["recipe"] or {})
        raise LutError("stop here")

    monkeypatch.setattr(compress_module, "compress", fake_compress)
    src = tmp_path / "g.cube"
    g = np.linspace(0, 1, 3)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rows = np.stack([r, gg, b], -1).reshape(-1, 3)
    src.write_text("LUT_3D_SIZE 3\n" + "".join(f"{x:.4f} {y:.4f} {z:.4f}\n" for x, y, z in rows))
    code, _ = run("compress", src, "-o", tmp_path / "g.nlut", "--search-seconds", "12")
    assert code != 0 and seen == {"search_seconds": 12.0}
    code, out = run("compress", src, "-o", tmp_path / "g.nlut", "--search-seconds", "-1")
    assert code == 2 and "search-seconds" in out

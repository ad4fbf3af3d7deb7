"""The GIMP 3 filter, run in GIMP for real (../shared/tools/gimp3, see tests/gimp/harness.py).

One module fixture installs the filter with ``lutplug gimp install`` (offline, from a cached
wheel folder) into a scratch profile, and runs tests/gimp/run_cases.py in GIMP with that folder
as the plug-in (copied into a fresh profile: it must be self-contained). The script builds each
case's image in GIMP, calls ``plug-in-lutplug-apply`` through the PDB, and saves the pixels;
the tests here compare them with ``lutplug apply`` on the same pixels (float: max abs <= 2e-3;
8/16 bit: <= 1 code value), and check selections, multiple layers, strength, errors (message
names the file and the reason; image untouched), the signature policy of an install made with
``--trust``/``--require-signature``, and the dialog (under Xvfb).

Skipped (with the reason) only when not root or without apt/PyPI access; on a fresh machine the
first run builds the cached GIMP rootfs (~1-2 min) and downloads the wheels (~20 MB).
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import stat
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from lutplug import LUT1D, LUT3D, write_lut
from lutplug.cli import main as lutplug_main
from lutplug.imageio import read_image, write_image

from tests.helpers import SHARED_LUTS, random_table
from tests.nlut_helpers import random_nlut

_spec = importlib.util.spec_from_file_location(
    "gimp_harness", Path(__file__).resolve().parent / "gimp" / "harness.py")
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

SCRIPTS = Path(__file__).resolve().parent / "gimp"
IN_GIMP = "/tmp/ci/data/cases"   # where the data folder appears inside GIMP
FLOAT_TOL = 2e-3
U8_TOL = 1 / 255 + 1e-6
U16_TOL = 1 / 65535 + 1e-7
H, W = 48, 64

# name: (lut, image, precision, engine, strength, reference options for `lutplug apply`, tol)
COMPARE = {
    "cube_float_linear_rgba": ("look.cube", "rgba_f", "float-linear", "auto", 1.0, [], FLOAT_TOL),
    "cube_float_nonlinear_rgb": ("look.cube", "rgb_f", "float-non-linear", "auto", 1.0, [], FLOAT_TOL),
    "cube_float_perceptual": ("look.cube", "rgba_f", "float-perceptual", "cube", 1.0, [], FLOAT_TOL),
    "cube_half": ("look.cube", "rgba_h", "half-linear", "auto", 1.0, [], FLOAT_TOL),
    "cube_u8": ("look01.cube", "rgb_u8", "u8-non-linear", "auto", 1.0, [], U8_TOL),
    "cube_u16": ("look01.cube", "rgb_u16", "u16-linear", "auto", 1.0, [], U16_TOL),
    "cube_strength": ("look.cube", "rgba_f", "float-linear", "auto", 0.35, ["--mix", "0.35"], FLOAT_TOL),
    "cube_adobe_rgb_image": ("look.cube", "rgba_f", "float-linear", "auto", 1.0, [], FLOAT_TOL),
    "cube_with_shaper": ("shaper.cube", "rgba_wide", "float-linear", "auto", 1.0, [], FLOAT_TOL),
    "hald_png_16bit": ("hald.png", "rgb_f", "float-linear", "auto", 1.0, [], FLOAT_TOL),
    "nlut_auto_small_is_mlp": ("net.nlut", "rgba_f", "float-linear", "auto", 1.0,
                               ["--engine", "mlp"], FLOAT_TOL),
    "nlut_mlp": ("net.nlut", "rgba_f", "float-non-linear", "mlp", 1.0, ["--engine", "mlp"], FLOAT_TOL),
    "nlut_cube": ("net.nlut", "rgba_f", "float-linear", "cube", 1.0, ["--engine", "cube"], FLOAT_TOL),
    "nlut_engine_upper_case": ("net.nlut", "rgba_f", "float-linear", "CUBE", 1.0,
                               ["--engine", "cube"], FLOAT_TOL),
    "nlut_auto_large_is_cube": ("net.nlut", "big_f", "float-linear", "auto", 1.0,
                                ["--engine", "cube"], FLOAT_TOL),
    "nlut_shaper_mlp": ("net_shaper.nlut", "rgba_wide", "float-linear", "mlp", 1.0,
                        ["--engine", "mlp"], FLOAT_TOL),
    "nlut_shaper_cube": ("net_shaper.nlut", "rgba_wide", "float-linear", "cube", 1.0,
                         ["--engine", "cube"], FLOAT_TOL),
    "nlut_signed_untrusted_ok": ("signed.nlut", "rgba_f", "float-linear", "mlp", 1.0,
                                 ["--engine", "mlp"], FLOAT_TOL),
    "nlut_strength": ("net.nlut", "rgba_f", "float-linear", "cube", 0.6,
                      ["--engine", "cube", "--mix", "0.6"], FLOAT_TOL),
}
#: Real LUTs from the shared corpus (cases skipped when it is absent).
CORPUS = {
    "corpus_freshluts_cube_u8": ("freshluts_cool_cinema.cube", "rgb_u8", "u8-non-linear", U8_TOL),
    "corpus_lustre_3dl": ("ocio-test_lustre_33x33x33.3dl", "rgb_f", "float-linear", FLOAT_TOL),
    "corpus_spi3d": ("colour-test_sony_Colour_Correct.spi3d", "rgba_f", "float-linear", FLOAT_TOL),
    "corpus_csp_with_shaper": ("colour-test_cinespace_Three_Dimensional_Table_With_Shaper.csp",
                               "rgba_f", "float-linear", FLOAT_TOL),
    "corpus_spi1d": ("tonymcmapface_shaper_log2_to_rational.spi1d", "rgba_wide", "float-linear", FLOAT_TOL),
    "corpus_lookup_strip_png": ("gpuimage_lookup_amatorka.png", "rgb_u8", "u8-non-linear", U8_TOL),
}
# name: (lut, engine, expected status, substrings of the message, extra case fields)
ERRORS = {
    "missing_file": (f"{IN_GIMP}/no-such-dir/missing.cube", "auto", "execution-error",
                     ["missing.cube", "file not found"], {}),
    "broken_cube": ("broken.cube", "auto", "execution-error",
                    ["broken.cube", "expected 64", "found 1"], {}),
    "empty_file": ("empty.cube", "auto", "execution-error", ["empty.cube", "empty"], {}),
    "garbage_nlut": ("garbage.nlut", "auto", "execution-error", ["garbage.nlut", "too short"], {}),
    "tampered_signed_nlut": ("tampered.nlut", "auto", "execution-error",
                             ["tampered.nlut", "altered after signing"], {}),
    "folder": ("a-folder", "auto", "execution-error", ["a-folder", "is a folder"], {}),
    "clf_needs_ocio": ("grade.clf", "auto", "execution-error",
                       ["grade.clf", "OpenColorIO", "lutplug bake"], {}),
    "mlp_engine_on_plain_lut": ("look.cube", "mlp", "calling-error",
                                ["look.cube", "engine 'mlp'", ".nlut"], {}),
    "unknown_engine": ("look.cube", "fast", "calling-error", ["'fast'", "auto, mlp, cube"], {}),
    "layer_mask_drawable": ("look.cube", "auto", "calling-error", ["not an RGB drawable"],
                            {"drawable": "mask"}),
    "layer_group_drawable": ("look.cube", "auto", "calling-error", ["layer group"],
                             {"drawable": "group"}),
}
SELECTION = (10, 5, 30, 20)  # x, y, w, h


# --------------------------------------------------------------------------------- data --

def _images(rng) -> dict:
    f = rng.uniform(-0.05, 1.08, (H, W, 4)).astype(np.float32)
    f[..., 3] = rng.uniform(0, 1, (H, W))
    f[0, :4, :3] = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1.2, -0.2, 0.7]]  # edges, outside
    wide = rng.uniform(-0.1, 3.2, (H, W, 4)).astype(np.float32)   # shaper domains reach 3-4
    wide[..., 3] = 1.0
    big = rng.uniform(0, 1, (480, 600, 4)).astype(np.float32)     # 288 000 px > 65^3
    return {
        "rgba_f": f, "rgb_f": np.ascontiguousarray(f[..., :3]),
        "rgba_h": f.astype(np.float16).astype(np.float32),
        "rgba_wide": wide, "big_f": big,
        "rgb_u8": (rng.integers(0, 256, (H, W, 3)) / 255).astype(np.float32),
        "rgb_u16": (rng.integers(0, 65536, (H, W, 3)) / 65535).astype(np.float32),
    }


def _reference_file(folder: Path, name: str, px: np.ndarray):
    """The image as a file `lutplug apply` reads, and the values it reads back (8/16-bit:
    code / 255 as OpenImageIO rounds it, which GIMP stores as the same code)."""
    if name.endswith("_u8"):
        path = folder / f"{name}.png"
        write_image(path, px, pixel_type="uint8")
    elif name.endswith("_u16"):
        path = folder / f"{name}.png"
        write_image(path, px, pixel_type="uint16")
    elif name.endswith("_h"):
        path = folder / f"{name}.exr"
        write_image(path, px, pixel_type="half")
    else:
        path = folder / f"{name}.exr"
        write_image(path, px, pixel_type="float")
    back, _ = read_image(path)
    assert _max_err(back, px) <= 1e-6, f"{path} does not hold the test pixels"
    return path, back


def lutplug_apply(image: Path, lut: Path, out: Path, options) -> np.ndarray:
    """What `lutplug apply` makes of these pixels (the reference)."""
    res = CliRunner().invoke(lutplug_main, ["apply", str(image), "-o", str(out), "--lut", str(lut),
                                            *options])
    assert res.exit_code == 0, res.output
    return read_image(out)[0]


def _luts(data: Path, rng):
    from lutplug.codec import container
    from lutplug.codec.nlut import sign_file
    from lutplug.codec.signing import generate_keypair, load_private_key

    look = LUT3D(random_table(33, 7), title="look")
    write_lut(look, data / "look.cube")
    write_lut(LUT3D(np.clip(random_table(33, 8), 0, 1)), data / "look01.cube")
    shaper = LUT1D(np.linspace(0, 1, 64) ** 0.45, 0.0, 4.0)
    write_lut(LUT3D(random_table(17, 9), shaper=shaper), data / "shaper.cube")
    write_lut(LUT3D(np.clip(random_table(33, 10), 0, 1)), data / "hald.png")
    write_lut(look, data / "grade.clf")
    random_nlut(3).save(data / "net.nlut")
    random_nlut(4, shaper=True).save(data / "net_shaper.nlut")
    for k in ("a", "b"):
        generate_keypair(data / f"key_{k}.pem", data / f"key_{k}.pub")
    shutil.copy(data / "net.nlut", data / "signed.nlut")
    sign_file(data / "signed.nlut", load_private_key(data / "key_a.pem"))
    shutil.copy(data / "net.nlut", data / "signed_b.nlut")
    sign_file(data / "signed_b.nlut", load_private_key(data / "key_b.pem"))
    # Tampered: the network altered after signing, the old signature kept.
    signed = (data / "signed.nlut").read_bytes()
    c = container.decode(signed)
    altered = random_nlut(3)
    altered.params = {k: v.copy() for k, v in altered.params.items()}
    altered.params["b0"] = altered.params["b0"] + np.float32(0.01)
    (data / "tampered.nlut").write_bytes(
        container.add_signature(altered.to_bytes(), c.public_key, lambda _part: c.signature))
    (data / "broken.cube").write_text("LUT_3D_SIZE 4\n0 0 0\n")
    (data / "empty.cube").write_text("")
    (data / "garbage.nlut").write_bytes(b"NLUT")
    (data / "a-folder").mkdir()


def _case(name, lut, image, precision, engine="auto", strength=1.0, **extra):
    lut_ref = lut if lut.startswith("/") else lut
    return dict(name=name, pixels=f"{image}.npy", precision=precision, lut=lut_ref,
                engine=engine, strength=strength, **extra)


@pytest.fixture(scope="module")
def gimp(tmp_path_factory):
    """Rootfs + wheels + the filter installed with `lutplug gimp install`."""
    try:
        harness.ensure_rootfs()
        harness.ensure_wheels()
    except harness.Unavailable as exc:
        pytest.skip(str(exc))
    base = tmp_path_factory.mktemp("gimp")
    plugin = harness.install_plugin(base / "profile")
    return SimpleNamespace(base=base, plugin=plugin)


@pytest.fixture(scope="module")
def data(gimp):
    """LUT files, test images (.npy for GIMP, files for `lutplug apply`) and the references."""
    folder = gimp.base / "data"
    refs = gimp.base / "refs"
    folder.mkdir()
    refs.mkdir()
    rng = np.random.default_rng(20251123)
    _luts(folder, rng)
    images = _images(rng)
    files = {}
    for name, px in list(images.items()):
        files[name], images[name] = _reference_file(refs, name, px)
        np.save(folder / f"{name}.npy", images[name])
    corpus = {}
    for name, (lut, image, precision, tol) in CORPUS.items():
        if (SHARED_LUTS / lut).is_file():
            shutil.copy(SHARED_LUTS / lut, folder / lut)
            corpus[name] = (lut, image, precision, tol)
    cases, expected = [], {}
    for name, (lut, image, precision, engine, strength, options, tol) in COMPARE.items():
        extra = {"profile": "adobe"} if "adobe" in name else {}
        cases.append(_case(name, lut, image, precision, engine, strength, **extra))
        ext = ".png" if image.endswith(("_u8", "_u16")) else ".exr"  # same depth as the input
        expected[name] = (lutplug_apply(files[image], folder / lut, refs / f"{name}{ext}", options), tol)
    for name, (lut, image, precision, tol) in corpus.items():
        cases.append(_case(name, lut, image, precision))
        ext = ".png" if image.endswith(("_u8", "_u16")) else ".exr"
        expected[name] = (lutplug_apply(files[image], folder / lut, refs / f"{name}{ext}", []), tol)
    for name, (lut, engine, _status, _words, extra) in ERRORS.items():
        cases.append(_case(name, lut, "rgba_f", "float-linear", engine, **extra))
    cases.append(_case("selection_rect", "look.cube", "rgba_f", "float-linear",
                       selection=list(SELECTION)))
    cases.append(_case("selection_feathered", "look.cube", "rgba_f", "float-linear",
                       selection=list(SELECTION), feather=8))
    cases.append(_case("two_layers_one_call", "look.cube", "rgba_f", "float-linear", layers=2))
    cases.append(_case("strength_zero", "look.cube", "rgba_f", "float-linear", strength=0.0))
    mirrored = refs / "rgba_f_mirrored.exr"
    write_image(mirrored, images["rgba_f"][:, ::-1], pixel_type="float")
    expected["look_rgba_f"] = lutplug_apply(files["rgba_f"], folder / "look.cube",
                                            refs / "look_rgba_f.exr", [])
    expected["look_rgba_f_mirrored"] = lutplug_apply(mirrored, folder / "look.cube",
                                                     refs / "look_mirror.exr", [])
    (folder / "cases.json").write_text(json.dumps({"cases": cases}, indent=1))
    return SimpleNamespace(folder=folder, refs=refs, images=images, expected=expected,
                           corpus=corpus, files=files)


def _run_cases(gimp, data, out: Path, plugin: Path, *names):
    proc = harness.run_batch(plugin, SCRIPTS / "run_cases.py", data.folder, out, args=names)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"GIMP batch run failed (exit {proc.returncode}):\n{log[-6000:]}"
    results = json.loads((out / "results.json").read_text())
    return SimpleNamespace(results=results, cases=results["cases"], out=out, log=log)


@pytest.fixture(scope="module")
def run(gimp, data):
    """All cases in one GIMP session (each is one PDB call into the installed plug-in)."""
    return _run_cases(gimp, data, gimp.base / "out", gimp.plugin)


def _result(run, name, layer=0):
    case = run.cases[name]
    assert case["status"] != "script-error", case.get("traceback", case["message"])
    return case, np.load(run.out / f"{name}.{layer}.npy")


def _max_err(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


# -------------------------------------------------------------------------------- tests --

def test_installed_folder_runs_with_its_own_numpy(run, gimp):
    assert run.results["gimp"].startswith("3."), run.results["gimp"]
    # the harness copied the installed folder into a fresh profile: everything came from it
    assert run.results["numpy_from"].startswith("/tmp/profile/plug-ins/lutplug-apply/vendor/"), \
        run.results["numpy_from"]
    main = gimp.plugin / "lutplug-apply.py"
    assert main.stat().st_mode & stat.S_IXUSR
    assert "plug-in lutplug-apply registered: plug-in-lutplug-apply" in run.log


@pytest.mark.parametrize("name", list(COMPARE))
def test_matches_lutplug_apply(run, data, name):
    case, out = _result(run, name)
    assert case["status"] == "success", case["message"]
    want, tol = data.expected[name]
    image = COMPARE[name][1]
    px = data.images[image]
    err = _max_err(out[..., :3], want[..., :3])
    assert err <= tol, f"{name}: max abs difference {err:.3g} from `lutplug apply` > {tol:.3g}"
    if px.shape[2] == 4:   # alpha is kept exactly
        assert np.array_equal(out[..., 3], px[..., 3])
    assert not np.array_equal(out[..., :3], px[..., :3]), "the LUT changed nothing"


@pytest.mark.parametrize("name", list(CORPUS))
def test_corpus_luts_match_lutplug_apply(run, data, name):
    if name not in data.corpus:
        pytest.skip(f"{CORPUS[name][0]} not in the shared LUT corpus ({SHARED_LUTS})")
    case, out = _result(run, name)
    assert case["status"] == "success", case["message"]
    want, tol = data.expected[name]
    err = _max_err(out[..., :3], want[..., :3])
    assert err <= tol, f"{name}: max abs difference {err:.3g} from `lutplug apply` > {tol:.3g}"


@pytest.mark.parametrize("name", list(ERRORS))
def test_bad_input_is_a_gimp_error_and_leaves_the_image_alone(run, data, name):
    _lut, _engine, status, words, _extra = ERRORS[name]
    case, out = _result(run, name)
    assert case["status"] == status, (case["status"], case["message"])
    for w in words:
        assert w in case["message"], f"{w!r} not in the message {case['message']!r}"
    assert np.array_equal(out, data.images["rgba_f"]), "the image was modified"
    assert case["layers_after"] == 1 + (1 if name == "layer_group_drawable" else 0)


def test_rectangular_selection(run, data):
    case, out = _result(run, "selection_rect")
    assert case["status"] == "success", case["message"]
    mask = np.load(run.out / "selection_rect.mask.npy")
    x, y, w, h = SELECTION
    inside = np.zeros((H, W), bool)
    inside[y:y + h, x:x + w] = True
    assert np.array_equal(mask > 0.5, inside)
    px, want = data.images["rgba_f"], data.expected["look_rgba_f"]
    assert _max_err(out[inside][:, :3], want[inside][:, :3]) <= FLOAT_TOL
    assert np.array_equal(out[~inside], px[~inside]), "pixels outside the selection changed"


def test_feathered_selection_blends_through_the_mask(run, data):
    case, out = _result(run, "selection_feathered")
    assert case["status"] == "success", case["message"]
    m = np.load(run.out / "selection_feathered.mask.npy")[..., None].astype(np.float64)
    partial = (m[..., 0] > 0.02) & (m[..., 0] < 0.98)
    assert partial.sum() > 100, "the feather produced no partial selection"
    px, want = data.images["rgba_f"], data.expected["look_rgba_f"]
    # a linear image: GIMP blends the filtered pixels in linear light, i.e. the stored values
    blend = px[..., :3] + m * (want[..., :3] - px[..., :3])
    assert _max_err(out[..., :3], blend) <= FLOAT_TOL
    assert np.array_equal(out[m[..., 0] == 0], px[m[..., 0] == 0])
    assert np.array_equal(out[..., 3], px[..., 3])


def test_several_layers_in_one_call(run, data):
    case, first = _result(run, "two_layers_one_call", 0)
    assert case["status"] == "success", case["message"]
    _, second = _result(run, "two_layers_one_call", 1)
    assert _max_err(first[..., :3], data.expected["look_rgba_f"][..., :3]) <= FLOAT_TOL
    assert _max_err(second[..., :3], data.expected["look_rgba_f_mirrored"][..., :3]) <= FLOAT_TOL


def test_strength_zero_changes_nothing(run, data):
    case, out = _result(run, "strength_zero")
    assert case["status"] == "success", case["message"]
    assert np.array_equal(out, data.images["rgba_f"])


# ------------------------------------------------------------------- signature policy --

def test_install_with_trust_and_require_signature(gimp, data):
    """`lutplug gimp install --trust A.pub --require-signature`: only .nlut files signed by A
    pass; plain LUT files (which carry no signature) still work."""
    plugin = harness.install_plugin(gimp.base / "profile-strict", "--trust",
                                    str(data.folder / "key_a.pub"), "--require-signature")
    settings = json.loads((plugin / "settings.json").read_text())
    assert settings["require_signature"] is True and len(settings["trusted_keys"]) == 1
    names = ["policy_trusted", "policy_other_key", "policy_unsigned", "policy_plain_cube"]
    spec = json.loads((data.folder / "cases.json").read_text())
    extra = [_case("policy_trusted", "signed.nlut", "rgba_f", "float-linear", "mlp"),
             _case("policy_other_key", "signed_b.nlut", "rgba_f", "float-linear", "mlp"),
             _case("policy_unsigned", "net.nlut", "rgba_f", "float-linear", "mlp"),
             _case("policy_plain_cube", "look.cube", "rgba_f", "float-linear")]
    folder = gimp.base / "data-strict"
    shutil.copytree(data.folder, folder)
    (folder / "cases.json").write_text(json.dumps({"cases": spec["cases"] + extra}))
    res = _run_cases(gimp, SimpleNamespace(folder=folder), gimp.base / "out-strict", plugin, *names)
    c = res.cases
    assert c["policy_trusted"]["status"] == "success", c["policy_trusted"]["message"]
    want = data.expected["nlut_signed_untrusted_ok"][0]
    assert _max_err(np.load(res.out / "policy_trusted.0.npy")[..., :3], want[..., :3]) <= FLOAT_TOL
    assert c["policy_other_key"]["status"] == "execution-error"
    assert "signed_b.nlut" in c["policy_other_key"]["message"]
    assert "not trusted" in c["policy_other_key"]["message"]
    assert c["policy_unsigned"]["status"] == "execution-error"
    assert "net.nlut" in c["policy_unsigned"]["message"]
    assert "signature is required" in c["policy_unsigned"]["message"]
    for name in ("policy_other_key", "policy_unsigned"):
        assert np.array_equal(np.load(res.out / f"{name}.0.npy"), data.images["rgba_f"])
    assert c["policy_plain_cube"]["status"] == "success", c["policy_plain_cube"]["message"]


# ------------------------------------------------------------------------------ dialog --

def test_dialog_shows_the_file_info_and_applies_the_choice(gimp, data):
    """The real GimpProcedureDialog under Xvfb (INTERACTIVE run): the info line describes the
    file, follows a newly chosen file, the engine combo works, OK applies what was chosen."""
    folder = gimp.base / "data-ui"
    folder.mkdir()
    px = data.images["rgba_f"]
    np.save(folder / "ui.npy", px)
    for name in ("look.cube", "signed.nlut"):
        shutil.copy(data.folder / name, folder / name)
    out = gimp.base / "out-ui"
    proc = harness.run_batch(
        gimp.plugin, SCRIPTS / "ui_dialog.py", folder, out, timeout=300,
        env=["DISPLAY=:99", "LUTPLUG_GIMP_UI_TEST=/tmp/ci/out/ui.json",
             f"LUTPLUG_UI_FIRST_FILE={IN_GIMP}/look.cube",
             f"LUTPLUG_GIMP_UI_TEST_FILE={IN_GIMP}/signed.nlut",
             "LUTPLUG_GIMP_UI_TEST_ENGINE=cube"])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert not (out / "ui.json.error").exists(), (out / "ui.json.error").read_text()
    report = json.loads((out / "ui.json").read_text())
    first, after = report["initial"], report["after_choice"]
    assert first["title"] == "Apply Compressed LUT" and first["visible"]
    assert first["file"].endswith("look.cube")
    assert first["info"].startswith("look.cube") and "33^3 LUT" in first["info"]
    assert first["engine_labels"] == ["Auto", "Network (MLP)", "Baked cube"]
    assert first["engine_index"] == 0 and first["strength"] == 1.0
    assert after["file"].endswith("signed.nlut")
    assert after["info"].startswith("signed.nlut") and ".nlut" in after["info"]
    assert "signature: intact, key" in after["info"]
    assert "network:" in after["tooltip"] and "signature:" in after["tooltip"]
    assert after["engine_index"] == 2
    result = json.loads((out / "ui.result.json").read_text())
    assert result["status"] == "success", result["message"]
    got = np.load(out / "ui.out.npy")
    want = data.expected["nlut_cube"][0]     # the same network, cube engine, same pixels
    assert _max_err(got[..., :3], want[..., :3]) <= FLOAT_TOL

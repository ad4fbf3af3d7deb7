"""Host-free core of the GIMP filter (lutplug.hosts.gimp.engine and the modules it gathers): the
fast evaluators against lutplug's reference interpolation and network, file loading through
open_nlut with the signature policy (settings.json + the environment's), LUT images, the info
text. No GIMP needed (tests/test_gimp_plugin.py runs the real thing)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lutplug import LUT1D, LUT3D, LutError, SignatureError, UnsignedError, read_lut, write_lut
from lutplug.core.interpolate import tetrahedral
from lutplug.evaluate.load import to_cube
from lutplug.codec import nlut as nlut_module
from lutplug.codec import trust as trust_module
from lutplug.hosts.gimp import engine, kernels

from tests.helpers import SHARED_LUTS, random_table
from tests.nlut_helpers import random_nlut


def _rgb(n, lo=-0.3, hi=1.4, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, (n, 3)).astype(np.float32)


# ------------------------------------------------------------------------------ kernels --

@pytest.mark.parametrize("size", [2, 3, 17, 33, 65])
@pytest.mark.parametrize("diff", [True, False])
def test_tetrahedral_kernel_matches_lutplug(size, diff, monkeypatch):
    if not diff:
        monkeypatch.setattr(kernels, "MAX_DIFF_TABLE_BYTES", 0)
    lut = LUT3D(random_table(size, size), [-0.1, 0.0, 0.05], [1.2, 1.0, 0.9])
    k = engine.TetrahedralKernel(lut)
    assert k.diff is diff
    rgb = _rgb(50_000, seed=size)
    rgb[:6] = [[0, 0, 0], [1, 1, 1], [-0.1, 0, 0.05], [1.2, 1, 0.9], [0.5, 0.5, 0.5], [9, -9, 0.3]]
    got = k(rgb)
    want = lut.apply(rgb)
    assert got.dtype == np.float32 and got.shape == rgb.shape
    assert np.abs(got - want).max() <= 2e-6


def test_tetrahedral_kernel_ties_and_lattice_nodes_are_exact():
    n = 9
    lut = LUT3D(random_table(n, 2))
    g = np.linspace(0, 1, n, dtype=np.float32)
    nodes = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)[:, ::-1].copy()
    assert np.abs(engine.TetrahedralKernel(lut)(nodes) - lut.table.reshape(-1, 3)).max() <= 1e-6
    diag = np.repeat(np.linspace(0, 1, 101, dtype=np.float32)[:, None], 3, 1)  # fr == fg == fb
    assert np.abs(engine.TetrahedralKernel(lut)(diag) - tetrahedral(lut.table, diag)).max() <= 1e-6


def test_tetrahedral_kernel_with_shaper_matches_lutplug():
    shaper = LUT1D(np.linspace(0, 1, 32) ** 0.5 * 2.0, -0.1, 3.0)
    lut = LUT3D(random_table(17, 3), 0, 2.0, shaper=shaper)
    rgb = _rgb(40_000, -0.5, 3.5, seed=3)
    assert np.abs(engine.TetrahedralKernel(lut)(rgb) - lut.apply(rgb)).max() <= 2e-6


def test_non_finite_inputs_are_clamped_like_lutplug():
    lut = LUT3D(random_table(17, 4))
    rgb = np.array([[np.nan, 0.5, 0.5], [np.inf, -np.inf, 0.2], [0.3, np.nan, np.inf]], np.float32)
    got = engine.TetrahedralKernel(lut)(rgb)
    assert np.all(np.isfinite(got))
    assert np.abs(got - lut.apply(rgb)).max() <= 1e-6


def test_trilinear_luts_keep_their_interpolation():
    lut = LUT3D(random_table(9, 5), interpolation="trilinear")
    k = engine.cube_kernel(lut)
    rgb = _rgb(1000)
    assert isinstance(k, engine.GenericKernel)
    assert np.abs(k(rgb) - lut.apply(rgb)).max() <= 1e-6


def test_network_kernel_is_the_nlut_evaluator():
    nlut = random_nlut(1)
    rgb = _rgb(5000, 0, 1)
    px = np.concatenate([rgb, np.full((5000, 1), 0.25, np.float32)], 1)
    out = engine.Runner(engine.GenericKernel(nlut), threads=2, piece=777).run(px)
    assert np.abs(out[:, :3] - nlut.apply(rgb)).max() <= 1e-6
    assert np.array_equal(out[:, 3], px[:, 3])


# ------------------------------------------------------------------------------- runner --

@pytest.mark.parametrize("channels", [3, 4])
def test_runner_strength_alpha_threads_and_read_only_input(channels):
    lut = LUT3D(random_table(33, 6))
    k = engine.TetrahedralKernel(lut)
    rng = np.random.default_rng(1)
    px = rng.uniform(-0.1, 1.1, (123, 101, channels)).astype(np.float32)
    frozen = np.frombuffer(px.tobytes(), np.float32).reshape(px.shape)  # like GIMP's bytes
    assert not frozen.flags.writeable
    graded = lut.apply(px[..., :3])
    for strength in (1.0, 0.3):
        outs = [engine.Runner(k, threads=t, piece=p).run(frozen, strength)
                for t, p in ((1, 8192), (3, 1000), (2, 77))]
        for out in outs[1:]:
            assert np.array_equal(out, outs[0]), "results depend on threads or piece size"
        want = px[..., :3] + np.float32(strength) * (graded - px[..., :3])
        assert np.abs(outs[0][..., :3] - want).max() <= 2e-6
        if channels == 4:
            assert np.array_equal(outs[0][..., 3], px[..., 3])
    same = px.copy()
    assert engine.Runner(k, 2).run(same, 1.0, out=same) is same      # in place
    assert np.abs(same[..., :3] - graded).max() <= 2e-6
    zero = engine.Runner(k).run(frozen, 0.0)
    assert np.array_equal(zero, px)


def test_runner_rejects_what_it_cannot_handle():
    k = engine.TetrahedralKernel(LUT3D.identity(2))
    r = engine.Runner(k, 1)
    with pytest.raises(ValueError):
        r.run(np.zeros((4, 4), np.float64))
    with pytest.raises(ValueError):
        r.run(np.zeros((4, 8), np.float32)[:, ::2])
    with pytest.raises(ValueError):
        r.run(np.zeros((4, 4), np.float32), out=np.zeros((4, 3), np.float32))


# -------------------------------------------------------------------------------- files --

@pytest.fixture()
def keys(tmp_path):
    from lutplug.codec.signing import generate_keypair, load_private_key

    out = {}
    for k in ("a", "b"):
        generate_keypair(tmp_path / f"{k}.pem", tmp_path / f"{k}.pub")
        out[k] = (load_private_key(tmp_path / f"{k}.pem"), tmp_path / f"{k}.pub")
    return out


def _signed(tmp_path, keys, key="a", name="s.nlut"):
    from lutplug.codec.nlut import sign_file

    path = tmp_path / name
    random_nlut(2).save(path)
    sign_file(path, keys[key][0])
    return path


def test_plain_lut_source_and_engines(tmp_path):
    lut = LUT3D(random_table(17, 1), title="warm look")
    write_lut(lut, tmp_path / "look.cube")
    src = engine.load_source(str(tmp_path / "look.cube"))
    assert src.kind == "lut" and src.title == "warm look"
    assert src.engine_for("auto", 10) == "cube" and src.engine_for("cube", 10 ** 9) == "cube"
    with pytest.raises(LutError, match="engine 'mlp'"):
        src.engine_for("mlp", 10)
    with pytest.raises(LutError, match="unknown engine"):
        src.engine_for("gpu", 10)
    kernel, used = src.kernel("auto", 10)
    assert used == "17^3 cube, tetrahedral"
    rgb = _rgb(1000)
    assert np.abs(kernel(rgb) - read_lut(tmp_path / "look.cube").apply(rgb)).max() <= 2e-6
    assert src.summary().startswith("look.cube · 17^3 LUT")
    assert "signature: n/a" in src.summary()
    assert src.info().splitlines() == [
        f"source:    look.cube ({(tmp_path / 'look.cube').stat().st_size:,} bytes, 17^3 LUT; "
        f"sha256 {src.identity[:12]})",
        "title:     warm look",
        "signature: n/a (only .nlut files are signed)"]


def test_nlut_source_engines_and_text(tmp_path):
    nlut = random_nlut(3)
    nlut.description["quality"] = {"de_mean": 0.31, "de_p99": 1.2, "de_max": 2.5, "psnr": 48.1,
                                   "meets_target": True}
    nlut.save(tmp_path / "n.nlut")
    src = engine.load_source(str(tmp_path / "n.nlut"))
    assert src.kind == "nlut" and src.signature == "unsigned"
    assert src.engine_for("auto", engine.AUTO_MLP_MAX_PIXELS) == "mlp"
    assert src.engine_for("auto", engine.AUTO_MLP_MAX_PIXELS + 1) == "cube"
    assert src.engine_for("mlp", 10 ** 9) == "mlp" and src.engine_for("cube", 1) == "cube"
    rgb = _rgb(3000, 0, 1)
    mlp, used = src.kernel("mlp")
    assert used == "network (numpy, exact)"
    assert np.abs(mlp(rgb) - nlut.apply(rgb)).max() <= 1e-6
    cube, used = src.kernel("cube")
    assert used == "65^3 cube baked from the network"
    assert np.abs(cube(rgb) - to_cube(nlut, 65).apply(rgb)).max() <= 2e-6
    summary = src.summary()
    assert summary.startswith("n.nlut · .nlut, ") and "ΔE00 mean 0.31 / p99 1.2" in summary
    assert "signature: unsigned" in summary
    info = src.info()
    for text in ("network:   [12, 12] silu", "quality:   ΔE00 mean 0.31", "(meets target: yes)",
                 "colour:    ACEScct -> ?", "signature: unsigned"):
        assert text in info, text
    opened = nlut_module.open_nlut(tmp_path / "n.nlut")     # the text every host shows
    assert info == "\n".join(opened.summary_lines()) and summary == opened.summary()


def test_signature_states(tmp_path, keys):
    signed = _signed(tmp_path, keys)
    src = engine.load_source(str(signed))
    assert src.signature.startswith("intact, key ") and "integrity only" in src.signature
    trusted = engine.load_source(str(signed), engine.Trust([str(keys["a"][1])]))
    assert trusted.signature.startswith("valid, trusted key")
    with pytest.raises(SignatureError, match="not trusted") as exc:
        engine.load_source(str(signed), engine.Trust([str(keys["b"][1])]))
    assert str(signed) in str(exc.value)
    random_nlut(2).save(tmp_path / "u.nlut")
    with pytest.raises(UnsignedError, match="signature is required"):
        engine.load_source(str(tmp_path / "u.nlut"), engine.Trust([], True))


def test_tampered_nlut_is_refused_naming_the_file(tmp_path, keys):
    from lutplug.codec import container

    c = container.decode(_signed(tmp_path, keys).read_bytes())
    altered = random_nlut(2)
    altered.params = dict(altered.params, b1=altered.params["b1"] + np.float32(0.5))
    bad = tmp_path / "bad.nlut"
    bad.write_bytes(container.add_signature(altered.to_bytes(), c.public_key, lambda _: c.signature))
    with pytest.raises(SignatureError, match="altered after signing") as exc:
        engine.load_source(str(bad))
    assert engine.error_text(exc.value, str(bad)).startswith(str(bad))


def test_without_cryptography_signatures_are_reported_not_checked(tmp_path, keys, monkeypatch):
    signed = _signed(tmp_path, keys)
    monkeypatch.setattr(nlut_module, "has_cryptography", lambda: False)
    src = engine.load_source(str(signed))
    assert src.signature.startswith("NOT checked")
    assert any("NOT checked" in w for w in src.warnings)
    assert "WARNING:   signature NOT checked" in src.info()
    with pytest.raises(LutError, match="cryptography"):
        engine.load_source(str(signed), engine.Trust([str(keys["a"][1])]))
    with pytest.raises(LutError, match="cryptography"):
        engine.load_source(str(signed), engine.Trust([], True))


def _write(path: Path, data) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


@pytest.mark.parametrize("setup, words", [
    (lambda d: d / "missing.cube", ["missing.cube", "file not found"]),
    (lambda d: (d / "dir").mkdir() or d / "dir", ["dir", "is a folder"]),
    (lambda d: _write(d / "e.cube", ""), ["e.cube", "file is empty"]),
    (lambda d: _write(d / "b.cube", "LUT_3D_SIZE 3\n0 0 0\n"), ["b.cube", "expected 27"]),
    (lambda d: _write(d / "g.nlut", b"NLUT\x01\x00"), ["g.nlut", ".nlut"]),
    (lambda d: write_lut(LUT3D.identity(3), d / "x.clf") or d / "x.clf",
     ["x.clf", "OpenColorIO", "lutplug bake x.clf -o x.cube"]),
], ids=["missing", "folder", "empty", "short-cube", "garbage-nlut", "clf"])
def test_bad_files_raise_naming_the_file_and_reason(tmp_path, setup, words):
    path = setup(tmp_path)
    with pytest.raises(LutError) as exc:
        engine.load_source(str(path))
    text = engine.error_text(exc.value, str(path))
    for w in words:
        assert w in text, (w, text)
    assert engine.describe(str(path)).startswith("ERROR: ")


def test_describe_and_error_text_never_raise(tmp_path):
    assert engine.describe("").startswith("Choose a .nlut or LUT file")
    assert engine.error_text(ValueError("boom"), "/x.cube") == "/x.cube: ValueError: boom"
    assert engine.error_text(MemoryError(), "/x.cube") == "/x.cube: not enough memory to load it"
    assert engine.error_text(LutError("bad"), "/x.cube") == "/x.cube: bad"


# --------------------------------------------------------------------------- LUT images --

def _oiio_reader(path):
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    px = inp.read_image(0, 0, 0, 3, "float")
    inp.close()
    return np.asarray(px, np.float32).reshape(spec.height, spec.width, 3), str(spec.format)


def test_hald_image_needs_a_reader_and_matches_lutplug(tmp_path):
    pytest.importorskip("OpenImageIO")
    write_lut(LUT3D(np.clip(random_table(17, 2), 0, 1)), tmp_path / "h.png")
    with pytest.raises(LutError, match="image decoder"):
        engine.load_source(str(tmp_path / "h.png"))
    src = engine.load_source(str(tmp_path / "h.png"), image_reader=_oiio_reader)
    ref = read_lut(tmp_path / "h.png")
    assert np.abs(src.transform.table - ref.table).max() <= 1e-6  # code/65535, rounded alike
    assert src.detail.startswith("Hald CLUT level")


def test_lookup_strips_are_read_like_lutplug():
    n = 16
    table = np.clip(random_table(n, 3), 0, 1)
    horizontal = table.transpose(1, 0, 2, 3).reshape(n, n * n, 3)   # x = b*N + r, y = g
    lut = engine.lut_from_image(horizontal, "strip.png")
    assert np.array_equal(lut.table, table)
    tiles = table.reshape(4, 4, n, n, 3).transpose(0, 2, 1, 3, 4).reshape(64, 64, 3)
    assert np.array_equal(engine.lut_from_image(tiles, "t.png").table, table)
    with pytest.raises(LutError, match="neither a Hald CLUT"):
        engine.lut_from_image(np.zeros((10, 12, 3), np.float32), "odd.png")
    with pytest.raises(LutError, match="NaN"):
        engine.lut_from_image(np.full((64, 64, 3), np.nan, np.float32), "nan.png")


def test_shared_lookup_strip_matches_lutplug_reader():
    pytest.importorskip("OpenImageIO")
    path = SHARED_LUTS / "gpuimage_lookup_amatorka.png"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    lut = engine.lut_from_image(_oiio_reader(path)[0], str(path))
    assert lut.table.shape == (64, 64, 64, 3)
    assert np.abs(lut.table - read_lut(path).table).max() <= 1e-6


# -------------------------------------------------------------------------------- trust --

def test_trust_from_settings_and_environment(tmp_path, keys):
    """settings.json's keys and flag, merged with the environment's policy (all three names,
    read by lutplug.codec.trust.from_env): one policy."""
    folder = tmp_path / "plugin"
    (folder / "keys").mkdir(parents=True)
    shutil.copy(keys["a"][1], folder / "keys/00-a.pub")
    (folder / engine.SETTINGS_FILE).write_text(json.dumps(
        {"trusted_keys": ["keys/00-a.pub"], "require_signature": False}))
    t = engine.Trust.from_settings(folder, environ={})
    assert t.keys == [str(folder / "keys/00-a.pub")] and t.require_signature is False
    policy = t.policy()
    assert [k.name for k in policy.keys] == ["00-a"] and not policy.require_signature
    signed_a = _signed(tmp_path, keys, "a", "sa.nlut")
    signed_b = _signed(tmp_path, keys, "b", "sb.nlut")
    random_nlut(2).save(tmp_path / "u.nlut")
    assert engine.load_source(str(signed_a), t).signature == "valid, trusted key 00-a"
    with pytest.raises(SignatureError, match="not trusted"):
        engine.load_source(str(signed_b), t)

    t = engine.Trust.from_settings(folder, environ={trust_module.ENV_TRUSTED_KEYS: str(keys["b"][1]),
                                                    trust_module.ENV_REQUIRE_SIGNATURE: "1"})
    policy = t.policy()
    assert sorted(k.name for k in policy.keys) == ["00-a", "b"] and policy.require_signature
    assert engine.load_source(str(signed_a), t).signature == "valid, trusted key 00-a"
    assert engine.load_source(str(signed_b), t).signature == "valid, trusted key b"
    with pytest.raises(UnsignedError, match="signature is required"):
        engine.load_source(str(tmp_path / "u.nlut"), t)

    store = tmp_path / "trust.txt"
    store.write_text(f"studio {keys['b'][1]}\n")
    t = engine.Trust.from_settings(None, environ={trust_module.ENV_TRUST: str(store)})
    assert engine.load_source(str(signed_b), t).signature == "valid, trusted key studio"
    with pytest.raises(UnsignedError):      # a store requires signatures unless it says not
        engine.load_source(str(tmp_path / "u.nlut"), t)

    nothing = engine.Trust.from_settings(tmp_path / "none", environ={})
    assert nothing.keys == [] and not nothing.require_signature and nothing.policy() is None
    (folder / engine.SETTINGS_FILE).write_text("{not json")
    with pytest.raises(LutError, match="settings are unreadable"):
        engine.Trust.from_settings(folder, environ={})


def test_without_trust_the_environment_decides(tmp_path, keys, monkeypatch):
    signed_b = _signed(tmp_path, keys, "b", "sb.nlut")
    for name in (trust_module.ENV_TRUST, trust_module.ENV_TRUSTED_KEYS,
                 trust_module.ENV_REQUIRE_SIGNATURE):
        monkeypatch.delenv(name, raising=False)
    assert engine.load_source(str(signed_b)).signature.startswith("intact, key ")
    monkeypatch.setenv(trust_module.ENV_TRUSTED_KEYS, str(keys["a"][1]))
    with pytest.raises(SignatureError, match="not trusted"):
        engine.load_source(str(signed_b))
    # the policy is read when a .nlut is opened: a plain LUT file never depends on it
    monkeypatch.setenv(trust_module.ENV_TRUST, str(tmp_path / "missing-store.txt"))
    write_lut(LUT3D.identity(3), tmp_path / "i.cube")
    assert engine.load_source(str(tmp_path / "i.cube"), engine.Trust.from_settings(None)).kind == "lut"
    with pytest.raises(LutError, match="missing-store.txt"):
        engine.load_source(str(signed_b), engine.Trust.from_settings(None))


# -------------------------------------------------------------------------------- cache --

def test_lut_cache_returns_the_same_lut_and_survives_damage(tmp_path):
    shaper = LUT1D(np.linspace(0, 1, 64) ** 0.45, 0.0, 4.0)
    write_lut(LUT3D(random_table(17, 9), shaper=shaper, title="t"), tmp_path / "s.cube")
    cache = engine.LutCache(tmp_path / "cache", keep=2)
    first = engine.load_source(str(tmp_path / "s.cube"), cache=cache)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    again = engine.load_source(str(tmp_path / "s.cube"), cache=cache)
    for a, b in ((first.transform, again.transform),):
        assert np.array_equal(a.table, b.table) and np.array_equal(a.shaper.table, b.shaper.table)
        assert np.array_equal(a.domain_min, b.domain_min) and a.title == b.title
    rgb = _rgb(2000, -0.2, 4.5)
    assert np.array_equal(again.kernel()[0](rgb), first.kernel()[0](rgb))
    # a changed file is a new entry; the oldest entries go
    for seed in (1, 2):
        write_lut(LUT3D(random_table(5, seed)), tmp_path / "s.cube")
        src = engine.load_source(str(tmp_path / "s.cube"), cache=cache)
        assert np.array_equal(src.transform.table, read_lut(tmp_path / "s.cube").table)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
    for entry in (tmp_path / "cache").glob("*.npz"):
        entry.write_bytes(b"garbage")
    src = engine.load_source(str(tmp_path / "s.cube"), cache=cache)
    assert np.array_equal(src.transform.table, read_lut(tmp_path / "s.cube").table)

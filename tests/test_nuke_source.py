"""Loading a LutPlug node's file without Nuke: the kernel, the dense cube baked into a cache named
by content hash (read back by OpenColorIO's own FileTransform, as OCIOFileTransform does), the
info panel (the info lines every host shows, plus the node's engines), signatures (with and
without the cryptography package) and every kind of bad file."""
from __future__ import annotations

import os

import numpy as np
import pytest

from lutplug.codec import nlut as nlut_module
from lutplug.codec import trust
from lutplug.codec.nlut import NeuralLUT, load_nlut, open_nlut, sign_file
from lutplug.core.formats import read_lut, write_lut
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.hosts.nuke.source import cache_root, file_identity, load_source
from tests.nlut_helpers import random_nlut


def _described(seed=1, **kw) -> NeuralLUT:
    n = random_nlut(seed=seed, **kw)
    n.description.update({
        "title": "Show look",
        "colorspace": {"input": "ACEScct", "output": "Rec.709"},
        "provenance": {"source": "show_look.cube", "source_bytes": 918_223, "grid": 33,
                       "source_sha256": "ab12" * 16,
                       "created": "2026-01-02T03:04:05+00:00", "lutplug": "0.1.0"},
        "quality": {"de_mean": 0.21, "de_p95": 0.6, "de_p99": 0.9, "de_max": 1.8, "psnr": 50.1,
                    "meets_target": True}})
    return n


@pytest.fixture(autouse=True)
def no_trust_policy(monkeypatch):
    """Each test starts without a trust policy in the environment (it sets one where it needs it)."""
    for var in (trust.ENV_TRUST, trust.ENV_TRUSTED_KEYS, trust.ENV_REQUIRE_SIGNATURE):
        monkeypatch.delenv(var, raising=False)


def _policy(*pems, require=False):
    """What an explicit key list becomes (``lutplug nuke --pubkey``): a trust policy."""
    return trust.pem_keys(list(pems), require)


@pytest.fixture()
def nlut_path(tmp_path):
    path = tmp_path / "show.nlut"
    _described(shaper=True).save(path)
    return path


def test_nlut_loads_with_kernel_cube_and_info(nlut_path, tmp_path):
    cache = tmp_path / "cache"
    got = load_source(str(nlut_path), cache_dir=cache)
    assert got.ok and not got.error and got.kind == "nlut" and got.has_mlp
    n = load_nlut(nlut_path)
    assert got.content_hash == n.content_hash == file_identity(str(nlut_path))
    assert "kernel LutPlugKernel : ImageComputationKernel<ePixelWise>" in got.kernel
    assert got.cube_size == 65
    assert got.cube_path == str((cache / n.content_hash / "cube65.cube").resolve())
    info = got.info
    size = nlut_path.stat().st_size
    for needle in (f"source:    show.nlut (.nlut v3, {size:,} bytes; {round(918_223 / size, 1)}:1 vs "
                   f"its source, {round(33 ** 3 * 12 / size, 1)}:1 vs a float32 33^3 cube)",
                   "title:     Show look",
                   "made from: show_look.cube (33^3, 918,223 bytes, sha256 ab12ab12ab12ab12…)",
                   "quality:   ΔE00 mean 0.21  p99 0.9  max 1.8  PSNR 50.1 dB  (meets target: yes)",
                   "colour:    ACEScct -> Rec.709", "signature: unsigned",
                   "engines:   GPU MLP (BlinkScript, NukeX / Nuke Studio) or dense cube 65^3 "
                   f"({got.cube_path})"):
        assert needle in info, needle
    # the file's own lines are exactly the ones every host shows; the node adds its engines
    assert info.splitlines()[:-1] == open_nlut(nlut_path).summary_lines()
    # the cache is content-addressed: a second load reuses the cube, another size adds one
    stamp = os.stat(got.cube_path).st_mtime_ns
    again = load_source(str(nlut_path), cache_dir=cache)
    assert again.cube_path == got.cube_path and os.stat(got.cube_path).st_mtime_ns == stamp
    small = load_source(str(nlut_path), "17", cache_dir=cache)
    assert small.cube_path.endswith("cube17.cube") and read_lut(small.cube_path).size == 17


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LUTPLUG_NUKE_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("LUTPLUG_NUKE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_root() == tmp_path / "x" / "lutplug" / "nuke"


@pytest.mark.parametrize("shaper", [False, True])
def test_baked_cube_as_ocio_reads_it(tmp_path, ocio_file_apply, shaper):
    """OpenColorIO reads the baked file (what OCIOFileTransform does) as exactly the cube lutplug
    baked, and that cube holds the network's values at its nodes."""
    n = _described(seed=3, shaper=shaper)
    path = tmp_path / "a.nlut"
    n.save(path)
    got = load_source(str(path), "33", cache_dir=tmp_path / "cache")
    assert got.ok, got.error
    baked = n.bake(33)
    rng = np.random.default_rng(0)
    dmin, dmax = n.input_domain
    x = (dmin + rng.random((20000, 3)) * (dmax - dmin)).astype(np.float32)
    through_ocio = ocio_file_apply(got.cube_path, x)
    np.testing.assert_allclose(through_ocio, baked.apply(x), atol=2e-5)
    if not shaper:  # lattice nodes are the network's own values
        from lutplug.core.lut import lattice

        nodes = lattice(33).astype(np.float32)
        np.testing.assert_allclose(ocio_file_apply(got.cube_path, nodes), n.apply(nodes), atol=1e-5)


def test_per_channel_shaper_ranges_are_baked_as_clf(tmp_path, ocio_file_apply):
    n = random_nlut(seed=5)
    n.shaper = LUT1D(np.linspace(0, 1, 16) ** 0.7, [-0.1, -0.2, 0.0], [2.0, 3.0, 1.5])
    path = tmp_path / "pc.nlut"
    n.save(path)
    got = load_source(str(path), "33", cache_dir=tmp_path / "cache")
    assert got.ok, got.error
    assert got.cube_path.endswith("cube33.clf")
    x = (np.random.default_rng(1).random((5000, 3)) * [2.1, 3.2, 1.5] + [-0.1, -0.2, 0]).astype(np.float32)
    np.testing.assert_allclose(ocio_file_apply(got.cube_path, x), n.bake(33).apply(x), atol=2e-5)


def test_trilinear_grade_is_baked_as_clf(tmp_path, ocio_file_apply):
    # a .cube cannot say "trilinear" (OCIOFileTransform would read it tetrahedrally); a CLF does
    n = random_nlut(seed=6)
    n.description["interpolation"] = "trilinear"
    path = tmp_path / "tri.nlut"
    n.save(path)
    got = load_source(str(path), "17", cache_dir=tmp_path / "cache")
    assert got.ok and got.cube_path.endswith("cube17.clf"), got.error
    x = np.random.default_rng(4).random((5000, 3)).astype(np.float32)
    baked = n.bake(17)
    assert baked.interpolation == "trilinear"
    np.testing.assert_allclose(ocio_file_apply(got.cube_path, x), baked.apply(x), atol=2e-5)


def test_plain_lut_file_is_cube_only(tmp_path, ocio_file_apply):
    lut = LUT3D(np.random.default_rng(2).random((17, 17, 17, 3)).astype(np.float32), title="grade")
    path = tmp_path / "grade.cube"
    write_lut(lut, path)
    got = load_source(str(path), cache_dir=tmp_path / "cache")
    assert got.ok and got.kind == "lut" and not got.has_mlp and got.kernel == ""
    assert got.cube_size == 17  # auto keeps the LUT's own grid: no resampling
    x = np.random.default_rng(3).random((3000, 3)).astype(np.float32)
    np.testing.assert_allclose(ocio_file_apply(got.cube_path, x), lut.apply(x), atol=2e-5)
    assert got.info.splitlines()[0].startswith(f"source:    grade.cube ({path.stat().st_size:,} bytes, "
                                              "17^3 LUT, sha256 ")
    assert "network:   none (a plain LUT)" in got.info and "dense cube 17^3" in got.info
    assert "signature: n/a (only .nlut files are signed)" in got.info


def _tamper(path, offset=40):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x55
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("case,reason", [
    ("missing", "file not found"),
    ("empty", "file is empty"),
    ("folder", "is a folder"),
    ("garbage", "not a .nlut"),
    ("truncated", "truncated"),
    ("payload", "corrupted"),
    ("badlut", "show.cube"),
    ("badsize", "cube size"),
])
def test_bad_files_give_a_reason_and_never_raise(tmp_path, nlut_path, case, reason):
    path = tmp_path / "show.nlut"
    size = "auto"
    if case == "missing":
        path = tmp_path / "nothere.nlut"
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "folder":
        path = tmp_path / "dir.nlut"
        path.mkdir()
    elif case == "garbage":
        path.write_bytes(b"this is not a network at all")
    elif case == "truncated":
        path.write_bytes(nlut_path.read_bytes()[:-7])
    elif case == "payload":
        _tamper(path)
    elif case == "badlut":
        path = tmp_path / "show.cube"
        path.write_text("LUT_3D_SIZE 2\n0 0 0\n1 1\n")
    elif case == "badsize":
        size = "48"
    got = load_source(str(path), size if case == "badsize" else "17", cache_dir=tmp_path / "cache")
    assert not got.ok and got.kernel == "" and got.cube_path == ""
    assert reason in got.error, got.error
    assert got.info.startswith("ERROR: ")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.cube"))


@pytest.fixture()
def keys(tmp_path):
    pytest.importorskip("cryptography")
    from lutplug.codec.signing import generate_keypair, load_private_key

    generate_keypair(tmp_path / "a.key", tmp_path / "a.pub")
    generate_keypair(tmp_path / "b.key", tmp_path / "b.pub")
    return {"a": load_private_key(tmp_path / "a.key"), "a.pub": str(tmp_path / "a.pub"),
            "b.pub": str(tmp_path / "b.pub")}


def test_signature_states(tmp_path, nlut_path, keys):
    sign_file(nlut_path, keys["a"])  # the first signature names its signer: a new identity
    signed_hash = file_identity(str(nlut_path))
    sign_file(nlut_path, keys["a"])
    assert file_identity(str(nlut_path)) == signed_hash  # identity survives re-signing
    cache = tmp_path / "cache"
    valid = load_source(str(nlut_path), "17", cache_dir=cache, policy=_policy(keys["a.pub"]))
    assert valid.ok and "signature: valid, trusted key a" in valid.info
    intact = load_source(str(nlut_path), "17", cache_dir=cache)
    assert intact.ok and "signature: intact, key " in intact.info and "integrity only" in intact.info
    other = load_source(str(nlut_path), "17", cache_dir=cache, policy=_policy(keys["b.pub"]))
    assert not other.ok and "not trusted" in other.error
    _tamper(nlut_path, offset=-1)  # the signature's last byte: the structure still holds
    tampered = load_source(str(nlut_path), "17", cache_dir=cache)
    assert not tampered.ok and "altered after signing" in tampered.error


def test_unsigned_file_refused_when_a_signature_is_required(nlut_path, tmp_path, monkeypatch):
    assert load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache").ok
    need = load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache", policy=_policy(require=True))
    assert not need.ok and "not signed" in need.error
    monkeypatch.setenv("LUTPLUG_REQUIRE_SIGNATURE", "1")
    got = load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache")
    assert not got.ok and "not signed" in got.error


def test_trusted_keys_come_from_the_environment(nlut_path, tmp_path, keys, monkeypatch):
    sign_file(nlut_path, keys["a"])
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", os.pathsep.join([keys["b.pub"], keys["a.pub"]]))
    got = load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache")
    assert got.ok and "signature: valid, trusted key a" in got.info
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", keys["b.pub"])
    assert not load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache").ok
    # an explicit key adds to the environment's policy: one policy, never a way around it
    both = load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache", policy=_policy(keys["a.pub"]))
    assert both.ok and "signature: valid, trusted key a" in both.info


def test_without_cryptography_the_info_panel_says_so(nlut_path, tmp_path, keys, monkeypatch):
    """Inside Nuke only numpy is assumed: a signed file still loads, marked unverified."""
    sign_file(nlut_path, keys["a"])
    monkeypatch.setattr(nlut_module, "has_cryptography", lambda: False)
    got = load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache")
    assert got.ok, got.error
    assert "signature: NOT checked (signed with key " in got.info
    assert "the cryptography package is unavailable)" in got.info
    assert "WARNING:   signature NOT checked: the cryptography package is not available" in got.info
    assert got.warnings and got.warnings[0].startswith("signature NOT checked")
    assert got.content_hash == file_identity(str(nlut_path))
    # ... but where a verified signature is required, it cannot be given: refused, with the reason
    need = load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache", policy=_policy(keys["a.pub"]))
    assert not need.ok and "cryptography package is not available" in need.error
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", keys["a.pub"])  # the environment's policy: the same
    assert "cryptography package is not available" in \
        load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache").error
    monkeypatch.delenv("LUTPLUG_TRUSTED_KEYS")
    # structure is still checked without cryptography
    _tamper(nlut_path, offset=9)
    assert not load_source(str(nlut_path), "17", cache_dir=tmp_path / "cache").ok


def test_cube_beside_an_output_never_overwrites_the_input(tmp_path):
    import hashlib

    n = random_nlut(seed=1)
    path = tmp_path / "Grade.nlut"
    n.save(path)
    first = load_source(str(path), "17", cube_dir=tmp_path, cube_stem="Grade")
    assert first.ok and first.cube_path == str(tmp_path / f"Grade.{first.content_hash[:12]}.cube")
    # a LUT whose name is exactly the cube name the bake would write
    lut = LUT3D(np.random.default_rng(4).random((5, 5, 5, 3)).astype(np.float32))
    write_lut(lut, tmp_path / "tmp.cube")
    data = (tmp_path / "tmp.cube").read_bytes()
    victim = tmp_path / f"Grade.{hashlib.sha256(data).hexdigest()[:12]}.cube"
    (tmp_path / "tmp.cube").rename(victim)
    clash = load_source(str(victim), "17", cube_dir=tmp_path, cube_stem="Grade")
    assert not clash.ok and "overwrite the input" in clash.error
    assert victim.read_bytes() == data


def test_unwritable_cache_keeps_the_gpu_engine(tmp_path, nlut_path):
    cache = tmp_path / "ro"
    cache.write_text("a file where the cache folder should be")
    got = load_source(str(nlut_path), "17", cache_dir=cache)
    assert got.ok and got.has_mlp and got.cube_path == ""
    assert "WARNING:   the dense cube could not be written" in got.info
    assert "only the GPU MLP engine works" in got.info
    lut = tmp_path / "plain.cube"
    write_lut(LUT3D.identity(5), lut)
    plain = load_source(str(lut), cache_dir=cache)
    assert not plain.ok and plain.error

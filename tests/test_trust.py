"""Trust: `lutplug verify` tells every way a signature can fail apart (exit codes and messages),
trust stores are parsed strictly, and hosts (OCIO proxy, GIMP, Nuke) honour a configured store."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("cryptography")
from lutplug.cli import main
from lutplug.codec import container, trust
from lutplug.codec.nlut import SIGNER_FIELD, from_bytes, load_nlut, sign_file
from lutplug.codec.signing import generate_keypair, load_private_key, public_raw
from lutplug.errors import (ExpiredKeyError, LutError, ResignedError, StrippedSignatureError,
                            UnsignedError, UntrustedKeyError)
from tests.nlut_helpers import random_nlut


def run(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("studio", "vendor", "mallory"):
        generate_keypair(d / name, d / f"{name}.pub")
        out[name] = load_private_key(d / name)
        out[name + ".pub"] = d / f"{name}.pub"
    return out


def _line(keys, name, not_after=None) -> str:
    k = trust.TrustedKey(public_raw(keys[name].public_key()), name,
                         dt.date.fromisoformat(not_after) if not_after else None)
    return k.line()


@pytest.fixture
def files(tmp_path, keys):
    """A grade signed by the studio, its unsigned original, and trust stores."""
    plain = tmp_path / "plain.nlut"
    random_nlut(21).save(plain)
    signed = tmp_path / "signed.nlut"
    sign_file(plain, keys["studio"], signed)
    store = tmp_path / "trust.txt"
    store.write_text(f"# studio keys\n{_line(keys, 'studio')}\n{_line(keys, 'vendor')}\n")
    expired = tmp_path / "expired.txt"
    expired.write_text(_line(keys, "studio", "2020-01-31") + "\n")
    lenient = tmp_path / "lenient.txt"
    lenient.write_text(f"{_line(keys, 'studio')}\nallow-unsigned\n")
    return {"plain": plain, "signed": signed, "store": store, "expired": expired,
            "lenient": lenient, "dir": tmp_path}


def _stripped(signed: bytes, clear_flag: bool) -> bytes:
    data = bytearray(signed[:-96])
    if clear_flag:
        data[5] &= 0xFE  # the signed flag: bit 0 of byte 5
    return bytes(data)


def _resigned(signed: bytes, key) -> bytes:
    """What a tool that keeps the payload does: sign the same bytes with another key."""
    return container.add_signature(_stripped(signed, True), public_raw(key.public_key()), key.sign)


def test_verify_tells_each_outcome_apart(files, keys, tmp_path):
    signed, store = files["signed"], files["store"]
    cases = {}
    cases["valid"] = run("verify", signed, "--trust", store)
    cases["integrity only"] = run("verify", signed)
    cases["unsigned, required"] = run("verify", files["plain"], "--trust", store)
    cases["unsigned, allowed"] = run("verify", files["plain"], "--trust", files["lenient"])
    cases["wrong key"] = run("verify", signed, "--pubkey", keys["vendor.pub"])
    only_vendor = tmp_path / "vendor-only.txt"
    only_vendor.write_text(_line(keys, "vendor") + "\n")
    cases["unknown key id"] = run("verify", signed, "--trust", only_vendor)
    cases["expired"] = run("verify", signed, "--trust", files["expired"])
    for name, clear in (("stripped", False), ("stripped, flag cleared", True)):
        p = tmp_path / f"{name}.nlut"
        p.write_bytes(_stripped(signed.read_bytes(), clear))
        cases[name] = run("verify", p)
    p = tmp_path / "resigned.nlut"
    p.write_bytes(_resigned(signed.read_bytes(), keys["mallory"]))
    cases["re-signed"] = run("verify", p)
    cases["re-signed, with store"] = run("verify", p, "--trust", store)
    tampered = bytearray(signed.read_bytes())
    tampered[30] ^= 0x04
    p = tmp_path / "tampered.nlut"
    p.write_bytes(bytes(tampered))
    cases["tampered"] = run("verify", p, "--trust", store)
    expected = {"valid": (0, "VALID"), "integrity only": (0, "integrity only"),
                "unsigned, required": (4, "UNSIGNED"), "unsigned, allowed": (0, "UNSIGNED"),
                "wrong key": (5, "UNTRUSTED"), "unknown key id": (5, "UNTRUSTED"),
                "expired": (6, "EXPIRED"), "stripped": (7, "STRIPPED"),
                "stripped, flag cleared": (7, "STRIPPED"), "re-signed": (8, "RESIGNED"),
                "re-signed, with store": (8, "RESIGNED"), "tampered": (3, "INVALID")}
    for name, (code, word) in expected.items():
        got_code, out = cases[name]
        assert got_code == code and word in out, (name, got_code, out)
    kid = trust.key_id(public_raw(keys["studio"].public_key()))
    assert "by trusted key studio" in cases["valid"][1]
    assert "2020-01-31" in cases["expired"][1] and kid in cases["expired"][1]
    mallory = trust.key_id(public_raw(keys["mallory"].public_key()))
    assert kid in cases["re-signed"][1] and mallory in cases["re-signed"][1]
    assert str(only_vendor) in cases["unknown key id"][1]


def test_loaders_refuse_what_verify_flags(files, keys, tmp_path):
    signed = files["signed"].read_bytes()
    store = trust.load_store(files["store"])
    assert from_bytes(signed, "s", store).signature.state == "valid"
    assert from_bytes(signed, "s", store).signature.key_name == "studio"
    with pytest.raises(UnsignedError):
        from_bytes(files["plain"].read_bytes(), "p", store)
    with pytest.raises(ExpiredKeyError, match="2020-01-31"):
        from_bytes(signed, "s", trust.load_store(files["expired"]))
    # an expired key is fine for a file checked as of a date before expiry
    assert from_bytes(signed, "s", trust.load_store(files["expired"]),
                      today=dt.date(2019, 5, 1)).signature.state == "valid"
    with pytest.raises(UntrustedKeyError, match="not trusted"):
        from_bytes(signed, "s", [keys["vendor"].public_key()])
    # stripped and re-signed files are refused even where no key is configured
    for bad, error in ((_stripped(signed, False), StrippedSignatureError),
                       (_stripped(signed, True), StrippedSignatureError),
                       (_resigned(signed, keys["mallory"]), ResignedError)):
        with pytest.raises(error):
            from_bytes(bad, "x")
    # signing names the signer inside the signed bytes
    assert load_nlut(files["signed"]).description[SIGNER_FIELD] == trust.key_id(
        public_raw(keys["studio"].public_key()))
    # a grade re-saved from a signed one is a new unsigned file (it names no signer)
    resaved = tmp_path / "resaved.nlut"
    load_nlut(files["signed"]).save(resaved)
    assert from_bytes(resaved.read_bytes(), "r").signature.state == "unsigned"


def test_sign_refuses_to_resign_without_asking(files, keys, tmp_path):
    signed = files["signed"]
    out = tmp_path / "taken.nlut"
    code, text = run("sign", signed, "--key", keys["vendor.pub"].with_suffix(""), "-o", out)
    assert code == 2 and "--resign" in text and not out.exists()
    code, text = run("sign", signed, "--key", keys["vendor.pub"].with_suffix(""), "-o", out, "--resign")
    assert code == 0, text
    vendor_only = tmp_path / "v.txt"
    vendor_only.write_text(_line(keys, "vendor") + "\n")
    assert run("verify", out, "--trust", vendor_only)[0] == 0
    # the same key again keeps the content hash (the grade's identity)
    before = load_nlut(out).content_hash
    assert run("sign", out, "--key", keys["vendor.pub"].with_suffix(""))[0] == 0
    assert load_nlut(out).content_hash == before


def test_keygen_prints_a_usable_trust_line(tmp_path):
    code, out = run("keygen", "-o", tmp_path / "new")
    assert code == 0
    line = out.split("): ", 1)[1].strip()
    store = tmp_path / "store.txt"
    store.write_text(line + "  not-after=2099-12-31\n")
    loaded = trust.load_store(store)
    assert loaded.keys[0].name == "new" and loaded.keys[0].not_after == dt.date(2099, 12, 31)
    assert loaded.keys[0].raw == public_raw(load_private_key(tmp_path / "new").public_key())


@pytest.mark.parametrize("text, message", [
    ("# nothing\n", "lists no key"),
    ("studio\n", "expected 'NAME KEY"),
    ("studio ed25519:AAAA\n", "not base64 of 32 bytes"),
    ("studio ed25519:{key} not-after=2027-13-01\n", "not YYYY-MM-DD"),
    ("studio ed25519:{key} colour=blue\n", "unknown option"),
    ("a ed25519:{key}\nb ed25519:{key}\n", "listed twice"),
    ("studio missing.pub\n", "key file of 'studio'"),
    ("\xff\xfe", "not UTF-8"),
])
def test_trust_store_parsing_is_strict(tmp_path, keys, text, message):
    import base64

    raw = base64.b64encode(public_raw(keys["studio"].public_key())).decode()
    path = tmp_path / "t.txt"
    path.write_bytes(text.replace("{key}", raw).encode("latin-1"))
    with pytest.raises(LutError, match=message):
        trust.load_store(path)


def test_trust_store_forms(tmp_path, keys):
    folder = tmp_path / "keys"
    folder.mkdir()
    for name in ("studio", "vendor"):
        (folder / f"{name}.pub").write_bytes(keys[f"{name}.pub"].read_bytes())
    as_dir = trust.load_store(folder)
    assert [k.name for k in as_dir.keys] == ["studio", "vendor"] and as_dir.require_signature
    one = trust.load_store(keys["studio.pub"])
    assert len(one.keys) == 1
    rel = tmp_path / "rel.txt"
    rel.write_text("studio keys/studio.pub not-after=2030-01-01\n")
    assert trust.load_store(rel).keys[0].raw == as_dir.keys[0].raw


# ---------------------------------------------------------------------------------- hosts --

def _bad_variants(files, keys, tmp_path):
    """{what: path} of grades a host configured with the studio store must refuse."""
    signed = files["signed"].read_bytes()
    tampered = bytearray(signed)
    tampered[-1] ^= 1
    out = {"tampered": bytes(tampered), "unknown key": None, "stripped": _stripped(signed, True),
           "re-signed": _resigned(signed, keys["mallory"]), "unsigned": files["plain"].read_bytes()}
    other = tmp_path / "vendor-signed.nlut"
    sign_file(files["plain"], keys["mallory"], other)
    out["unknown key"] = other.read_bytes()
    paths = {}
    for what, data in out.items():
        p = tmp_path / f"bad-{what.replace(' ', '-')}.nlut"
        p.write_bytes(data)
        paths[what] = p
    return paths


def test_ocio_proxy_honours_the_configured_trust_store(files, keys, tmp_path, monkeypatch):
    ocio = pytest.importorskip("PyOpenColorIO")
    from lutplug.hosts.ocio.proxy import NlutIOProxy

    monkeypatch.setenv(trust.ENV_TRUST, str(files["store"]))
    cfg = ("ocio_profile_version: 2\nsearch_path: .\nroles: {default: raw}\n"
           "displays: {d: [!<View> {name: v, colorspace: raw}]}\n"
           "colorspaces:\n  - !<ColorSpace> {name: raw, isdata: false}\n"
           "looks:\n  - !<Look> {name: g, process_space: raw, transform: !<FileTransform> "
           "{src: GRADE, interpolation: tetrahedral}}\n")

    def processor(grade_path):
        ocio.ClearAllCaches()
        proxy = NlutIOProxy(cfg.replace("GRADE", grade_path.name), root=grade_path.parent, size=9)
        return proxy.config().getProcessor(ocio.LookTransform("raw", "raw", "g"))

    assert processor(files["signed"]) is not None
    for what, path in _bad_variants(files, keys, tmp_path).items():
        with pytest.raises(Exception, match="lutplug") as info:
            processor(path)
        assert str(path.name) in str(info.value), what


def test_gimp_engine_honours_the_configured_trust_store(files, keys, tmp_path):
    from lutplug.hosts.gimp import engine

    t = engine.Trust.from_settings(None, environ={trust.ENV_TRUST: str(files["store"])})
    assert "valid, trusted key studio" in engine.load_source(str(files["signed"]), t).signature
    for what, path in _bad_variants(files, keys, tmp_path).items():
        with pytest.raises(LutError):
            engine.load_source(str(path), t)


def test_nuke_source_honours_the_configured_trust_store(files, keys, tmp_path, monkeypatch):
    from lutplug.hosts.nuke.source import load_source

    monkeypatch.setenv(trust.ENV_TRUST, str(files["store"]))
    ok = load_source(str(files["signed"]), "17", cache_dir=tmp_path / "cache")
    assert ok.ok, ok.error
    for what, path in _bad_variants(files, keys, tmp_path).items():
        got = load_source(str(path), "17", cache_dir=tmp_path / "cache")
        assert not got.ok and got.error, what


def test_cli_apply_honours_the_environment_store(files, keys, tmp_path):
    pytest.importorskip("OpenImageIO")
    from lutplug.imageio import write_image

    img = tmp_path / "in.exr"
    write_image(img, np.full((4, 4, 3), 0.5, np.float32), pixel_type="float")
    env = {trust.ENV_TRUST: str(files["store"])}
    assert run("apply", img, "-o", tmp_path / "ok.exr", "--lut", files["signed"], "--engine",
               "cube", env=env)[0] == 0
    bad = _bad_variants(files, keys, tmp_path)
    for what in ("unknown key", "unsigned", "stripped"):
        code, out = run("apply", img, "-o", tmp_path / "no.exr", "--lut", bad[what], env=env)
        assert code == 2 and not (tmp_path / "no.exr").exists(), (what, out)

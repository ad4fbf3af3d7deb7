"""The one way a host opens a .nlut (``lutplug.codec.nlut.open_nlut``): its facts are the file's
own (size, SHA-256, version byte, content hash), its info text says what the file holds, and the
trust policy comes from the same environment variables everywhere (``$LUTPLUG_TRUST`` and the
older ``$LUTPLUG_TRUSTED_KEYS`` / ``$LUTPLUG_REQUIRE_SIGNATURE``)."""
from __future__ import annotations

import hashlib
import os

import pytest

from lutplug.codec import container, nlut, trust
from lutplug.codec.nlut import open_nlut, sign_file
from lutplug.errors import LutError, SignatureError, UnsignedError, UntrustedKeyError
from tests.nlut_helpers import fit_stored_nlut, random_nlut

crypto = pytest.importorskip("cryptography")
from lutplug.codec.signing import generate_keypair, load_private_key  # noqa: E402

NO_TRUST_ENV = {trust.ENV_TRUST: "", trust.ENV_TRUSTED_KEYS: "", trust.ENV_REQUIRE_SIGNATURE: ""}


@pytest.fixture
def clean_env(monkeypatch):
    for name in NO_TRUST_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    for name in ("studio", "mallory"):
        generate_keypair(d / name, d / f"{name}.pub")
    return {"dir": d, "studio": load_private_key(d / "studio"), "studio.pub": d / "studio.pub",
            "mallory": load_private_key(d / "mallory")}


@pytest.fixture
def grade(tmp_path):
    n = fit_stored_nlut()
    n.description.update({"title": "Show look", "colorspace": {"input": "ACEScct", "output": "Rec.709"},
                          "quality": {"de_mean": 0.21, "de_p99": 0.9, "de_max": 1.8, "psnr": 50.1,
                                      "meets_target": True},
                          "provenance": {"grid": 17, "source": "show_look.cube", "source_bytes": 918223,
                                         "source_sha256": "ab" * 32, "created": "2026-12-07T00:00:00+00:00",
                                         "lutplug": "0.1.0", "parent": None, "settings": {"seed": 0}}})
    path = tmp_path / "show.nlut"
    n.save(path)
    return path


def test_facts_are_the_files_own(grade, clean_env):
    data = grade.read_bytes()
    opened = open_nlut(grade)
    assert opened.file_bytes == len(data) and opened.sha256 == hashlib.sha256(data).hexdigest()
    assert opened.format_version == data[4] == 3
    assert opened.content_hash == container.decode(data).content_hash == hashlib.sha256(data).hexdigest()
    assert opened.signature.state == "unsigned" and not opened.warnings
    assert open_nlut(grade, data=data).sha256 == opened.sha256  # bytes the host already has


def test_summary_lines_say_what_the_file_holds(grade, clean_env):
    lines = open_nlut(grade).summary_lines()
    text = "\n".join(lines)
    size = grade.stat().st_size
    assert lines[0].startswith(f"source:    show.nlut (.nlut v3, {size:,} bytes; ")
    for needle in ("title:     Show look",
                   "made from: show_look.cube (17^3, 918,223 bytes, sha256 abababababababab…)",
                   "network:   [6] ", "quality:   ΔE00 mean 0.21  p99 0.9  max 1.8  PSNR 50.1 dB  (meets target: yes)",
                   "colour:    ACEScct -> Rec.709", "signature: unsigned"):
        assert needle in text, (needle, text)
    ratio = round(918223 / size, 1)
    assert f"{ratio}:1 vs its source" in lines[0]
    assert all(len(line.split(":", 1)[0]) <= 10 for line in lines)  # one label column


def test_the_environment_configures_one_policy(grade, keys, tmp_path, clean_env):
    signed = tmp_path / "signed.nlut"
    sign_file(grade, keys["studio"], signed)
    other = tmp_path / "other.nlut"
    sign_file(grade, keys["mallory"], other)
    # nothing configured: integrity only
    assert open_nlut(signed).signature.state == "untrusted"
    # the older names: trusted PEM keys (unsigned files still accepted) ...
    clean_env.setenv(trust.ENV_TRUSTED_KEYS, os.pathsep.join([str(keys["studio.pub"])]))
    assert open_nlut(signed).signature.state == "valid"
    assert open_nlut(grade).signature.state == "unsigned"
    with pytest.raises(UntrustedKeyError):
        open_nlut(other)
    # ... and REQUIRE_SIGNATURE=1 refuses unsigned ones
    clean_env.setenv(trust.ENV_REQUIRE_SIGNATURE, "1")
    with pytest.raises(UnsignedError):
        open_nlut(grade)
    # the trust store name, alone
    clean_env.delenv(trust.ENV_TRUSTED_KEYS)
    clean_env.delenv(trust.ENV_REQUIRE_SIGNATURE)
    store = tmp_path / "trust.txt"
    store.write_text(f"studio {keys['studio.pub']}\n")
    clean_env.setenv(trust.ENV_TRUST, str(store))
    assert open_nlut(signed).signature.state == "valid"
    with pytest.raises(UnsignedError):  # a store requires signatures unless it says allow-unsigned
        open_nlut(grade)
    assert open_nlut(grade, from_environment=False).signature.state == "unsigned"


def test_policy_argument_merges_with_the_environment(grade, keys, tmp_path, clean_env):
    signed = tmp_path / "signed.nlut"
    sign_file(grade, keys["mallory"], signed)
    policy = trust.pem_keys([keys["studio.pub"]])
    with pytest.raises(UntrustedKeyError):
        open_nlut(signed, policy)
    tampered = bytearray(signed.read_bytes())
    tampered[40] ^= 1
    bad = tmp_path / "bad.nlut"
    bad.write_bytes(bytes(tampered))
    with pytest.raises(SignatureError):
        open_nlut(bad)


def test_without_cryptography_a_signed_file_is_read_unverified_unless_trust_is_asked(
        grade, keys, tmp_path, clean_env):
    signed = tmp_path / "signed.nlut"
    sign_file(grade, keys["studio"], signed)
    clean_env.setattr(nlut, "has_cryptography", lambda: False)
    opened = open_nlut(signed)
    assert opened.signature.state == "unverified" and "NOT checked" in opened.warnings[0]
    assert any(line.startswith("WARNING:") for line in opened.summary_lines())
    with pytest.raises(LutError, match="cryptography package is not available"):
        open_nlut(signed, trust.pem_keys([keys["studio.pub"]]))
    assert open_nlut(grade).signature.state == "unsigned"  # unsigned files need no cryptography


def test_a_file_named_nlut_is_refused_as_one(tmp_path, clean_env):
    fake = tmp_path / "x.nlut"
    fake.write_text("LUT_3D_SIZE 2\n")
    assert nlut.is_nlut_path(fake)
    with pytest.raises(LutError, match="not a .nlut file"):
        open_nlut(fake)


def test_trust_from_env_reads_every_name(keys, tmp_path):
    assert trust.from_env({}) is None
    store = trust.from_env({trust.ENV_TRUSTED_KEYS: str(keys["studio.pub"])})
    assert store is not None and len(store.keys) == 1 and not store.require_signature
    store = trust.from_env({trust.ENV_REQUIRE_SIGNATURE: "1"})
    assert store is not None and store.require_signature and not store.keys
    text = tmp_path / "t.txt"
    text.write_text(f"studio {keys['studio.pub']}\nallow-unsigned\n")
    both = trust.from_env({trust.ENV_TRUST: str(text), trust.ENV_REQUIRE_SIGNATURE: "1"})
    assert both is not None and both.require_signature and len(both.keys) == 1


def test_save_records_the_content_hash_without_decoding(tmp_path):
    n = random_nlut(3)
    n.save(tmp_path / "a.nlut")
    assert n.content_hash == container.decode((tmp_path / "a.nlut").read_bytes()).content_hash

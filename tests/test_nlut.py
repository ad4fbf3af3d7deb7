import json

import numpy as np
import pytest

from lutplug import LutError, SignatureError, UnsignedError
from lutplug.codec import container, tensorfile
from lutplug.codec.nlut import from_bytes, load_nlut, sign_file
from lutplug.codec.signing import generate_keypair, load_private_key, load_public_key
from tests.nlut_helpers import fit_stored_nlut, random_nlut

st = pytest.importorskip("safetensors.numpy")


def test_tensorfile_interoperates_with_safetensors():
    t = {"w.q": np.arange(-6, 6, dtype=np.int8).reshape(3, 4), "w.s": np.array(0.5, np.float16),
         "b": np.ones((2, 3), np.float32)}
    ours = tensorfile.dumps(t, {"k": "v"})
    theirs = st.save(t, metadata={"k": "v"})
    for blob in (ours, theirs):
        back, meta = tensorfile.loads(blob)
        assert meta == {"k": "v"}
        for k in t:
            np.testing.assert_array_equal(back[k], t[k])
            assert back[k].dtype == t[k].dtype
    ref = st.load(ours)
    np.testing.assert_array_equal(ref["w.q"], t["w.q"])


@pytest.mark.parametrize("shaper", [False, True])
def test_round_trip_preserves_evaluation(tmp_path, shaper):
    n = random_nlut(1, shaper=shaper)
    path = tmp_path / "a.nlut"
    size = n.save(path)
    assert size == path.stat().st_size < 4096
    back = load_nlut(path)
    x = np.random.default_rng(0).uniform(-0.1, 3.0, (5000, 3)).astype(np.float32)
    np.testing.assert_array_equal(back.apply(x), n.apply(x))
    assert back.description["colorspace"] == {"input": "ACEScct"}
    assert back.signature.state == "unsigned" and len(back.content_hash) == 64
    baked = back.bake(9)
    assert baked.size == 9 and (baked.shaper is not None) == shaper
    if not shaper:  # without a shaper the nodes sit at plain lattice inputs
        from lutplug import lattice
        np.testing.assert_allclose(baked.table.reshape(-1, 3), back.apply(lattice(9)), atol=1e-6)


@pytest.mark.parametrize("version", [1, 2])
def test_signing_detects_every_single_flipped_byte(tmp_path, version):
    n = random_nlut(2, hidden=(4,), fourier=0, curves=0, skip="identity") if version == 1 else \
        fit_stored_nlut(hidden=(2,), fixes=0)
    path = tmp_path / "s.nlut"
    n.save(path)
    assert path.read_bytes()[4] == version
    key, pub = tmp_path / "k", tmp_path / "k.pub"
    generate_keypair(key, pub)
    sign_file(path, load_private_key(key))
    data = path.read_bytes()
    trusted = [load_public_key(pub)]
    assert from_bytes(data, "s.nlut", trusted).signature.state == "valid"
    for i in range(len(data)):
        for bit in (0x01, 0x80):
            bad = bytearray(data)
            bad[i] ^= bit
            with pytest.raises(LutError):
                from_bytes(bytes(bad), "s.nlut", trusted)


def test_trust_rules(tmp_path):
    n = random_nlut(3)
    path = tmp_path / "t.nlut"
    n.save(path)
    unsigned = path.read_bytes()
    k1, k2 = tmp_path / "k1", tmp_path / "k2"
    generate_keypair(k1, tmp_path / "k1.pub")
    generate_keypair(k2, tmp_path / "k2.pub")
    pub1, pub2 = load_public_key(tmp_path / "k1.pub"), load_public_key(tmp_path / "k2.pub")
    with pytest.raises(UnsignedError):
        from_bytes(unsigned, "t", [pub1], require_signature=True)
    sign_file(path, load_private_key(k1))
    signed = path.read_bytes()
    assert from_bytes(signed, "t").signature.state == "untrusted"  # intact, no key to trust
    with pytest.raises(SignatureError, match="not trusted"):
        from_bytes(signed, "t", [pub2])
    # content hash is the identity of what was signed (the grade naming its signer): re-signing
    # with the same key keeps it, and it is the hash of the signed bytes with the flag cleared
    sign_file(path, load_private_key(k1))
    assert path.read_bytes()[:-96] == signed[:-96]
    import hashlib
    head = bytearray(signed[:-96])
    head[5] = 0
    assert from_bytes(signed, "t").content_hash == hashlib.sha256(bytes(head)).hexdigest()
    # stripping the signature block without clearing the flag is refused
    with pytest.raises(LutError):
        from_bytes(signed[:-96], "t")


def _tamper_description(data: bytes, change) -> bytes:
    c = container.decode(data)
    d = json.loads(json.dumps(c.description))
    change(d)
    return container.encode(c.tensors, d, version=c.version)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["model"].update(hidden=[13, 12]), "shape"),
    (lambda d: d["model"].update(hidden=[100000]), "hidden"),
    (lambda d: d["model"].update(act="gelu"), "act"),
    (lambda d: d.update(domain=[[0, 0, 0], [0, 1, 1]]), "domain"),
    (lambda d: d.pop("model"), "model"),
    (lambda d: d.update(interpolation="cubic"), "interpolation"),
])
def test_inconsistent_files_are_refused(change, message):
    data = random_nlut(4).to_bytes()
    with pytest.raises(LutError, match=message):
        from_bytes(_tamper_description(data, change), "x.nlut")


def test_structural_garbage_is_refused():
    good = random_nlut(5).to_bytes()
    for bad, msg in [(b"", "magic"), (b"NLUT", "too short"), (b"XLUT" + good[4:], "magic"),
                     (good[:4] + b"\x03" + good[5:], "version"),
                     (good + b"\x00", "header implies"), (good[:-1], "header implies")]:
        with pytest.raises(LutError, match=msg):
            from_bytes(bad, "x.nlut")
    import struct
    import zlib
    # a valid payload followed by 80 MB of zeros: refused once the described bytes are read
    c = container.decode(good)
    raw = tensorfile.dumps(c.tensors, {"nlut": json.dumps(c.description)})
    bomb = zlib.compress(raw + b"\x00" * (80 << 20), 9)
    with pytest.raises(LutError, match="inflates"):
        from_bytes(container.HEADER.pack(b"NLUT", 1, 0, 0, len(bomb)) + bomb, "bomb.nlut")
    nan = random_nlut(6)
    nan.params["b0"] = np.full_like(nan.params["b0"], np.nan).astype(np.float16)
    with pytest.raises(LutError, match="NaN"):
        from_bytes(nan.to_bytes(), "nan.nlut")


def test_version_2_packs_a_fit_stored_network_and_version_1_still_reads():
    # fit's storage (int8 + float16 scales) is written as version 2: two tensors instead of two per
    # parameter; the same network written as version 1 (one q/s pair each) reads back identically
    n = fit_stored_nlut()
    v2 = n.to_bytes()
    v1 = container.encode({"m." + k: v for k, v in n.params.items()},
                          container.decode(v2).description, version=1)
    assert (v2[4], v1[4]) == (2, 1) and len(v2) < len(v1) - 100
    x = np.random.default_rng(0).random((500, 3), dtype=np.float32)
    for data in (v1, v2):
        back = from_bytes(data, "t.nlut")
        assert set(back.params) == set(n.params)
        for k, v in n.params.items():
            np.testing.assert_array_equal(np.asarray(back.params[k]).ravel(), np.asarray(v).ravel())
        np.testing.assert_array_equal(back.apply(x), n.apply(x))
    # a network stored otherwise (float tensors, per-row weight scales) stays version 1
    assert random_nlut(5).to_bytes()[4] == 1


def test_version_2_read_by_the_documented_recipe_alone():
    # docs/nlut-format.md, independently of lutplug's reader: inflate with the preset dictionary,
    # parse with the reference safetensors library, split m.q / m.s in the documented order
    import zlib

    n = fit_stored_nlut(hidden=(5, 4), fixes=3)
    data = n.to_bytes()
    raw = zlib.decompressobj(zdict=container.ZDICT).decompress(data[12:])
    t = st.load(raw)
    assert set(t) == {"m.q", "m.s"}
    h = n.config["hidden"]
    order = [("cin", (3, 8), 3), ("W0", (5, 3), 1), ("b0", (5,), 1), ("W1", (4, 5), 1), ("b1", (4,), 1),
             ("W2", (3, 4), 1), ("b2", (3,), 1), ("A", (3, 3), 1), ("c", (3,), 1), ("cout", (3, 8), 3),
             ("fix", (3, 6), 0)]
    assert h == [5, 4] and n.config["in_curve"] == n.config["out_curve"] == 8
    q, s = t["m.q"], t["m.s"]
    for name, shape, count in order:
        size = int(np.prod(shape))
        block, q = q[:size].reshape(shape), q[size:]
        if not count:
            np.testing.assert_array_equal(block, n.params[name])
            continue
        scale, s = s[:count], s[count:]
        np.testing.assert_array_equal(block, n.params[name + ".q"])
        np.testing.assert_array_equal(scale, np.asarray(n.params[name + ".s"]).ravel())
    assert q.size == 0 and s.size == 0


def test_preset_dictionary_is_frozen_for_versions_1_and_2():
    # The zlib preset dictionary is part of format versions 1 and 2: changing it breaks every file.
    import hashlib
    assert container.VERSION == 2 and container.NLUT.older == (1,)
    assert hashlib.sha256(container.ZDICT).hexdigest() == \
        "19cb470156ca2f11ad525fc23b28073dd996c0976592ead2f66e469d5de2ba27"

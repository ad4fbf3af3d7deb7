"""The .nlutpack container: round trip, extraction into ordinary .nlut files, signing, refusal of
altered or malformed bytes. No training (hand-made adapters)."""
import numpy as np
import pytest

from lutplug import LUT3D
from lutplug.codec import adapters, pack
from lutplug.codec import quantize as Q
from lutplug.codec.nlut import from_bytes
from lutplug.core.lut import LUT1D
from lutplug.errors import LutError, SignatureError


def _pwl(c, x):
    """Per-channel residual curve with knots at k/(K-1), input clamped (docs/nlutpack-format.md)."""
    K = c.shape[1]
    out = np.empty_like(x)
    for ch in range(3):
        out[:, ch] = np.interp(np.clip(x[:, ch], 0, 1), np.linspace(0, 1, K), c[ch])
    return out


def _reference(base, look, x):
    """A cond look evaluated the documented way, written out independently of the codec."""
    b, a = Q.dequantize_params(base), Q.dequantize_params(look)
    x = np.clip(x, 0, 1)
    x = x + _pwl(a["cin"], x)
    h = np.maximum((2 * x - 1) @ b["W0"].T + b["b0"] + b["V0"] @ a["z"], 0)
    h = np.maximum(h @ b["W1"].T + b["b1"] + b["V1"] @ a["z"], 0)
    y = h @ b["W2"].T + b["b2"] + x @ a["A"].T + a["c"]
    return y + _pwl(a["cout"], np.clip(y, 0, 1))


def make_pack(n_looks=3, seed=0, kind="cond", dim=4, shaper_on=None):
    rng = np.random.default_rng(seed)
    spec = adapters.make_spec([8, 6], kind, dim)
    noisy = lambda p, s: {k: (v + rng.normal(0, s, v.shape)).astype(np.float32) for k, v in p.items()}  # noqa: E731
    shared = noisy(adapters.init_shared(spec, seed), 0.1)
    base = Q.quantize_params(shared, adapters.qconf(shared))
    looks = []
    for i in range(n_looks):
        a = noisy(adapters.init_look(spec, seed + i), 0.05)
        lut = LUT3D.identity(5, (0, 0, 0), (1, 1, 2 if i == 1 else 1))
        if shaper_on == i:
            lut = LUT3D(lut.table, lut.domain_min, lut.domain_max,
                        shaper=LUT1D(np.linspace(0, 1, 16) ** 0.5, -0.1, 2.0))
        info = {"title": f"look {i}", "grid": 5, "colorspace": {"output": "sRGB - Display"},
                "source": {"file": f"look{i}.cube", "bytes": 100 + i, "sha256": "ab" * 32},
                "quality": {"de_mean": 0.1, "de_p99": 0.5, "de_max": 1.0, "psnr": 50.0,
                            "meets_target": True}}
        looks.append(pack.new_look(f"look{i}", "adapter", Q.quantize_params(a, adapters.qconf(a)), lut, info))
    return pack.Pack(spec, base, looks, {"seed": seed}, "2026-01-01T00:00:00+00:00")


def test_round_trip_and_extraction_match_the_documented_evaluation():
    p = make_pack(shaper_on=2)
    data = p.to_bytes()
    assert data[:4] == b"NLPK"
    back = pack.read_pack(data)
    assert back.names() == ["look0", "look1", "look2"]
    assert back.signature.state == "unsigned" and len(back.content_hash) == 64
    x = np.random.default_rng(1).random((4000, 3)).astype(np.float32)
    for look in back.looks:
        nlut = from_bytes(back.extract(look.name).to_bytes(), "x.nlut")  # an ordinary .nlut
        assert nlut.description["provenance"]["settings"]["look"] == look.name
        assert nlut.description["provenance"]["source_sha256"] == "ab" * 32
        assert nlut.description["colorspace"] == {"output": "sRGB - Display"}
        u = nlut.lattice_coordinates(x)
        # extraction re-quantises the folded biases as a .nlut: within a few int8 steps
        np.testing.assert_allclose(nlut.apply(x), _reference(back.base, look.params, u), atol=0.02)
    assert back.look("look2").shaper is not None and back.look("look1").domain_max.tolist() == [1, 1, 2]
    assert pack.read_pack(back.to_bytes()).to_bytes() == back.to_bytes()


def test_pack_is_much_smaller_than_its_looks_as_files():
    p = make_pack(n_looks=12)
    alone = sum(len(p.extract(n).to_bytes()) for n in p.names())
    assert len(p.to_bytes()) < 0.6 * alone


@pytest.mark.parametrize("kind,dim", [("lora", 2), ("head", 0)])
def test_other_adapter_kinds_round_trip(kind, dim):
    p = make_pack(kind=kind, dim=dim)
    back = pack.read_pack(p.to_bytes())
    x = np.random.default_rng(2).random((100, 3)).astype(np.float32)
    for n in p.names():
        np.testing.assert_array_equal(back.extract(n).apply(x), p.extract(n).apply(x))


def test_refuses_altered_truncated_and_foreign_bytes():
    data = make_pack().to_bytes()
    for bad in (data[:-1], data + b"\0", b"NLUT" + data[4:], data[:4] + b"\x02" + data[5:]):
        with pytest.raises(LutError):
            pack.read_pack(bad)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    with pytest.raises(LutError):
        pack.read_pack(bytes(flipped))
    with pytest.raises(LutError, match="no look named"):
        pack.read_pack(data).extract("nope")


def test_structure_lies_are_refused():
    import json

    from lutplug.codec import container

    p = make_pack()
    c = container.decode(p.to_bytes(), "x", pack.FRAMING)

    def reencode(desc=None, tensors=None):
        return container.encode(tensors or c.tensors, desc or c.description, pack.FRAMING)

    d = json.loads(json.dumps(c.description))
    d["looks"].append(dict(d["looks"][0], name="extra"))  # more adapter looks than stacked rows
    with pytest.raises(LutError, match="look tensor"):
        pack.read_pack(reencode(d))
    d = json.loads(json.dumps(c.description))
    d["looks"][1]["name"] = d["looks"][0]["name"]
    with pytest.raises(LutError, match="two looks are named"):
        pack.read_pack(reencode(d))
    d = json.loads(json.dumps(c.description))
    d["looks"][0]["name"] = "../../etc/passwd"
    with pytest.raises(LutError, match="look name"):
        pack.read_pack(reencode(d))
    d = json.loads(json.dumps(c.description))
    d["adapter"]["dim"] = 5
    with pytest.raises(LutError):
        pack.read_pack(reencode(d))
    with pytest.raises(LutError, match="unexpected tensors"):
        pack.read_pack(reencode(tensors={**c.tensors, "junk": np.zeros(3, np.float32)}))


def test_signed_pack_verifies_and_tampering_is_detected(tmp_path):
    pytest.importorskip("cryptography")
    from lutplug.codec.signing import generate_keypair, load_private_key, load_public_key

    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    generate_keypair(tmp_path / "other", tmp_path / "other.pub")
    f = tmp_path / "looks.nlutpack"
    make_pack().save(f)
    pack.sign_pack(f, load_private_key(tmp_path / "k"))
    good = pack.load_pack(f, (load_public_key(tmp_path / "k.pub"),))
    assert good.signature.state == "valid"
    with pytest.raises(LutError):
        pack.load_pack(f, (load_public_key(tmp_path / "other.pub"),))
    data = bytearray(f.read_bytes())
    data[40] ^= 0x01
    with pytest.raises(SignatureError):
        pack.read_pack(bytes(data))
    unsigned = tmp_path / "u.nlutpack"
    make_pack().save(unsigned)
    with pytest.raises(LutError, match="not signed"):
        pack.load_pack(unsigned, (load_public_key(tmp_path / "k.pub"),), require_signature=True)


def test_preset_dictionary_is_pinned():
    import hashlib

    # part of format version 1 (docs/nlutpack-format.md): changing it breaks every existing pack
    assert hashlib.sha256(pack.ZDICT).hexdigest() == \
        "6d2ce7d78091f62404674985ed87c5b2cf67b8ae75c58a42e95f98ba44ec40fe"


def test_solo_looks_with_a_lattice_or_corrections_are_checked_like_nlut_files():
    # a look stored as its own network (the pack's fallback) may end in a residual lattice or
    # carry node corrections: same evaluation as the .nlut, same refusals of lying integers
    from tests.nlut_helpers import fit_stored_nlut, lattice_nlut

    grades = {"lat": lattice_nlut(seed=3, grid=5, wide=True), "fix": fit_stored_nlut(seed=4, fixes=5)}
    lut = LUT3D.identity(5)

    def with_solos(grades):
        p = make_pack(n_looks=1)
        solos = [pack.new_look(name, "solo", dict(n.params), lut, {"grid": 5}, dict(n.config))
                 for name, n in grades.items()]
        return p.with_looks(p.looks + solos)

    back = pack.read_pack(with_solos(grades).to_bytes())
    x = np.random.default_rng(2).random((500, 3)).astype(np.float32)
    for name, n in grades.items():
        np.testing.assert_array_equal(back.extract(name).apply(x), n.apply(x))
    bad_lattice = lattice_nlut(seed=3, grid=5, wide=True)
    bad_lattice.config["lattice"]["step"] = 1.0
    with pytest.raises(LutError, match="look 'lat'.*reach"):
        pack.read_pack(with_solos({"lat": bad_lattice}).to_bytes())
    bad_fix = fit_stored_nlut(seed=4, fixes=5)
    bad_fix.params["fix"][0, 0] = 9
    with pytest.raises(LutError, match="outside their grid"):
        pack.read_pack(with_solos({"fix": bad_fix}).to_bytes())


def test_solo_looks_cost_what_their_nlut_files_cost():
    # a solo look is its whole .nlut inside the pack: a pack of solo looks is the sum of their
    # files plus the pack's header and one {name, kind} record per look
    from tests.nlut_helpers import fit_stored_nlut, lattice_nlut

    grades = {f"g{i}": (lattice_nlut(seed=i, grid=9) if i % 2 else fit_stored_nlut(seed=i, fixes=3))
              for i in range(6)}
    for n in grades.values():
        n.description = {"title": "a title", "quality": {"de_mean": 0.2, "meets_target": True}}
    lut = LUT3D.identity(9)
    looks = [pack.new_look(name, "solo", dict(n.params), lut, {"grid": 9, "title": "a title",
                                                              "quality": n.description["quality"]},
                           {k: v for k, v in n.config.items() if k != "quant"}) for name, n in grades.items()]
    p = pack.Pack(None, {}, looks)
    files = sum(len(n.to_bytes()) for n in grades.values())
    data = p.to_bytes()
    assert len(data) <= files + 200 + 40 * len(looks)
    back = pack.read_pack(data)
    assert back.spec is None and back.looks[1].info["title"] == "a title"
    x = np.random.default_rng(0).random((300, 3)).astype(np.float32)
    for name, n in grades.items():
        np.testing.assert_array_equal(back.extract(name).apply(x), n.apply(x))


def test_packs_with_solo_tensors_of_earlier_versions_still_read():
    from lutplug.codec import container
    from tests.nlut_helpers import fit_stored_nlut

    n = fit_stored_nlut(seed=7, fixes=2)
    p = make_pack(n_looks=1)
    data = p.to_bytes()
    c = container.decode(data, "x", pack.FRAMING)
    desc = dict(c.description)
    desc["looks"] = desc["looks"] + [{"name": "old", "kind": "solo", "domain": [[0, 0, 0], [1, 1, 1]], "grid": 5,
                                      "model": {k: v for k, v in n.config.items() if k != "quant"}}]
    tensors = {**c.tensors, **{f"solo.1.{k}": v for k, v in n.params.items()}}
    back = pack.read_pack(container.encode(tensors, desc, pack.FRAMING))
    x = np.random.default_rng(1).random((300, 3)).astype(np.float32)
    np.testing.assert_array_equal(back.extract("old").apply(x), n.apply(x))

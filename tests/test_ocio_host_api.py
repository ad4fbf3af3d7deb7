"""The Python API: ``processor`` (an in-memory OCIO Processor, no files) and ``NlutIOProxy`` (a
config that names .nlut files and nothing else on disk)."""
from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from tests.test_ocio_host_helpers import tagged_nlut
from tests.nlut_helpers import random_nlut

ocio = pytest.importorskip("PyOpenColorIO")

from lutplug.errors import LutError  # noqa: E402
from lutplug.hosts.ocio.edit import apply_cpu  # noqa: E402


def _points(n, count=3000, seed=0):
    dmin, dmax = (np.asarray(d) for d in n.input_domain)
    return (dmin - 0.05 * (dmax - dmin)
            + np.random.default_rng(seed).random((count, 3)) * 1.1 * (dmax - dmin)).astype(np.float32)


def test_package_import_is_light():
    import subprocess
    import sys

    code = ("import sys, lutplug.hosts.ocio, lutplug.hosts.ocio.grades, lutplug.cli.ocio; "
            "print('PyOpenColorIO' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "False"


@pytest.mark.parametrize("kw", [{}, {"shaper": True}, {"act": "tanh", "hidden": (8, 8, 8)}])
def test_processor_equals_the_baked_cube_and_is_close_to_the_network(kw, tmp_path, monkeypatch):
    from lutplug.hosts import ocio as host

    n = random_nlut(21, **kw)
    created = []
    real_open = open

    def watch(path, *a, **k):  # no file is written while building the processor
        if any(m in str(a[:1]) for m in ("w", "a", "x")):
            created.append(path)
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", watch)
    proc = host.processor(n, 33)
    monkeypatch.undo()
    assert created == [] and isinstance(proc, ocio.Processor)
    x = _points(n)
    got = apply_cpu(proc, x)
    assert np.abs(got - n.bake(33).apply(x)).max() < 1e-5      # exactly the cube (tetrahedral)
    assert np.abs(got - n.apply(x)).max() < 0.25                # and near the network itself
    # grades load from a path or bytes too
    n.save(tmp_path / "g.nlut")
    for src in (tmp_path / "g.nlut", (tmp_path / "g.nlut").read_bytes()):
        assert np.array_equal(apply_cpu(host.processor(src, 33), x), got)


def test_processor_in_a_config_is_a_look():
    from lutplug.hosts import ocio as host

    cfg = ocio.Config.CreateFromBuiltinConfig("studio-config-v4.0.0_aces-v2.0_ocio-v2.5")
    n = tagged_nlut(22)
    proc = host.processor(n, 17, config=cfg, process_space="ACEScct", input_space="ACEScg")
    x = np.random.default_rng(1).random((500, 3)).astype(np.float32)
    to_cct = cfg.getProcessor("ACEScg", "ACEScct")
    want = apply_cpu(cfg.getProcessor("ACEScct", "ACEScg"),
                     apply_cpu(host.processor(n, 17), apply_cpu(to_cct, x)))
    assert np.abs(apply_cpu(proc, x) - want).max() < 1e-4
    with pytest.raises(LutError, match="data colour space"):
        host.processor(n, 17, config=cfg, process_space="Raw")
    with pytest.raises(LutError, match="not a colour space"):
        host.processor(n, 17, config=cfg, process_space="ACEScct ")
    with pytest.raises(LutError, match="needs the config"):
        host.processor(n, 17, process_space="ACEScct")


def test_processor_inverse_round_trips():
    from lutplug.hosts import ocio as host

    n = random_nlut(23, hidden=(4,), curves=0, fourier=0)  # gentle, invertible grade
    x = np.random.default_rng(2).random((300, 3)).astype(np.float32) * 0.8 + 0.1
    fwd = apply_cpu(host.processor(n, 17), x)
    back = apply_cpu(host.processor(n, 17, inverse=True), fwd)
    err = np.abs(back - x).max(axis=1)
    # OCIO inverts a 3D LUT numerically; where the random grade folds over itself no exact
    # inverse exists, elsewhere the round trip is tight
    assert np.median(err) < 1e-4 and np.mean(err < 2e-3) > 0.75
    from lutplug.hosts.ocio.processing import grade_transform

    direct = ocio.Config.CreateRaw().getProcessor(grade_transform(n, 17), ocio.TRANSFORM_DIR_INVERSE)
    assert np.array_equal(apply_cpu(direct, fwd), back)


def test_processor_trust(tmp_path):
    from lutplug.codec import signing
    from lutplug.hosts import ocio as host

    signing.generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    pub = signing.load_public_key(tmp_path / "k.pub")
    random_nlut(24).save(tmp_path / "g.nlut")
    with pytest.raises(LutError, match="not signed"):
        host.processor(tmp_path / "g.nlut", 9, trusted_keys=[pub], require_signature=True)


@pytest.fixture
def signed_grades(tmp_path, monkeypatch):
    """(folder, {name: public key path}): g.nlut signed by key a, u.nlut unsigned; no trust policy
    in the environment until a test sets one."""
    pytest.importorskip("cryptography")
    from lutplug.codec import signing
    from lutplug.codec.nlut import sign_file

    for var in ("LUTPLUG_TRUST", "LUTPLUG_TRUSTED_KEYS", "LUTPLUG_REQUIRE_SIGNATURE"):
        monkeypatch.delenv(var, raising=False)
    for name in ("a", "b"):
        signing.generate_keypair(tmp_path / name, tmp_path / f"{name}.pub")
    random_nlut(25).save(tmp_path / "g.nlut")
    random_nlut(26).save(tmp_path / "u.nlut")
    sign_file(tmp_path / "g.nlut", signing.load_private_key(tmp_path / "a"))
    return tmp_path, {"a": tmp_path / "a.pub", "b": tmp_path / "b.pub"}


def test_processor_follows_the_environments_trust_policy(signed_grades, monkeypatch):
    """One policy everywhere: $LUTPLUG_* as every host reads it, plus the caller's keys."""
    from lutplug.codec import signing
    from lutplug.hosts import ocio as host

    folder, pubs = signed_grades
    host.processor(folder / "g.nlut", 9)
    host.processor(folder / "u.nlut", 9)
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", str(pubs["b"]))
    with pytest.raises(LutError, match="not trusted"):
        host.processor(folder / "g.nlut", 9)
    with pytest.raises(LutError, match="not trusted"):              # bytes too
        host.processor((folder / "g.nlut").read_bytes(), 9)
    host.processor(folder / "g.nlut", 9, trusted_keys=[signing.load_public_key(pubs["a"])])
    monkeypatch.setenv("LUTPLUG_REQUIRE_SIGNATURE", "1")
    with pytest.raises(LutError, match="not signed"):
        host.processor(folder / "u.nlut", 9)


def test_without_cryptography_a_signed_grade_loads_with_a_warning(signed_grades, monkeypatch):
    from lutplug.codec import nlut as nlut_module
    from lutplug.hosts import ocio as host
    from lutplug.hosts.ocio import NlutIOProxy

    folder, pubs = signed_grades
    monkeypatch.setattr(nlut_module, "has_cryptography", lambda: False)
    with pytest.warns(RuntimeWarning, match="signature NOT checked"):
        host.processor(folder / "g.nlut", 9)
    config = CONFIG.replace("a.nlut", "g.nlut").replace("search_path: grades", "search_path: .")
    ocio.ClearAllCaches()
    with pytest.warns(RuntimeWarning, match="g.nlut: signature NOT checked"):
        NlutIOProxy(config, root=folder, size=9).config().getProcessor(
            ocio.LookTransform("log", "log", "a"))
    # where a trusted signature is asked for, it cannot be checked: refused, saying why
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", str(pubs["a"]))
    with pytest.raises(LutError, match="cryptography package is not available"):
        host.processor(folder / "g.nlut", 9)
    ocio.ClearAllCaches()
    with pytest.raises(Exception, match="cryptography package is not available"):
        NlutIOProxy(config, root=folder, size=9).config().getProcessor(
            ocio.LookTransform("log", "log", "a"))
    ocio.ClearAllCaches()


# -- NlutIOProxy ------------------------------------------------------------------------------------

CONFIG = """ocio_profile_version: 2.1
search_path: grades
roles: {default: lin, scene_linear: lin, color_timing: log}
displays: {sRGB: [!<View> {name: Raw, colorspace: lin}]}
colorspaces:
  - !<ColorSpace> {name: lin}
  - !<ColorSpace> {name: log, to_scene_reference: !<LogTransform> {base: 2, direction: inverse}}
  - !<ColorSpace> {name: graded, from_scene_reference: !<GroupTransform> {children: [!<ColorSpaceTransform> {src: lin, dst: log}, !<FileTransform> {src: b.nlut, interpolation: tetrahedral}]}}
looks:
  - !<Look> {name: a, process_space: log, transform: !<FileTransform> {src: a.nlut, interpolation: tetrahedral}}
"""


@pytest.fixture
def grade_dir(tmp_path):
    (tmp_path / "grades").mkdir()
    a, b = random_nlut(31, shaper=True), random_nlut(32)
    a.save(tmp_path / "grades" / "a.nlut")
    b.save(tmp_path / "grades" / "b.nlut")
    return tmp_path, a, b


def test_proxy_config_with_only_nlut_files_on_disk(grade_dir):
    from lutplug.hosts.ocio import NlutIOProxy

    root, a, b = grade_dir
    # on disk: two .nlut files and nothing else (the config is text in memory, no cube anywhere)
    assert sorted(p.name for p in root.rglob("*")) == ["a.nlut", "b.nlut", "grades"]
    proxy = NlutIOProxy(CONFIG, root=root, size=33)
    cfg = proxy.config()
    del proxy
    gc.collect()   # the config keeps working after the caller drops the proxy
    x = _points(a, 2000)
    got = apply_cpu(cfg.getProcessor(ocio.LookTransform("log", "log", "a")), x)
    assert np.abs(got - a.bake(33).apply(x)).max() < 1e-5
    y = np.random.default_rng(3).random((500, 3)).astype(np.float32)
    got = apply_cpu(cfg.getProcessor("lin", "graded"), y)
    want = b.bake(33).apply(apply_cpu(cfg.getProcessor("lin", "log"), y))
    assert np.abs(got - want).max() < 1e-5
    cfg.validate()
    assert sorted(p.name for p in root.rglob("*")) == ["a.nlut", "b.nlut", "grades"]


def test_proxy_from_a_config_file_and_setConfigIOProxy(grade_dir):
    from lutplug.hosts.ocio import NlutIOProxy

    root, a, _ = grade_dir
    (root / "config.ocio").write_text(CONFIG)
    cfg = NlutIOProxy(root / "config.ocio", size=17).config()
    assert "a" in cfg.getLookNames()
    cfg.getProcessor(ocio.LookTransform("log", "log", "a"))
    # an existing Config object gets the proxy for its files
    ocio.ClearAllCaches()
    plain = ocio.Config.CreateFromFile(str(root / "config.ocio"))
    with pytest.raises(Exception):
        plain.getProcessor(ocio.LookTransform("log", "log", "a"))   # .nlut is no OCIO format
    ocio.ClearAllCaches()
    proxy = NlutIOProxy(root=root, size=17)
    plain.setConfigIOProxy(proxy)
    x = _points(a, 500)
    got = apply_cpu(plain.getProcessor(ocio.LookTransform("log", "log", "a")), x)
    assert np.abs(got - a.bake(17).apply(x)).max() < 1e-5
    ocio.ClearAllCaches()


def test_proxy_refuses_tampered_and_untrusted_grades_clearly(grade_dir):
    from lutplug.codec import signing
    from lutplug.codec.nlut import sign_file
    from lutplug.hosts.ocio import NlutIOProxy

    root, _, _ = grade_dir
    signing.generate_keypair(root / "k", root / "k.pub")
    pub = signing.load_public_key(root / "k.pub")
    sign_file(root / "grades" / "a.nlut", signing.load_private_key(root / "k"))
    ocio.ClearAllCaches()
    ok = NlutIOProxy(CONFIG, root=root, size=9, trusted_keys=[pub]).config()
    ok.getProcessor(ocio.LookTransform("log", "log", "a"))
    data = bytearray((root / "grades" / "a.nlut").read_bytes())
    data[-5] ^= 0x10
    (root / "grades" / "a.nlut").write_bytes(bytes(data))
    ocio.ClearAllCaches()
    bad = NlutIOProxy(CONFIG, root=root, size=9, trusted_keys=[pub]).config()
    with pytest.raises(Exception, match="altered after signing"):
        bad.getProcessor(ocio.LookTransform("log", "log", "a"))
    ocio.ClearAllCaches()
    unsigned = NlutIOProxy(CONFIG, root=root, size=9, trusted_keys=[pub], require_signature=True).config()
    with pytest.raises(Exception, match="not signed"):
        unsigned.getProcessor("lin", "graded")      # b.nlut was never signed
    ocio.ClearAllCaches()


def test_proxy_adds_its_keys_to_the_environments_policy(grade_dir, monkeypatch):
    from lutplug.codec import signing
    from lutplug.codec.nlut import sign_file
    from lutplug.hosts.ocio import NlutIOProxy

    root, _, _ = grade_dir
    for name in ("k", "other"):
        signing.generate_keypair(root / name, root / f"{name}.pub")
    sign_file(root / "grades" / "a.nlut", signing.load_private_key(root / "k"))
    look = ocio.LookTransform("log", "log", "a")
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", str(root / "other.pub"))
    ocio.ClearAllCaches()
    with pytest.raises(Exception, match="not trusted"):
        NlutIOProxy(CONFIG, root=root, size=9).config().getProcessor(look)
    ocio.ClearAllCaches()
    proxy = NlutIOProxy(CONFIG, root=root, size=9, trusted_keys=[signing.load_public_key(root / "k.pub")])
    proxy.config().getProcessor(look)
    assert [Path(p).name for p, _ in proxy.loaded] == ["a.nlut"]
    monkeypatch.setenv("LUTPLUG_REQUIRE_SIGNATURE", "1")             # b.nlut was never signed
    ocio.ClearAllCaches()
    with pytest.raises(Exception, match="not signed"):
        NlutIOProxy(CONFIG, root=root, size=9).config().getProcessor("lin", "graded")
    ocio.ClearAllCaches()


def test_proxy_notices_a_changed_grade(grade_dir):
    from lutplug.hosts.ocio import NlutIOProxy

    root, a, _ = grade_dir
    proxy = NlutIOProxy(CONFIG, root=root, size=9)
    x = _points(a, 200)
    cfg = proxy.config()
    first = apply_cpu(cfg.getProcessor(ocio.LookTransform("log", "log", "a")), x)
    c = random_nlut(33, shaper=True)
    c.save(root / "grades" / "a.nlut")
    # OCIO caches files by path for the whole process (it does the same for .cube files): an
    # application reloads changed LUTs with ClearAllCaches; the proxy then serves the new grade
    ocio.ClearAllCaches()
    cfg = proxy.config()
    second = apply_cpu(cfg.getProcessor(ocio.LookTransform("log", "log", "a")), x)
    assert np.abs(second - c.bake(9).apply(x)).max() < 1e-5
    assert np.abs(second - first).max() > 1e-3
    ocio.ClearAllCaches()


def test_clf_bytes_read_by_ocio_equal_the_cube(tmp_path):
    from lutplug.hosts.ocio.proxy import clf_bytes

    n = random_nlut(34, shaper=True)
    lut = n.bake(9)
    path = tmp_path / "x.clf"
    path.write_bytes(clf_bytes(lut))
    proc = ocio.Config.CreateRaw().getProcessor(
        ocio.FileTransform(str(path), interpolation=ocio.INTERP_TETRAHEDRAL))
    x = _points(n, 500)
    assert np.abs(apply_cpu(proc, x) - lut.apply(x)).max() < 1e-5

"""Real OCIO clients read what lutplug writes: oiiotool (the OpenImageIO wheel, with its own
bundled OpenColorIO) applies an added look, ocioconvert a colour-space and a named-transform entry,
ocioarchive extracts a pack, ociocheck passes on every config — and the pixels equal
`lutplug apply` within 1e-4."""
from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_ocio_host_helpers import (assert_ociocheck, ociocheck, read_exr, run, tagged_nlut, grade_image,
                                     tool, write_exr)

ocio = pytest.importorskip("PyOpenColorIO")
pytest.importorskip("OpenImageIO")

from lutplug.cli import main  # noqa: E402

SIZE = 65  # what `lutplug apply --engine cube` bakes: configs written at this size match it


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    """A studio config (built-in base) with one grade added as each kind, an input EXR in the
    grade's input space (ACEScct) and `lutplug apply` results for both grades."""
    d = tmp_path_factory.mktemp("show")
    look, other = tagged_nlut(11, shaper=True), tagged_nlut(12)
    look.save(d / "look.nlut")
    other.save(d / "other.nlut")
    cfg = d / "cfg" / "config.ocio"
    r = _cli("ocio", "add", "ocio://studio-config-latest", d / "look.nlut", "--look", "Show Look",
             "-o", cfg, "--size", SIZE)
    assert r.exit_code == 0, r.output
    base = ocio.Config.CreateFromBuiltinConfig(
        re.search(r"ocio://(\S+)", r.output).group(1))
    (d / "base.ocio").write_text(base.serialize())
    for kind, name in (("colorspace", "Show Grade"), ("named-transform", "Show Grade NT")):
        r = _cli("ocio", "add", cfg, d / "other.nlut", "--look", name, "--as", kind, "--size", SIZE)
        assert r.exit_code == 0, r.output
    # a float EXR in ACEScct (the grades' process space)
    write_exr(d / "in.exr", grade_image(look, 64, 48))
    write_exr(d / "in2.exr", grade_image(other, 64, 48, seed=1))
    for grade, src, out in (("look", "in", "ref_look"), ("other", "in2", "ref_other")):
        r = _cli("apply", d / f"{src}.exr", "-o", d / f"{out}.exr", "--lut", d / f"{grade}.nlut",
                 "--engine", "cube")
        assert r.exit_code == 0, r.output
    return d


def test_ociocheck_passes(show):
    assert_ociocheck(show / "cfg" / "config.ocio", ociocheck(show / "base.ocio"))


def test_oiiotool_applies_the_look(show):
    out = show / "oiio_look.exr"
    r = run([tool("oiiotool"), "--colorconfig", show / "cfg" / "config.ocio", show / "in.exr",
             "--ociolook:from=ACEScct:to=ACEScct", "Show Look", "-d", "float", "-o", out])
    assert r.returncode == 0, r.stdout + r.stderr
    got, want = read_exr(out), read_exr(show / "ref_look.exr")
    assert got.shape == want.shape == (48, 64, 4)
    diff = np.abs(got - want).max()
    assert diff <= 1e-4, diff
    assert np.abs(got[..., :3] - read_exr(show / "in.exr")[..., :3]).max() > 0.01  # it did grade


def test_oiiotool_bundled_ocio_reads_the_config(show):
    r = run([tool("oiiotool"), "--colorconfig", show / "cfg" / "config.ocio", "--colorconfiginfo"])
    text = r.stdout + r.stderr
    assert r.returncode == 0 and "Show Look" in text and "Show Grade" in text, text[-2000:]


def test_ocioconvert_applies_the_colour_space(show):
    out = show / "convert_cs.exr"
    r = run([tool("ocioconvert"), "--iconfig", show / "cfg" / "config.ocio", show / "in2.exr",
             "ACEScct", out, "Show Grade"])
    assert r.returncode == 0, r.stdout + r.stderr
    diff = np.abs(read_exr(out) - read_exr(show / "ref_other.exr")).max()
    assert diff <= 1e-4, diff


def test_ocioconvert_applies_the_named_transform(show):
    out = show / "convert_nt.exr"
    r = run([tool("ocioconvert"), "--iconfig", show / "cfg" / "config.ocio", "--namedtransform",
             "Show Grade NT", show / "in2.exr", out])
    assert r.returncode == 0, r.stdout + r.stderr
    diff = np.abs(read_exr(out) - read_exr(show / "ref_other.exr")).max()
    assert diff <= 1e-4, diff


def test_pack_opens_in_ocioarchive_ociocheck_and_oiiotool(show, tmp_path):
    archive = tmp_path / "looks.ocioz"
    r = _cli("ocio", "pack", show / "look.nlut", show / "other.nlut", "--name", "Show Look",
             "--name", "Other", "-o", archive, "--size", 33)
    assert r.exit_code == 0, r.output
    assert "profile 2.1" in r.output      # opens in OCIO 2.2+ (archives need 2.2)
    ex = tmp_path / "extracted"
    r = run([tool("ocioarchive"), "--extract", archive, "--dir", ex])
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(p.relative_to(ex).as_posix() for p in ex.rglob("*") if p.is_file())
    assert (ex / "config.ocio").stat().st_mode & 0o444 == 0o444   # readable by everyone
    assert files[0] == "config.ocio" and len(files) == 3
    assert all(re.fullmatch(r"luts/lutplug-[0-9a-f]{16}-33\.cube", f) for f in files[1:])
    cfg = ocio.Config.CreateFromFile(str(ex / "config.ocio"))
    assert (cfg.getMajorVersion(), cfg.getMinorVersion()) <= (2, 2)
    assert {"Show Look", "Other"} <= set(cfg.getLookNames())
    base = ocio.Config.CreateFromBuiltinConfig("studio-config-v1.0.0_aces-v1.3_ocio-v2.1")
    (tmp_path / "base.ocio").write_text(base.serialize())
    assert_ociocheck(ex / "config.ocio", ociocheck(tmp_path / "base.ocio"))
    # an application opening the archive directly
    out = tmp_path / "from_archive.exr"
    r = run([tool("oiiotool"), "--colorconfig", archive, show / "in.exr",
             "--ociolook:from=ACEScct:to=ACEScct", "Show Look", "-d", "float", "-o", out])
    assert r.returncode == 0, r.stdout + r.stderr
    from lutplug.codec.nlut import load_nlut
    from lutplug.evaluate.ocio_cpu import apply_image

    want = apply_image(load_nlut(show / "look.nlut").bake(33), read_exr(show / "in.exr"))
    assert np.abs(read_exr(out) - want).max() <= 1e-4


def test_pack_refuses_bad_input(show, tmp_path):
    r = _cli("ocio", "pack", show / "look.nlut", "-o", tmp_path / "x.zip")
    assert r.exit_code == 2 and ".ocioz" in r.output
    r = _cli("ocio", "pack", show / "look.nlut", show / "look.nlut", "-o", tmp_path / "x.ocioz")
    assert r.exit_code == 2 and "two grades would be named" in r.output
    r = _cli("ocio", "pack", show / "look.nlut", "-o", tmp_path / "x.ocioz", "--process-space", "Raw")
    assert r.exit_code == 2 and "data colour space" in r.output
    assert not list(tmp_path.iterdir())


def test_pack_from_a_config_file_keeps_its_luts(tmp_path, show):
    d = tmp_path / "base"
    (d / "luts").mkdir(parents=True)
    (d / "luts" / "curve.spi1d").write_text("Version 1\nFrom 0 1\nLength 2\nComponents 1\n{\n0\n1\n}\n")
    (d / "config.ocio").write_text(
        "ocio_profile_version: 2\nsearch_path: luts\nroles: {default: a, color_timing: a}\n"
        "displays: {sRGB: [!<View> {name: Raw, colorspace: a}]}\n"
        "colorspaces:\n  - !<ColorSpace> {name: a}\n  - !<ColorSpace> {name: b, "
        "from_scene_reference: !<FileTransform> {src: curve.spi1d}}\n")
    archive = tmp_path / "pack.ocioz"
    r = _cli("ocio", "pack", show / "look.nlut", "-o", archive, "--base", d / "config.ocio",
             "--process-space", "a", "--size", 9)
    assert r.exit_code == 0, r.output
    cfg = ocio.Config.CreateFromFile(str(archive))
    cfg.getProcessor("a", "b")  # the base's own LUT travelled with it
    assert "look" in cfg.getLookNames()


OLD_OCIO_CHECK = r"""
import sys, numpy as np, PyOpenColorIO as o
c = o.Config.CreateFromFile(sys.argv[1])
c.validate()
x = np.load(sys.argv[2])
y = x.copy().reshape(-1)
c.getProcessor(o.LookTransform(sys.argv[3], sys.argv[3], sys.argv[4])).getDefaultCPUProcessor().applyRGB(y)
np.save(sys.argv[5], y.reshape(x.shape))
print(o.__version__)
"""


def test_pack_opens_in_an_older_ocio(tmp_path, show):
    """Set LUTPLUG_OLD_OCIO_PYTHON to a Python whose PyOpenColorIO is older (e.g. a venv with
    `pip install opencolorio==2.2.1`): the archive must open there and grade identically."""
    import os

    old = os.environ.get("LUTPLUG_OLD_OCIO_PYTHON")
    if not old:
        pytest.skip("LUTPLUG_OLD_OCIO_PYTHON not set (a Python with an older opencolorio, e.g. 2.2.1)")
    archive = tmp_path / "looks.ocioz"
    r = _cli("ocio", "pack", show / "look.nlut", "--name", "L", "-o", archive, "--size", 17)
    assert r.exit_code == 0, r.output
    x = np.random.default_rng(5).random((500, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "check.py").write_text(OLD_OCIO_CHECK)
    r = run([old, tmp_path / "check.py", archive, tmp_path / "x.npy", "ACEScct", "L", tmp_path / "y.npy"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() < ocio.__version__
    from lutplug.hosts.ocio.processing import processor
    from lutplug.hosts.ocio.verification import apply_cpu

    assert np.abs(np.load(tmp_path / "y.npy") - apply_cpu(processor(show / "look.nlut", 17), x)).max() < 1e-5

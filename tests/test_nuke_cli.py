"""``lutplug nuke gizmo`` and ``lutplug nuke script``: standalone nodes plus their baked cube,
parsed back with the .nk reader."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from lutplug.cli import main
from lutplug.codec.nlut import load_nlut
from lutplug.core.formats import read_lut, write_lut
from lutplug.core.lut import LUT3D
from tests.nlut_helpers import random_nlut
from tests.nuke_fake import nkread


@pytest.fixture()
def grade(tmp_path):
    path = tmp_path / "GRADE.nlut"
    random_nlut(seed=2, shaper=True).save(path)
    return path


def _run(*args):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


def test_nuke_group_is_registered():
    r = _run("nuke", "--help")
    assert r.exit_code == 0 and "gizmo" in r.output and "script" in r.output


def test_gizmo_is_standalone_with_its_cube_beside_it(grade, tmp_path):
    out = tmp_path / "gizmos" / "Grade.gizmo"
    out.parent.mkdir()
    r = _run("nuke", "gizmo", grade, "-o", out, "--cube-size", "17")
    assert r.exit_code == 0, r.output
    n = load_nlut(grade)
    cube = out.parent / f"Grade.{n.content_hash[:12]}.cube"
    assert cube.is_file() and read_lut(cube).size == 17
    assert f"wrote {out}" in r.output and str(cube) in r.output
    text = out.read_text()
    g = nkread.parse(text).nodes[0]
    assert g.cls == "Gizmo"
    assert g.child("LutPlugBlink").knobs["kernelSource"].startswith("// lutplug")
    lookup = g.child("LutPlugCube").knobs["file"]
    # found on Nuke's plug-in path (where the gizmo is), by Nuke's own Python at render time
    assert lookup.startswith("[python {") and cube.name in lookup and "nuke.pluginPath()" in lookup
    assert "import lutplug" not in text
    # the lookup expression is plain Python apart from `nuke`: it finds the cube
    expr = lookup[len("[python {"):-len("}]")]
    fake_nuke = type("N", (), {"pluginPath": staticmethod(lambda: [str(tmp_path), str(out.parent)])})
    assert eval(expr, {"nuke": fake_nuke}) == f"{out.parent}/{cube.name}"


def test_script_is_pasteable_and_reads_the_cube_by_path(grade, tmp_path):
    out = tmp_path / "look.nk"
    r = _run("nuke", "script", grade, "-o", out, "--cube-size", "17")
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.startswith("set cut_paste_input [stack 0]")
    g = nkread.parse(text, cut_paste_input=nkread.Node("Read", {"name": "Read1"})).nodes[0]
    assert g.cls == "Group" and g.name == "look"
    cube = g.child("LutPlugCube").knobs["file"]
    assert cube.startswith(str(tmp_path)) and read_lut(cube).size == 17


def test_cube_path_override_and_plain_lut_input(tmp_path):
    lut = tmp_path / "show.cube"
    write_lut(LUT3D(np.random.default_rng(0).random((9, 9, 9, 3)).astype(np.float32)), lut)
    out = tmp_path / "Show.gizmo"
    r = _run("nuke", "gizmo", lut, "-o", out, "--cube-path", "/mnt/show/luts/show.cube")
    assert r.exit_code == 0, r.output
    g = nkread.parse(out.read_text()).nodes[0]
    assert g.child("LutPlugCube").knobs["file"] == "/mnt/show/luts/show.cube"
    assert g.knobs["has_mlp"] == "false"     # a plain LUT: the cube whatever the engine
    assert "no network loaded" in g.child("LutPlugBlink").knobs["kernelSource"]


@pytest.mark.parametrize("problem", ["missing", "tampered", "badname", "notgizmo"])
def test_bad_input_exits_2_and_writes_nothing(grade, tmp_path, problem):
    src, out = grade, tmp_path / "Grade.gizmo"
    if problem == "missing":
        src = tmp_path / "nothere.nlut"
    elif problem == "tampered":
        data = bytearray(grade.read_bytes())
        data[40] ^= 0x10
        grade.write_bytes(bytes(data))
    elif problem == "badname":
        out = tmp_path / "My Grade.gizmo"
    elif problem == "notgizmo":
        out = tmp_path / "Grade.nk"
    r = _run("nuke", "gizmo", src, "-o", out)
    assert r.exit_code == 2, r.output
    assert not out.exists() and not list(tmp_path.glob("*.cube"))
    assert {"missing": "file not found", "tampered": "corrupted", "badname": "node class",
            "notgizmo": ".gizmo"}[problem] in r.output


def test_signature_can_be_required(grade, tmp_path):
    r = _run("nuke", "script", grade, "-o", tmp_path / "x.nk", "--require-signature")
    assert r.exit_code == 2 and "not signed" in r.output


def test_pubkey_and_the_environment_are_one_trust_policy(grade, tmp_path, monkeypatch):
    pytest.importorskip("cryptography")
    from lutplug.codec.nlut import sign_file
    from lutplug.codec.signing import generate_keypair, load_private_key

    for var in ("LUTPLUG_TRUST", "LUTPLUG_TRUSTED_KEYS", "LUTPLUG_REQUIRE_SIGNATURE"):
        monkeypatch.delenv(var, raising=False)
    for name in ("a", "b"):
        generate_keypair(tmp_path / f"{name}.key", tmp_path / f"{name}.pub")
    sign_file(grade, load_private_key(tmp_path / "a.key"))
    ok = _run("nuke", "script", grade, "-o", tmp_path / "ok.nk", "--pubkey", tmp_path / "a.pub")
    assert ok.exit_code == 0, ok.output
    node = nkread.parse((tmp_path / "ok.nk").read_text()).nodes[0]
    assert "signature: valid, trusted key a" in node.user_knob("info").target
    other = _run("nuke", "script", grade, "-o", tmp_path / "other.nk", "--pubkey", tmp_path / "b.pub")
    assert other.exit_code == 2 and "not trusted" in other.output
    # without --pubkey the environment's policy applies (here: only b is trusted)
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", str(tmp_path / "b.pub"))
    env = _run("nuke", "script", grade, "-o", tmp_path / "env.nk")
    assert env.exit_code == 2 and "not trusted" in env.output and not (tmp_path / "env.nk").exists()
    missing = _run("nuke", "script", grade, "-o", tmp_path / "m.nk", "--pubkey", tmp_path / "none.pub")
    assert missing.exit_code == 2 and "none.pub" in missing.output

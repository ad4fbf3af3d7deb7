"""The plug-in inside a fake Nuke (tests/nuke_fake/nuke.py): the node graph it builds, the knobs
and links, loading and reloading, errors the Nuke way, script-load refresh, menu and callbacks."""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from lutplug.codec.blink import kernel_source
from lutplug.codec.nlut import load_nlut
from tests.nlut_helpers import random_nlut

FAKE = Path(__file__).parent / "nuke_fake"
PLUGIN_DIR = Path(__file__).resolve().parents[1] / "nuke"
INNER = {"Input": "Input", "mask": "Input", "LutPlugUnpremult": "Expression",
         "LutPlugBlink": "BlinkScript", "LutPlugCube": "OCIOFileTransform", "LutPlugEngine": "Switch",
         "LutPlugPremult": "Expression", "LutPlugMix": "Merge2", "Output": "Output"}
WIRING = {"LutPlugUnpremult": ["Input"], "LutPlugBlink": ["LutPlugUnpremult"],
          "LutPlugCube": ["LutPlugUnpremult"],
          "LutPlugEngine": ["LutPlugBlink", "LutPlugCube", "LutPlugUnpremult"],
          "LutPlugPremult": ["LutPlugEngine"], "LutPlugMix": ["Input", "LutPlugPremult", "mask"],
          "Output": ["LutPlugMix"]}


@pytest.fixture()
def nuke(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(FAKE))
    import nuke as fake

    assert Path(fake.__file__).parent == FAKE, "another nuke module is importable"
    fake.reset()
    monkeypatch.setenv("LUTPLUG_NUKE_CACHE", str(tmp_path / "cache"))
    for var in ("LUTPLUG_TRUST", "LUTPLUG_TRUSTED_KEYS", "LUTPLUG_REQUIRE_SIGNATURE"):
        monkeypatch.delenv(var, raising=False)
    from lutplug.hosts.nuke import plugin

    plugin.init()
    yield fake
    fake.reset()


@pytest.fixture()
def lp(nuke):
    from lutplug.hosts.nuke import node

    return node


@pytest.fixture()
def nlut_path(tmp_path):
    path = tmp_path / "show.nlut"
    random_nlut(seed=3, shaper=True).save(path)
    return path


def _choose(nuke, group, path):
    """What Nuke does when the artist picks a file: set the knob, run knobChanged callbacks.
    (A 17³ cube unless the test chose a size: baking 65³ is not what these tests are about.)"""
    if group["cube_size"].value() == "auto":
        group["cube_size"].setValue("17")
    group["file"].setValue(str(path))
    nuke.fire("knobChanged", group, group["file"])


def _wiring(group):
    out = {}
    for child in group.nodes():
        n = {"Switch": 3, "Merge2": 3}.get(child.Class(), 1 if child.Class() != "Input" else 0)
        out[child.name()] = [None if child.input(i) is None else child.input(i).name() for i in range(n)]
    return out


def test_create_builds_the_lutplug_group(nuke, lp):
    g = lp.create()
    assert g.Class() == "Group" and g.name() == "LutPlug1" and g.panel_shown == 1
    assert {c.name(): c.Class() for c in g.nodes()} == INNER
    wiring = _wiring(g)
    for name, srcs in WIRING.items():
        assert wiring[name] == srcs, name
    assert g.node("Input")["number"].value() == 0 and g.node("mask")["number"].value() == 1
    mix = g.node("LutPlugMix")
    assert (mix["operation"].value(), mix["Achannels"].value(), mix["output"].value()) \
        == ("copy", "rgb", "rgb")
    assert mix["maskChannelInput"].value() == "none" and mix["mix"].value() == 1.0
    assert g.node("LutPlugEngine")["which"].expression() == "parent.active_engine"
    cube = g.node("LutPlugCube")
    assert (cube["direction"].value(), cube["interpolation"].value()) == ("forward", "tetrahedral")
    # the panel: Nuke knob classes, links resolving to the inner nodes' own knobs
    classes = {k.name(): k.Class() for k in g.allKnobs()}
    assert classes["file"] == "File_Knob" and classes["reload"] == "PyScript_Knob"
    assert classes["engine"] == "Enumeration_Knob"
    assert g["engine"].values() == ["auto", "GPU MLP", "dense cube"]
    assert g["cube_size"].values() == ["auto", "17", "33", "65", "129"]
    assert classes["info"] == "Text_Knob" and classes["unpremult"] == "Boolean_Knob"
    links = {"mix": ("LutPlugMix", "mix"), "maskChannelInput": ("LutPlugMix", "maskChannelInput"),
             "invert_mask": ("LutPlugMix", "invert_mask"), "fringe": ("LutPlugMix", "fringe"),
             "inject": ("LutPlugMix", "inject"), "use_gpu": ("LutPlugBlink", "useGPUIfAvailable")}
    for name, (inner, knob) in links.items():
        assert g[name].Class() == "Link_Knob"
        assert g[name].getLinkedKnob() is g.node(inner)[knob]
    for hidden in ("lutplug_node", "content_hash", "load_ok", "has_mlp", "blink_available", "active_engine"):
        assert g[hidden].getFlag(nuke.INVISIBLE), hidden
    assert g["active_engine"].hasExpression() and g["blink_available"].hasExpression()
    assert g["load_ok"].value() is False and "no file loaded" in g["info"].value()
    assert not nuke.messages and not nuke.errors


def test_choosing_a_file_loads_kernel_and_cube(nuke, lp, nlut_path):
    g = lp.create()
    blink = g.node("LutPlugBlink")
    before = blink["recompile"].executions
    _choose(nuke, g, nlut_path)
    n = load_nlut(nlut_path)
    assert blink["kernelSource"].value() == kernel_source(n)
    assert blink["recompile"].executions == before + 1            # compiled once, in NukeX
    cube = g.node("LutPlugCube")["file"].value()
    assert os.path.isfile(cube) and n.content_hash in cube
    assert g["load_ok"].value() and g["has_mlp"].value() and g["content_hash"].value() == n.content_hash
    assert g["label"].value() == "show.nlut" and g["tile_color"].value() == 0
    n_bytes = nlut_path.stat().st_size
    assert g["info"].value().startswith(f"source:    show.nlut (.nlut v3, {n_bytes:,} bytes; ")
    assert "\nsignature: unsigned\n" in g["info"].value()
    assert not nuke.messages and not nuke.errors
    _choose(nuke, g, nlut_path)                                     # same file: nothing to compile
    assert blink["recompile"].executions == before + 1


def test_the_artists_settings_survive_a_reload(nuke, lp, nlut_path):
    g = lp.create()
    _choose(nuke, g, nlut_path)
    g["engine"].setValue("dense cube")
    g["unpremult"].setValue(True)
    g["mix"].setValue(0.25)
    g["maskChannelInput"].setValue("rgba.alpha")
    g["cube_size"].setValue("33")
    nuke.fire("knobChanged", g, g["cube_size"])
    assert g["engine"].value() == "dense cube" and g["unpremult"].value() is True
    assert g.node("LutPlugMix")["mix"].value() == 0.25
    assert g.node("LutPlugMix")["maskChannelInput"].value() == "rgba.alpha"
    assert g.node("LutPlugCube")["file"].value().endswith("cube33.cube")
    nuke._this["node"] = g                                # the Reload button runs with thisNode()
    exec(g["reload"].command(), {"nuke": nuke, "__name__": "reload_button"})
    assert g["engine"].value() == "dense cube" and g["load_ok"].value()


@pytest.mark.parametrize("gui", [True, False])
def test_a_bad_file_passes_pixels_through_and_says_why(nuke, lp, nlut_path, gui):
    from tests.nuke_fake.nkread import evaluate

    nuke.GUI = gui
    g = lp.create()
    _choose(nuke, g, nlut_path)
    data = bytearray(nlut_path.read_bytes())
    data[30] ^= 0xFF
    nlut_path.write_bytes(bytes(data))
    _choose(nuke, g, nlut_path)                         # no exception reaches Nuke
    assert g["load_ok"].value() is False
    engine = evaluate(g["active_engine"].expression(), {"load_ok": 0, "has_mlp": 0, "engine": 0,
                                                     "blink_available": 1})
    assert engine == 2                                   # the Switch takes the untouched input
    assert g["tile_color"].value() == 0xCC3333FF and g["label"].value().startswith("ERROR: ")
    assert "corrupted" in g["info"].value() and "corrupted" in g["load_error"].value()
    assert "no network loaded" in g.node("LutPlugBlink")["kernelSource"].value()
    assert len(nuke.errors) == 1 and "pixels pass through unchanged" in nuke.errors[0]
    assert nuke.messages == ([nuke.errors[0]] if gui else [])


def test_callbacks_never_raise_into_nuke(nuke, lp, nlut_path, monkeypatch):
    g = lp.create()

    def boom(*a, **k):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(lp, "build_group", boom)
    _choose(nuke, g, nlut_path)
    nuke.fire("onCreate", g)
    assert any("unexpected" in e for e in nuke.errors)


def test_plain_nuke_keeps_the_kernel_but_does_not_compile(nuke, lp, nlut_path):
    nuke.env.update(nukex=False, studio=False)
    g = lp.create()
    _choose(nuke, g, nlut_path)
    blink = g.node("LutPlugBlink")
    assert blink["recompile"].executions == 0 and "lp_W0" in blink["kernelSource"].value()
    assert g["load_ok"].value()


def test_where_blinkscript_cannot_be_created_a_stand_in_and_the_cube_are_used(nuke, lp, nlut_path):
    nuke.env.update(nukex=False, studio=False)
    nuke.blink_creatable = False
    g = lp.create()
    _choose(nuke, g, nlut_path)
    stand_in = g.node("LutPlugBlink")
    assert stand_in.Class() == "NoOp" and g.node("LutPlugEngine").input(0) is stand_in
    assert g["load_ok"].value() and g["has_mlp"].value() is False      # auto and GPU MLP -> cube
    assert "cannot create BlinkScript" in g["info"].value()
    assert os.path.isfile(g.node("LutPlugCube")["file"].value())
    _choose(nuke, g, nlut_path)                                         # stable: no rebuild
    assert g.node("LutPlugBlink") is stand_in
    nuke.env.update(nukex=True)                                         # the script opens in NukeX
    nuke.blink_creatable = True
    nuke.fire("knobChanged", g, g["file"])
    assert g.node("LutPlugBlink").Class() == "BlinkScript" and g["has_mlp"].value() is True
    assert "cannot create BlinkScript" not in g["info"].value()


def test_labels_show_error_text_verbatim(nuke, lp, tmp_path):
    g = lp.create()
    _choose(nuke, g, tmp_path / "shot[1]$x.nlut")
    label = g["label"].value()
    assert label.startswith("ERROR: ") and "shot\\[1]\\$x.nlut" in label   # TCL cannot run it


def test_foreign_groups_are_left_alone(nuke, lp):
    plain = nuke.createNode("Group", inpanel=False)
    plain.addKnob(nuke.File_Knob("file", "file"))
    plain["file"].setValue("/nonexistent.nlut")
    nuke.fire("knobChanged", plain, plain["file"])
    nuke.fire("onCreate", plain)
    assert plain.nodes() == [] and not nuke.errors and not nuke.messages


# ----------------------------------------------------------------------------- script load

def test_script_load_rebuilds_an_older_layout(nuke, lp, nlut_path):
    g = lp.create()
    _choose(nuke, g, nlut_path)
    old_blink = g.node("LutPlugBlink")
    g.node("LutPlugMix")["mix"].setExpression("frame / 100")   # an animated mix survives too
    g["invert_mask"].setValue(True)
    g["lutplug_node"].setValue("0")
    nuke.fire("onCreate", g)
    assert g["lutplug_node"].value() == "1" and g.node("LutPlugBlink") is not old_blink
    assert _wiring(g)["LutPlugMix"] == WIRING["LutPlugMix"] and g["load_ok"].value()
    assert g.node("LutPlugMix")["mix"].expression() == "frame / 100"       # settings kept
    assert g["invert_mask"].value() is True


def test_script_load_rebakes_a_missing_cube(nuke, lp, nlut_path):
    g = lp.create()
    _choose(nuke, g, nlut_path)
    cube = Path(g.node("LutPlugCube")["file"].value())
    cube.unlink()
    assert lp.refresh(g) == "rebaked" and cube.is_file()


def test_script_load_does_not_silently_pick_up_a_changed_file(nuke, lp, nlut_path):
    g = lp.create()
    _choose(nuke, g, nlut_path)
    kernel = g.node("LutPlugBlink")["kernelSource"].value()
    random_nlut(seed=99).save(nlut_path)                  # someone overwrote the file
    nuke.fire("onCreate", g)
    assert g.node("LutPlugBlink")["kernelSource"].value() == kernel
    assert "changed on disk" in g["info"].value() and g["load_ok"].value()
    assert any("changed on disk" in e for e in nuke.errors) and not nuke.messages
    nlut_path.unlink()                                    # ... or removed it: keep rendering the grade
    assert lp.refresh(g) == "changed" and g.node("LutPlugBlink")["kernelSource"].value() == kernel


def test_script_load_reports_a_file_the_trust_policy_now_refuses(nuke, lp, nlut_path, tmp_path,
                                                                 monkeypatch):
    """The identity check at script load opens the file under the same trust policy as loading:
    a grade no longer trusted here is reported (and the node keeps what it rendered)."""
    pytest.importorskip("cryptography")
    from lutplug.codec.nlut import sign_file
    from lutplug.codec.signing import generate_keypair, load_private_key

    for name in ("a", "b"):
        generate_keypair(tmp_path / f"{name}.key", tmp_path / f"{name}.pub")
    sign_file(nlut_path, load_private_key(tmp_path / "a.key"))
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", str(tmp_path / "a.pub"))
    g = lp.create()
    _choose(nuke, g, nlut_path)
    assert g["load_ok"].value() and "signature: valid, trusted key a" in g["info"].value()
    assert lp.refresh(g) == "none"
    monkeypatch.setenv("LUTPLUG_TRUSTED_KEYS", str(tmp_path / "b.pub"))   # another site's policy
    assert lp.refresh(g) == "changed" and g["load_ok"].value()
    assert "not trusted" in g["info"].value() and any("not trusted" in e for e in nuke.errors)


def test_script_load_retries_a_file_that_failed(nuke, lp, tmp_path):
    g = lp.create()
    late = tmp_path / "late.nlut"
    _choose(nuke, g, late)
    assert not g["load_ok"].value()
    random_nlut(seed=1).save(late)
    assert lp.refresh(g) == "retried" and g["load_ok"].value()


def test_reload_all(nuke, lp, nlut_path):
    groups = [lp.create() for _ in range(2)]
    for g in groups:
        g["cube_size"].setValue("17")
        g["file"].setValue(str(nlut_path))
    assert lp.reload_all() == 2 and all(g["load_ok"].value() for g in groups)
    assert [g.name() for g in groups] == ["LutPlug1", "LutPlug2"]


# ----------------------------------------------------------------------------- plug-in folder

def test_plugin_folder_registers_callbacks_and_menus(nuke, monkeypatch):
    nuke.callbacks.clear()
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    runpy.run_path(str(PLUGIN_DIR / "init.py"))
    registered = [cls for kind in ("onCreate", "knobChanged") for _, cls in nuke.callbacks[kind]]
    assert registered == ["Group", "Group"]
    runpy.run_path(str(PLUGIN_DIR / "menu.py"))
    from lutplug.hosts.nuke.plugin import CREATE

    nodes = nuke.menu("Nodes")
    assert nodes.findItem("lutplug/LutPlug") == CREATE
    assert nodes.findItem("Color/LutPlug") == CREATE
    assert "reload_all" in nodes.findItem("lutplug/Reload all LutPlug nodes")
    exec(CREATE, {"nuke": nuke})                          # the menu command makes a node
    assert [n.name() for n in nuke.allNodes("Group")] == ["LutPlug1"]


def test_plugin_menu_is_gui_only(nuke):
    from lutplug.hosts.nuke import plugin

    nuke.GUI = False
    plugin.menu()
    assert nuke.menu("Nodes").items == {}


def test_plugin_start_up_imports_nothing_heavy():
    """init.py and menu.py only register: lutplug's codec, the node runtime (and torch, OCIO,
    click) load on first use. (``import lutplug`` itself needs numpy, ~0.1 s.)"""
    code = ("import sys, runpy\n"
            f"sys.path[:0] = [{str(FAKE)!r}, {str(PLUGIN_DIR)!r}]\n"
            "runpy.run_path(sys.path[1] + '/init.py'); runpy.run_path(sys.path[1] + '/menu.py')\n"
            "heavy = [m for m in ('lutplug.codec.nlut', 'lutplug.codec.blink', 'lutplug.hosts.nuke.node', "
            "'lutplug.hosts.nuke.source', 'torch', 'PyOpenColorIO', 'click') if m in sys.modules]\n"
            "print(heavy)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_gizmo_on_create_compiles_only_where_blink_may(nuke):
    from lutplug.hosts.nuke.graph import GIZMO_ON_CREATE

    g = nuke.createNode("Group", inpanel=False)
    with g:
        blink = nuke.nodes.BlinkScript()
        blink.setName("LutPlugBlink")
    nuke._this["node"] = g
    exec(GIZMO_ON_CREATE, {"nuke": nuke})
    assert blink["recompile"].executions == 1
    blink["KernelDescription"].setValue("3 \"LutPlugKernel\" iterate pixelWise ...")
    exec(GIZMO_ON_CREATE, {"nuke": nuke})
    assert blink["recompile"].executions == 1              # already compiled
    blink["KernelDescription"].setValue("")
    nuke.env.update(nukex=False, studio=False)
    exec(GIZMO_ON_CREATE, {"nuke": nuke})
    assert blink["recompile"].executions == 1              # plain Nuke: leave it to the cube

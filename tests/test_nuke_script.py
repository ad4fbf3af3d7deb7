"""Generated .gizmo / .nk text, parsed back by a small .nk reader (tests/nuke_fake/nkread.py) and
checked for the expected nodes, connections and knob values — and the kernel read back from the
text still compiles and equals the torch evaluator."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from lutplug import __version__
from lutplug.codec.blink import kernel_source
from lutplug.hosts.nuke import graph, nk
from lutplug.hosts.nuke.source import load_source
from tests.nlut_helpers import random_nlut
from tests.nuke_fake import nkread
from tests.nuke_fake.nuke import CLASSES

EXPECTED_INPUTS = {
    "Input": [], "mask": [],
    "LutPlugUnpremult": ["Input"],
    "LutPlugBlink": ["LutPlugUnpremult"],
    "LutPlugCube": ["LutPlugUnpremult"],
    "LutPlugEngine": ["LutPlugBlink", "LutPlugCube", "LutPlugUnpremult"],
    "LutPlugPremult": ["LutPlugEngine"],
    "LutPlugMix": ["Input", "LutPlugPremult", "mask"],   # B, A, mask
    "Output": ["LutPlugMix"],
}
USER_TYPES = {"String": 1, "File": 2, "Int": 3, "Enumeration": 4, "Boolean": 6, "Tab": 20,
              "PyScript": 22, "Text": 26, "Link": 41}


@pytest.fixture(scope="module")
def nlut_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nk")
    n = random_nlut(seed=4, shaper=True)
    path = tmp / "Look.nlut"
    n.save(path)
    return path, tmp


@pytest.fixture(scope="module")
def loaded(nlut_file):
    path, tmp = nlut_file
    out = load_source(str(path), "33", cache_dir=tmp / "cache")
    assert out.ok, out.error
    return out


# ----------------------------------------------------------------------------- quoting

@pytest.mark.parametrize("text", ["", "plain", "two words", 'say "hi"', "back\\slash", "[python {1}]",
                                  "{{not an expr}}", "$HOME/x", "line\nbreak\ttab\r", "]", "}{",
                                  "ΔE00 → 0.2", "-rgba.alpha", "a;b", "#not a comment"])
def test_quote_reads_back_verbatim(text):
    script = nkread.parse(f"NoOp {{\n label {nk.quote(text)}\n name N1\n}}\n")
    assert script.nodes[0].knobs["label"] == text


def test_quote_random_strings_read_back():
    rng = np.random.default_rng(0)
    alphabet = list('ab Z09_"\\[]{}$\n\t;#.-+/:') + ["é", "→"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 30))))
        parsed = nkread.parse(f"NoOp {{\n label {nk.quote(text)}\n}}\n")
        assert parsed.nodes[0].knobs["label"] == text


def test_values_are_formatted_the_nuke_way():
    assert nk.value(True) == "true" and nk.value(False) == "false"
    assert nk.value(0xCC3333FF, "tile_color") == "0xcc3333ff"
    assert nk.value(graph.Expr("parent.x")) == "{{parent.x}}"
    assert nk.value(graph.Expr("a != 0")) == '{{"a != 0"}}'
    assert nk.value(graph.Expr("[python {1}]")) == '{{"\\[python \\{1\\}]"}}'


# ----------------------------------------------------------------------------- structure

def _check_group(g: nkread.Node, loaded, cube_file):
    names = {c.name: c for c in g.children}
    assert set(names) == set(EXPECTED_INPUTS)
    for name, srcs in EXPECTED_INPUTS.items():
        assert names[name].input_names() == srcs, name
    classes = {c.name: c.cls for c in g.children}
    assert classes == {"Input": "Input", "mask": "Input", "LutPlugUnpremult": "Expression",
                       "LutPlugBlink": "BlinkScript", "LutPlugCube": "OCIOFileTransform",
                       "LutPlugEngine": "Switch", "LutPlugPremult": "Expression",
                       "LutPlugMix": "Merge2", "Output": "Output"}
    # every knob written on an inner node exists on that class in Nuke
    known = {cls: {k for k, _ in table} | {"name", "label", "disable", "xpos", "ypos", "tile_color"}
             for cls, table in CLASSES.items()}
    for c in g.children:
        unknown = set(c.knobs) - known[c.cls]
        assert not unknown, (c.cls, unknown)
    assert names["Input"].knobs["number"] == "0" and names["mask"].knobs["number"] == "1"
    mix = names["LutPlugMix"]
    assert mix.mask_inputs == 1
    assert (mix.knobs["operation"], mix.knobs["Achannels"], mix.knobs["Bchannels"], mix.knobs["output"]) \
        == ("copy", "rgb", "rgb", "rgb")
    assert mix.knobs["disable"] == nkread.Expression("parent.active_engine == 2")
    assert mix.knobs["maskChannelInput"] == "none" and mix.knobs["mix"] == "1.0"
    assert names["LutPlugEngine"].knobs["which"] == nkread.Expression("parent.active_engine")
    assert names["LutPlugBlink"].knobs["disable"] == nkread.Expression("parent.active_engine != 0")
    assert names["LutPlugCube"].knobs["disable"] == nkread.Expression("parent.active_engine != 1")
    blink = names["LutPlugBlink"]
    assert blink.knobs["kernelSource"] == loaded.kernel
    assert blink.knobs["useGPUIfAvailable"] == "true"
    assert list(blink.knobs).index("kernelSource") < list(blink.knobs).index("rebuild") \
        < list(blink.knobs).index("rebuild_finalise")
    cube = names["LutPlugCube"]
    assert (cube.knobs["file"], cube.knobs["direction"], cube.knobs["interpolation"]) \
        == (cube_file, "forward", "tetrahedral")
    for node in ("LutPlugUnpremult", "LutPlugPremult"):
        knobs = names[node].knobs
        op = "/" if node == "LutPlugUnpremult" else "*"
        assert [knobs[f"expr{i}"] for i in range(4)] == [f"a != 0 ? {c} {op} a : {c}" for c in "rgb"] + ["a"]
        assert knobs["disable"] == nkread.Expression("!parent.unpremult")
    # user knobs: types, links to existing inner knobs, hidden state
    uk = {k.name: k for k in g.user_knobs}
    for k in uk.values():
        if k.type == USER_TYPES["Link"]:
            node, knob = k.target.split(".")
            assert node in names and knob in known[names[node].cls], k.target
    assert uk["engine"].type == 4 and uk["engine"].items == ["auto", "GPU MLP", "dense cube"]
    for hidden in ("lutplug_node", "content_hash", "load_ok", "has_mlp", "blink_available", "active_engine"):
        assert "+INVISIBLE" in uk[hidden].flags
    assert {"mix", "maskChannelInput", "invert_mask", "use_gpu", "unpremult", "info"} <= set(uk)
    assert g.knobs["lutplug_node"] == graph.NODE_VERSION
    assert g.knobs["load_ok"] == "true" and g.knobs["has_mlp"] == "true"
    assert g.knobs["content_hash"] == loaded.content_hash
    assert g.knobs["active_engine"] == nkread.Expression(graph.ACTIVE_ENGINE_EXPR)
    assert g.knobs["blink_available"] == nkread.Expression(graph.BLINK_AVAILABLE_EXPR)
    info = uk["info"].target
    assert info.startswith("source:    Look.nlut (.nlut v3, ") and "\nsignature: unsigned\n" in info
    assert "\nquality:   not measured\n" in info and "\nnetwork:   " in info
    # the info text, UTF-8 included (the lineage line's "…"), reads back verbatim from the script
    assert "…" in info
    assert info == graph.build_group(loaded, "standalone", cube_file=cube_file).user_knob("info").value
    return names


def test_gizmo_text_parses_to_the_lutplug_graph(loaded):
    lookup = "[python {nuke.pluginPath()}]"
    text = nk.gizmo_text(graph.build_group(loaded, "standalone", cube_file=lookup, name="Look"))
    script = nkread.parse(text)
    assert script.version == "14.0 v1"
    assert [n.cls for n in script.nodes] == ["Gizmo"]
    g = script.nodes[0]
    _check_group(g, loaded, lookup)
    uk = {k.name for k in g.user_knobs}
    assert "file" not in uk and "reload" not in uk and "cube_file" in uk  # standalone: no lutplug needed
    assert "_b['recompile'].execute()" in g.knobs["onCreate"]
    info = g.user_knob("info").target
    assert "(see cube file)" in info and loaded.cube_path not in info
    assert info.endswith(f"\nbaked:     standalone node written by lutplug {__version__}")
    assert "import lutplug" not in text  # renders on a farm without lutplug


def test_script_text_is_a_pasteable_group(loaded):
    text = nk.script_text(graph.build_group(loaded, "standalone", name="Look_v2"))
    assert text.startswith("set cut_paste_input [stack 0]\nversion 14.0 v1\npush $cut_paste_input\nGroup {")
    selected = nkread.Node("Read", {"name": "Read1"})
    script = nkread.parse(text, cut_paste_input=selected)
    assert [n.cls for n in script.nodes] == ["Group"]
    g = script.nodes[0]
    assert g.name == "Look_v2" and g.inputs == [selected]
    _check_group(g, loaded, loaded.cube_path)
    assert "import lutplug" not in text


def test_live_node_has_the_same_interior(loaded):
    live = graph.build_group(loaded, "live")
    alone = graph.build_group(loaded, "standalone")
    assert [(n.cls, n.name, n.inputs, n.mask) for n in live.nodes] == \
        [(n.cls, n.name, n.inputs, n.mask) for n in alone.nodes]
    names = {k.name for k in live.user_knobs}
    assert {"file", "reload", "cube_size", "engine", "info"} <= names
    assert "import lutplug.hosts.nuke.node" in live.user_knob("reload").target


def test_nothing_loaded_or_error_builds_a_pass_through_node(tmp_path):
    missing = load_source(str(tmp_path / "gone.nlut"), cache_dir=tmp_path)
    spec = graph.build_group(missing, "live")
    assert spec.user_knob("load_ok").value is False
    assert spec.knobs["tile_color"] == graph.ERROR_TILE and spec.knobs["label"].startswith("ERROR: ")
    assert "file not found" in spec.user_knob("info").value
    assert "no network loaded" in spec.node("LutPlugBlink").knobs["kernelSource"]
    with pytest.raises(ValueError, match="file not found"):
        graph.build_group(missing, "standalone")
    text = nk.script_text(spec)  # a broken live node still writes valid text
    assert nkread.parse(text).nodes[0].knobs["load_ok"] == "false"


# ----------------------------------------------------------------------------- engine choice

@pytest.mark.parametrize("load_ok,has_mlp,engine,blink",
                         list(itertools.product((0, 1), (0, 1), (0, 1, 2), (0, 1))))
def test_engine_selection(load_ok, has_mlp, engine, blink):
    got = nkread.evaluate(graph.ACTIVE_ENGINE_EXPR,
                          dict(load_ok=load_ok, has_mlp=has_mlp, engine=engine, blink_available=blink))
    if not load_ok:
        want = 2                       # pass-through
    elif not has_mlp:
        want = 1                       # a plain LUT: the cube whatever the choice
    else:
        want = {0: 0 if blink else 1, 1: 0, 2: 1}[engine]
    assert got == want


# ----------------------------------------------------------------------------- end to end

def test_kernel_read_back_from_the_gizmo_runs_like_torch(nlut_file, loaded, tmp_path):
    torch = pytest.importorskip("torch")
    from lutplug.codec.nlut import load_nlut
    from lutplug.codec.torch_eval import TorchEvaluator
    from tests.blink_shim.harness import GXX, build, run

    if GXX is None:
        pytest.skip("g++ is needed to compile the kernel")
    text = nk.gizmo_text(graph.build_group(loaded, "standalone"))
    source = nkread.parse(text).nodes[0].child("LutPlugBlink").knobs["kernelSource"]
    assert source == kernel_source(load_nlut(nlut_file[0]))
    exe = build(tmp_path, [source.replace("kernel LutPlugKernel ", "kernel K0 ")])
    n = load_nlut(nlut_file[0])
    rng = np.random.default_rng(5)
    px = np.concatenate([rng.random((3000, 3), dtype=np.float32) * 3.2 - 0.1,
                         np.ones((3000, 1), np.float32)], 1)
    ref = TorchEvaluator(n)(torch.from_numpy(px[:, :3].copy())).numpy()
    np.testing.assert_allclose(run(exe, 0, px)[:, :3], ref, rtol=0, atol=1e-5)

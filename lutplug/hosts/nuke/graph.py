"""The LutPlug node as data (host-free): the Group's knobs and the node graph inside it.

One description serves every output: :mod:`lutplug.hosts.nuke.node` builds it with the Nuke Python
API inside Nuke, :mod:`lutplug.hosts.nuke.nk` writes it as a pasteable ``.nk`` node or a ``.gizmo``.

Inside the group (all names fixed, so knob links and a rebuild find them again)::

    Input (0) -> LutPlugUnpremult (Expression; off unless "unpremult")
                   |-> LutPlugBlink (BlinkScript: the network) ---> LutPlugEngine input 0
                   |-> LutPlugCube  (OCIOFileTransform: cube)  ---> LutPlugEngine input 1
                   '----------------- pass-through -----------> LutPlugEngine input 2 (Switch)
    LutPlugEngine -> LutPlugPremult (Expression) -> LutPlugMix A
    Input (0) -> LutPlugMix B;  mask (1) -> LutPlugMix mask   (Merge2, copy rgb)
    LutPlugMix -> Output

``active_engine`` (a hidden knob of the group) picks the Switch input: 0 BlinkScript, 1 cube,
2 pass-through (nothing loaded, or the file is unusable). In ``auto`` it is an expression that asks
Nuke at render time whether BlinkScript is available (NukeX / Nuke Studio), so a script saved in
NukeX and rendered with a plain Nuke licence falls back to the cube by itself. The branch not
selected is disabled (never evaluated, never compiled). Mix and mask are the Merge's own knobs,
linked onto the group as Nuke's colour nodes show them; (un)premultiplication follows Nuke's
colour nodes: divide by alpha where alpha is not 0, multiply back there.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Tuple

from lutplug import __version__
from lutplug.codec.blink import KERNEL_NAME
from lutplug.hosts.nuke import MARKER
from lutplug.hosts.nuke.source import CUBE_SIZES, LoadedSource, info_line

#: Version of the node's layout; a node saved by an older layout is rebuilt on load.
NODE_VERSION = "1"

IN, MASK, UNPREMULT, BLINK, CUBE = "Input", "mask", "LutPlugUnpremult", "LutPlugBlink", "LutPlugCube"
SWITCH, PREMULT, MIX, OUT = "LutPlugEngine", "LutPlugPremult", "LutPlugMix", "Output"
ENGINES = ("auto", "GPU MLP", "dense cube")
ERROR_TILE = 0xCC3333FF

#: Nuke's user-knob type numbers (``addUserKnob {N ...}`` in .nk) and Python classes per kind.
KNOB_KINDS: Dict[str, Tuple[int, str]] = {
    "Tab": (20, "Tab_Knob"), "String": (1, "String_Knob"), "File": (2, "File_Knob"),
    "Int": (3, "Int_Knob"), "Enumeration": (4, "Enumeration_Knob"), "Boolean": (6, "Boolean_Knob"),
    "Double": (7, "Double_Knob"), "PyScript": (22, "PyScript_Knob"), "Text": (26, "Text_Knob"),
    "Link": (41, "Link_Knob"),
}

#: BlinkScript is usable where Nuke runs as NukeX or Nuke Studio (asked at render time).
BLINK_AVAILABLE_EXPR = "[python {int(bool(nuke.env.get('nukex') or nuke.env.get('studio')))}]"
ACTIVE_ENGINE_EXPR = ("load_ok ? (has_mlp ? (engine == 1 ? 0 : (engine == 2 ? 1 : "
                      "(blink_available ? 0 : 1))) : 1) : 2")

#: Script run by the Reload button (and shown as such in a saved script).
RELOAD_SCRIPT = ("try:\n"
                 "    import lutplug.hosts.nuke.node as _lutplug_node\n"
                 "except ImportError:\n"
                 "    nuke.message('LutPlug: the lutplug Python package is not available in this "
                 "Nuke (see the plug-in README).')\n"
                 "else:\n"
                 "    _lutplug_node.reload(nuke.thisNode())\n")

#: onCreate of generated gizmos/scripts (plain Nuke Python, no lutplug): compile the kernel once
#: where BlinkScript is available and the script carries no compiled description yet.
GIZMO_ON_CREATE = ("try:\n"
                   "    _b = nuke.thisNode().node('" + BLINK + "')\n"
                   "    if _b is not None and _b.knob('recompile') is not None and "
                   "(nuke.env.get('nukex') or nuke.env.get('studio')):\n"
                   "        _d = _b.knob('KernelDescription')\n"
                   "        if _d is None or not _d.value():\n"
                   "            _b['recompile'].execute()\n"
                   "except Exception:\n"
                   "    pass\n")


@dataclasses.dataclass(frozen=True)
class Expr:
    """A knob expression (Nuke's expression language; TCL ``[...]`` allowed)."""

    text: str


@dataclasses.dataclass
class KnobSpec:
    """A user knob of the group.

    ``state`` knobs are outputs of loading (info, hidden flags): every reload rewrites them.
    The others are the artist's choices: their value is set once, when the knob is created.
    """

    kind: str
    name: str
    label: Optional[str] = None
    value: Any = None
    tooltip: str = ""
    values: Tuple[str, ...] = ()      # Enumeration items
    target: str = ""                  # Link: "Node.knob"; PyScript: the script
    flags: Tuple[str, ...] = ()       # "+INVISIBLE", "-STARTLINE", "+STARTLINE"
    state: bool = False
    expression: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in KNOB_KINDS:
            raise ValueError(f"unknown knob kind {self.kind!r}")


@dataclasses.dataclass
class NodeSpec:
    """A node inside the group. ``inputs[i]`` names the node feeding input ``i`` (None: nothing);
    ``mask`` the node feeding the mask input (written ``inputs N+1``). ``script_only`` knobs are
    written to .nk text but not set through Python (BlinkScript's load-time ``rebuild`` markers).
    ``initial`` knobs are set when the node is made and then belong to the artist (through the
    group's link knobs), so a reload does not reset them."""

    cls: str
    name: str
    knobs: Dict[str, Any] = dataclasses.field(default_factory=dict)
    inputs: List[Optional[str]] = dataclasses.field(default_factory=list)
    mask: Optional[str] = None
    xpos: int = 0
    ypos: int = 0
    script_only: Tuple[str, ...] = ()
    initial: Dict[str, Any] = dataclasses.field(default_factory=dict)  # set at creation only


@dataclasses.dataclass
class GroupSpec:
    name: str
    knobs: Dict[str, Any]             # the group's own knobs (label, tile_color, onCreate, ...)
    user_knobs: List[KnobSpec]
    nodes: List[NodeSpec]

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def user_knob(self, name: str) -> KnobSpec:
        for k in self.user_knobs:
            if k.name == name:
                return k
        raise KeyError(name)


def tcl_literal(text: str) -> str:
    """``text`` for a knob Nuke evaluates as TCL (a node's label): shown verbatim."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("$", "\\$")


_UNPREMULT = "a != 0 ? {c} / a : {c}"
_PREMULT = "a != 0 ? {c} * a : {c}"


def _expression_node(name: str, template: str, ypos: int, src: str) -> NodeSpec:
    knobs: Dict[str, Any] = {f"expr{i}": template.format(c=c) for i, c in enumerate("rgb")}
    knobs["expr3"] = "a"
    knobs["disable"] = Expr("!parent.unpremult")
    return NodeSpec("Expression", name, knobs, [src], xpos=0, ypos=ypos)


def interior(loaded: LoadedSource, cube_file: Any, passthrough_kernel: str) -> List[NodeSpec]:
    """The nodes inside the group for ``loaded`` (``cube_file``: the OCIOFileTransform's file
    value, a path or a TCL expression)."""
    kernel = loaded.kernel or passthrough_kernel
    return [
        NodeSpec("Input", IN, {"number": 0}, [], xpos=0, ypos=-300),
        NodeSpec("Input", MASK, {"number": 1}, [], xpos=300, ypos=100),
        _expression_node(UNPREMULT, _UNPREMULT, -220, IN),
        NodeSpec("BlinkScript", BLINK,
                 {"kernelSource": kernel, "useGPUIfAvailable": True, "rebuild": "",
                  "rebuild_finalise": "", "disable": Expr("parent.active_engine != 0")},
                 [UNPREMULT], xpos=-180, ypos=-140, script_only=("rebuild", "rebuild_finalise")),
        NodeSpec("OCIOFileTransform", CUBE,
                 {"file": cube_file, "direction": "forward", "interpolation": "tetrahedral",
                  "disable": Expr("parent.active_engine != 1")},
                 [UNPREMULT], xpos=0, ypos=-140),
        NodeSpec("Switch", SWITCH, {"which": Expr("parent.active_engine")}, [BLINK, CUBE, UNPREMULT],
                 xpos=0, ypos=-60),
        _expression_node(PREMULT, _PREMULT, 20, SWITCH),
        NodeSpec("Merge2", MIX,
                 {"operation": "copy", "Achannels": "rgb", "Bchannels": "rgb", "output": "rgb",
                  "disable": Expr("parent.active_engine == 2")},
                 [IN, PREMULT], mask=MASK, xpos=0, ypos=100,
                 initial={"maskChannelInput": "none", "mix": 1.0}),
        NodeSpec("Output", OUT, {}, [MIX], xpos=0, ypos=200),
    ]


def _mask_and_mix_knobs() -> List[KnobSpec]:
    return [
        KnobSpec("Link", "maskChannelInput", "mask", target=f"{MIX}.maskChannelInput",
                 tooltip="Limit the effect to this channel of the mask input."),
        KnobSpec("Link", "inject", "inject", target=f"{MIX}.inject", flags=("-STARTLINE",)),
        KnobSpec("Link", "invert_mask", "invert", target=f"{MIX}.invert_mask", flags=("-STARTLINE",)),
        KnobSpec("Link", "fringe", "fringe", target=f"{MIX}.fringe", flags=("-STARTLINE",)),
        KnobSpec("Link", "mix", "mix", target=f"{MIX}.mix",
                 tooltip="Dissolve between the original (0) and the graded image (1)."),
    ]


def _state_knobs(loaded: LoadedSource) -> List[KnobSpec]:
    hide = ("+INVISIBLE",)
    return [
        KnobSpec("String", MARKER, value=NODE_VERSION, flags=hide, state=True),
        KnobSpec("String", "content_hash", value=loaded.content_hash, flags=hide, state=True),
        KnobSpec("String", "loaded_path", value=loaded.path, flags=hide, state=True),
        KnobSpec("String", "load_error", value=loaded.error, flags=hide, state=True),
        KnobSpec("Boolean", "load_ok", value=bool(loaded.ok), flags=hide, state=True),
        KnobSpec("Boolean", "has_mlp", value=bool(loaded.ok and loaded.has_mlp), flags=hide, state=True),
        KnobSpec("Int", "blink_available", expression=BLINK_AVAILABLE_EXPR, flags=hide, state=True),
        KnobSpec("Int", "active_engine", expression=ACTIVE_ENGINE_EXPR, flags=hide, state=True),
    ]


def build_group(loaded: LoadedSource, mode: str = "live", cube_file: Optional[Any] = None,
                name: str = "LutPlug1") -> GroupSpec:
    """The LutPlug group for ``loaded``.

    ``mode`` "live": the node built by the plug-in (file picker, Reload, cube size);
    "standalone": a gizmo or pasteable script baked from one file, needing no lutplug at render
    time (the file is shown as information and the cube file is a knob the farm can repoint).
    """
    from lutplug.codec.blink import passthrough_source

    if mode not in ("live", "standalone"):
        raise ValueError(f"mode must be 'live' or 'standalone', got {mode!r}")
    if mode == "standalone" and not loaded.ok:
        raise ValueError(f"cannot bake a standalone node: {loaded.error or 'nothing loaded'}")
    cube_value = loaded.cube_path if cube_file is None else cube_file
    nodes = interior(loaded, cube_value, passthrough_source(KERNEL_NAME))
    k: List[KnobSpec] = [KnobSpec("Tab", "lutplug_tab", "LutPlug")]
    if mode == "live":
        k += [KnobSpec("File", "file", "file", value="",
                       tooltip="A .nlut, or any LUT lutplug reads (.cube .3dl .spi3d .csp .clf Hald "
                               "PNG...)."),
              KnobSpec("PyScript", "reload", "reload", target=RELOAD_SCRIPT, flags=("-STARTLINE",),
                       tooltip="Read the file again (and re-bake the cube).")]
    else:
        name_only = loaded.path.replace("\\", "/").rsplit("/", 1)[-1]
        k += [KnobSpec("Text", "source", "file", value=f"{name_only} ({loaded.kind} "
                       f"{loaded.content_hash[:12]})", state=True)]
    k += [KnobSpec("Enumeration", "engine", "engine", value="auto", values=ENGINES,
                   tooltip="auto: the network on the GPU through BlinkScript where Nuke offers it "
                           "(NukeX, Nuke Studio), the dense cube otherwise. GPU MLP: always the "
                           "network (CPU when there is no GPU). dense cube: OCIOFileTransform on the "
                           "baked cube.")]
    if mode == "live":
        k.append(KnobSpec("Enumeration", "cube_size", "cube size", value="auto", values=CUBE_SIZES,
                          flags=("-STARTLINE",),
                          tooltip="Size of the baked cube for the dense-cube engine (auto: 65 for a "
                                  ".nlut, the LUT's own grid for a LUT file)."))
    else:
        k.append(KnobSpec("Link", "cube_file", "cube file", target=f"{CUBE}.file",
                          tooltip="The baked cube used by the dense-cube engine; repoint it where "
                                  "the farm can read it."))
    k += [KnobSpec("Link", "use_gpu", "use GPU if available", target=f"{BLINK}.useGPUIfAvailable"),
          KnobSpec("Boolean", "unpremult", "(un)premult by alpha", value=False, flags=("-STARTLINE",),
                   tooltip="Divide RGB by alpha before the LUT and multiply back after (where alpha "
                           "is not 0), like Nuke's colour nodes.")]
    k += _mask_and_mix_knobs()
    k += [KnobSpec("Text", "info_divider", "", value=""),
          KnobSpec("Text", "info", "info", value=loaded.info if loaded.ok or not loaded.error
                   else f"ERROR: {loaded.error}", state=True)]
    k += _state_knobs(loaded)
    knobs: Dict[str, Any] = {}
    if mode == "live":
        if loaded.error:
            knobs["label"] = tcl_literal("ERROR: " + loaded.error)
            knobs["tile_color"] = ERROR_TILE
        else:
            knobs["label"] = tcl_literal(loaded.path.replace("\\", "/").rsplit("/", 1)[-1]
                                         if loaded.path else "")
            knobs["tile_color"] = 0
    else:
        knobs["label"] = tcl_literal(loaded.title or loaded.path.replace("\\", "/").rsplit("/", 1)[-1])
        knobs["onCreate"] = GIZMO_ON_CREATE
        for spec in k:
            if spec.name == "info":  # the cube's path is the "cube file" knob's business here
                spec.value = spec.value.replace(f" ({loaded.cube_path})", " (see cube file)") \
                    + "\n" + info_line("baked", f"standalone node written by lutplug {__version__}")
    return GroupSpec(name, knobs, k, nodes)

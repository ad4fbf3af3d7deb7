"""The LutPlug node inside Nuke: create it, load its file, keep it in step (a thin shim).

Everything it builds is described by :func:`lutplug.hosts.nuke.graph.build_group`; this module
only turns that description into nodes and knobs through the ``nuke`` API, and reports problems
the Nuke way (the node turns red with ``ERROR: reason`` as its label and in its info panel, the
error console gets the reason, and an interactive load shows ``nuke.message``). Pixels pass
through unchanged while the file is unusable. No exception escapes into Nuke.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import nuke

from lutplug.hosts.nuke import MARKER
from lutplug.hosts.nuke.graph import BLINK, CUBE, NODE_VERSION, Expr, GroupSpec, KnobSpec, build_group
from lutplug.hosts.nuke.source import LoadedSource, file_identity, info_line, load_source


def is_lutplug(node: Optional[nuke.Node]) -> bool:
    return node is not None and node.knob(MARKER) is not None


def create() -> nuke.Node:
    """Make a LutPlug node (Nodes toolbar > lutplug > LutPlug) and open its panel."""
    group = nuke.createNode("Group", inpanel=False)
    try:
        group.setName("LutPlug1", uncollide=True)
    except (TypeError, ValueError, RuntimeError):
        pass
    sync(group, build_group(LoadedSource(), "live"))
    if nuke.GUI:
        group.showControlPanel()
    return group


def _file_path(node: nuke.Node) -> str:
    knob = node.knob("file")
    if knob is None:
        return ""
    path = None
    if isinstance(knob, nuke.File_Knob):  # TCL-evaluated ([getenv ...], [value root.name], ...)
        try:
            path = knob.evaluate()
        except Exception:  # noqa: BLE001 - an expression error reads as the raw value
            path = None
    return str(path if path is not None else knob.value() or "")


def reload(node: Optional[nuke.Node] = None, interactive: bool = True) -> LoadedSource:
    """Read the node's file again (its .nlut/LUT, kernel and cube) and update the node."""
    node = node if node is not None else nuke.thisNode()
    size_knob = node.knob("cube_size")
    size = str(size_knob.value()) if size_knob is not None else "auto"
    loaded = load_source(_file_path(node), size)
    sync(node, build_group(loaded, "live", name=node.name()))
    if loaded.error:
        report(node, loaded.error, interactive)
    return loaded


def report(node: nuke.Node, message: str, interactive: bool) -> None:
    """Tell the artist: error console always, a message box when they just asked for it."""
    text = f"LutPlug {node.name()}: {message} (pixels pass through unchanged)"
    try:
        nuke.error(text)
    except Exception:  # noqa: BLE001
        pass
    if interactive and nuke.GUI:
        nuke.message(text)


def reload_all() -> int:
    """Reload every LutPlug node of the script (menu lutplug > Reload all)."""
    count = 0
    for n in nuke.allNodes("Group", recurseGroups=True):
        if is_lutplug(n):
            reload(n, interactive=False)
            count += 1
    return count


# ----------------------------------------------------------------------------- callbacks

def knob_changed() -> None:
    """Registered for Groups by the plug-in: a new file or cube size reloads the node."""
    try:
        node, knob = nuke.thisNode(), nuke.thisKnob()
        if is_lutplug(node) and knob is not None and knob.name() in ("file", "cube_size"):
            reload(node, interactive=True)
    except Exception as exc:  # noqa: BLE001 - a callback must never raise into Nuke
        _log(exc)


def on_create() -> None:
    """Registered for Groups by the plug-in: when a script is loaded, bring each LutPlug up to
    date (see :func:`refresh`)."""
    try:
        node = nuke.thisNode()
        if is_lutplug(node):
            refresh(node)
    except Exception as exc:  # noqa: BLE001
        _log(exc)


def _log(exc: BaseException) -> None:
    try:
        nuke.error(f"LutPlug: {type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001
        pass


def refresh(node: nuke.Node) -> str:
    """At script load: a node saved by an older layout is rebuilt; a node whose cube is missing
    here (another machine, a cleared cache) re-bakes it from the same file; a file that changed
    since it was loaded is *not* picked up silently — the node keeps what it had and says so.
    Returns what was done ("none", "rebuilt", "rebaked", "retried", "changed")."""
    path = _file_path(node)
    if not path:
        return "none"
    if str(node[MARKER].value()) != NODE_VERSION:
        reload(node, interactive=False)
        return "rebuilt"
    if not node["load_ok"].value():
        reload(node, interactive=False)
        return "retried"
    stored = str(node["content_hash"].value())
    try:
        current = file_identity(path)
    except Exception as exc:  # noqa: BLE001 - unreadable now: keep the baked state, say so
        current = ""
        reason = str(exc)
    else:
        reason = "the file changed on disk since it was loaded"
    inner = node.node(CUBE) if isinstance(node, nuke.Group) else None
    cube = str(inner["file"].value()) if inner is not None else ""
    cube_missing = bool(cube) and not os.path.isfile(cube)
    if current != stored:
        if cube_missing:
            reason += "; the baked cube is missing on this machine too (the GPU engine still works)"
        info = node["info"]
        text = str(info.value())
        note = info_line("WARNING", f"{reason}; the node keeps the grade it loaded (press reload to "
                                    "read the file)")
        if note not in text:
            info.setValue(text + "\n" + note)
        report(node, reason + " (keeping the grade loaded before; press reload)", False)
        return "changed"
    if cube_missing:
        reload(node, interactive=False)
        return "rebaked"
    return "none"


# ----------------------------------------------------------------------------- building

def _new_knob(spec: KnobSpec) -> nuke.Knob:
    label = spec.label if spec.label is not None else spec.name
    knob: nuke.Knob
    if spec.kind == "Tab":
        knob = nuke.Tab_Knob(spec.name, label)
    elif spec.kind == "String":
        knob = nuke.String_Knob(spec.name, label)
    elif spec.kind == "File":
        knob = nuke.File_Knob(spec.name, label)
    elif spec.kind == "Int":
        knob = nuke.Int_Knob(spec.name, label)
    elif spec.kind == "Enumeration":
        knob = nuke.Enumeration_Knob(spec.name, label, list(spec.values))
    elif spec.kind == "Boolean":
        knob = nuke.Boolean_Knob(spec.name, label)
    elif spec.kind == "Double":
        knob = nuke.Double_Knob(spec.name, label)
    elif spec.kind == "PyScript":
        knob = nuke.PyScript_Knob(spec.name, label, spec.target)
    elif spec.kind == "Text":
        knob = nuke.Text_Knob(spec.name, label, str(spec.value or ""))
    elif spec.kind == "Link":
        link = nuke.Link_Knob(spec.name, label)
        node_name, knob_name = spec.target.split(".", 1)
        link.makeLink(node_name, knob_name)
        knob = link
    else:  # pragma: no cover - KnobSpec validates kinds
        raise ValueError(spec.kind)
    if spec.tooltip:
        knob.setTooltip(spec.tooltip)
    for flag in spec.flags:  # "+INVISIBLE", "-STARTLINE": nuke.INVISIBLE, nuke.STARTLINE
        bit = {"INVISIBLE": nuke.INVISIBLE, "STARTLINE": nuke.STARTLINE}[flag[1:]]
        if flag[0] == "+":
            knob.setFlag(bit)
        else:
            knob.clearFlag(bit)
    return knob


def _set(knob: nuke.Knob, value: Any) -> None:
    if isinstance(value, Expr):
        knob.setExpression(value.text)
    else:
        if knob.hasExpression():
            knob.clearAnimated()
        knob.setValue(value)


def _set_user_value(knob: nuke.Knob, spec: KnobSpec) -> None:
    if spec.expression is not None:
        knob.setExpression(spec.expression)
    elif spec.kind in ("Text",):
        knob.setValue(str(spec.value or ""))
    elif spec.kind not in ("Tab", "Link", "PyScript") and spec.value is not None:
        knob.setValue(spec.value)


def _needs_rebuild(group: nuke.Group, spec: GroupSpec) -> bool:
    marker = group.knob(MARKER)
    if marker is None or str(marker.value()) != NODE_VERSION:
        return True
    can_blink = bool(nuke.env.get("nukex") or nuke.env.get("studio"))
    for ns in spec.nodes:
        inner = group.node(ns.name)
        if inner is None:
            return True
        if inner.Class() != ns.cls and not (ns.cls == "BlinkScript" and inner.Class() == "NoOp"
                                            and not can_blink):
            return True  # (a stand-in BlinkScript is replaced once the script opens in NukeX)
    return False


def sync(group: nuke.Node, spec: GroupSpec) -> None:
    """Make ``group`` match ``spec``: inner nodes (rebuilt when the layout differs), their knobs
    and links, the user knobs (the artist's settings are kept; state knobs are rewritten)."""
    if not isinstance(group, nuke.Group):
        raise TypeError(f"{group.name()} is not a Group")
    rebuild = _needs_rebuild(group, spec)
    kept = _linked_values(group, spec) if rebuild else {}
    group.begin()
    try:
        if rebuild:
            for old in list(group.nodes()):
                nuke.delete(old)
            for ns in spec.nodes:
                made = _make(ns.cls)
                made.setName(ns.name)
                made.setXYpos(ns.xpos, ns.ypos)
                for name, value in ns.initial.items():
                    _set(made[name], value)
        inner: Dict[str, nuke.Node] = {}
        for ns in spec.nodes:
            found = group.node(ns.name)
            if found is None:  # pragma: no cover - just built
                raise RuntimeError(f"inner node {ns.name} is missing")
            inner[ns.name] = found
        placeholder = inner[BLINK].Class() != "BlinkScript"
        for ns in spec.nodes:
            node = inner[ns.name]
            for name, value in ns.knobs.items():
                if name in ns.script_only or (placeholder and ns.name == BLINK and name != "disable"):
                    continue
                knob = node.knob(name)
                if knob is None:
                    raise RuntimeError(f"{ns.cls} has no knob {name!r}")
                if name == "kernelSource":
                    if str(knob.value()) != value:
                        knob.setValue(value)
                        _recompile(node)
                    continue
                _set(knob, value)
            sources = list(ns.inputs) + ([ns.mask] if ns.mask is not None else [])
            for i, src in enumerate(sources):
                node.setInput(i, inner[src] if src is not None else None)
        for (node_name, knob_name), value in kept.items():  # the artist's mask, mix, GPU choice
            target = inner[node_name].knob(knob_name) if node_name in inner else None
            if target is not None:
                _set(target, value)
    finally:
        group.end()
    for ks in spec.user_knobs:
        knob = group.knob(ks.name)
        if knob is None:
            knob = _new_knob(ks)
            group.addKnob(knob)
            _set_user_value(knob, ks)
        elif ks.state:
            _set_user_value(knob, ks)
    for name, value in spec.knobs.items():
        knob = group.knob(name)
        if knob is not None:
            knob.setValue(value)
    if placeholder and bool(group["has_mlp"].value()):
        # this Nuke cannot create BlinkScript nodes: the network runs as the baked cube
        group["has_mlp"].setValue(False)
        group["info"].setValue(str(group["info"].value()) + "\n" + NO_BLINK_NOTE)


NO_BLINK_NOTE = info_line("NOTE", "this Nuke cannot create BlinkScript nodes (NukeX or Nuke Studio "
                                  "needed): the dense cube is used")


def _make(cls: str) -> nuke.Node:
    """A new node of ``cls`` in the current group. Where BlinkScript cannot be created (plain
    Nuke), a NoOp stands in for it, and the node uses the cube (see :func:`sync`)."""
    try:
        return getattr(nuke.nodes, cls)()
    except Exception:  # noqa: BLE001 - RuntimeError from Nuke's licence check, or anything else
        if cls != "BlinkScript":
            raise
        stand_in = nuke.nodes.NoOp()
        stand_in["label"].setValue("BlinkScript needs NukeX")
        return stand_in


def _linked_values(group: nuke.Group, spec: GroupSpec) -> Dict[Tuple[str, str], Any]:
    """Values (or expressions) of the inner knobs the group's link knobs show, read before a
    rebuild so the artist's settings survive it."""
    out: Dict[Tuple[str, str], Any] = {}
    for ks in spec.user_knobs:
        if ks.kind != "Link":
            continue
        node_name, knob_name = ks.target.split(".", 1)
        inner = group.node(node_name)
        knob = inner.knob(knob_name) if inner is not None else None
        if knob is not None:
            text = _expression_of(knob)
            out[(node_name, knob_name)] = Expr(text) if text else knob.value()
    return out


def _expression_of(knob: nuke.Knob) -> Optional[str]:
    """The expression on an array knob (its first channel's animation curve), or None."""
    if not knob.hasExpression():
        return None
    animation = getattr(knob, "animation", None)  # Array_Knob.animation(channel) -> AnimationCurve
    curve = animation(0) if callable(animation) else None
    text = curve.expression() if curve is not None else None
    return str(text) if text else None


def _recompile(blink: nuke.Node) -> None:
    """Compile the new kernel now where BlinkScript may compile (NukeX, Nuke Studio); elsewhere
    the node keeps its source and the auto engine uses the cube."""
    execute = getattr(blink.knob("recompile"), "execute", None)
    if execute is None or not (nuke.env.get("nukex") or nuke.env.get("studio")):
        return
    try:
        execute()
    except Exception as exc:  # noqa: BLE001 - a compile failure shows on the BlinkScript node
        _log(exc)

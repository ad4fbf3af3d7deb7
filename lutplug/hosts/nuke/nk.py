"""Nuke script text (host-free): a :class:`~lutplug.hosts.nuke.graph.GroupSpec` as a pasteable
``.nk`` node or as a ``.gizmo`` file.

The syntax is the one Nuke writes: a node is ``Class { knob value ... }``; values are TCL words
(bare, or double-quoted with backslash escapes, ``[`` ``{`` ``}`` ``$`` escaped so nothing is
substituted when the script is read); an expression is ``{{expr}}``; user knobs are
``addUserKnob {type name l label t tooltip flags ...}``; connections go through Nuke's node stack
(``set Nx [stack 0]`` / ``push $Nx`` / ``push 0``; the top of the stack is input 0, ``inputs 2+1``
means two inputs and a mask); a group's interior follows its block up to ``end_group``.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Dict, List, Optional

from lutplug.hosts.nuke.graph import KNOB_KINDS, Expr, GroupSpec, KnobSpec, NodeSpec

#: Version line written at the top (the oldest Nuke the node supports; newer ones read it).
NUKE_VERSION_LINE = "version 14.0 v1"
_BARE = re.compile(r"[A-Za-z0-9_.+\-/:]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r",
            "[": "\\[", "{": "\\{", "}": "\\}", "$": "\\$"}


def quote(text: str) -> str:
    """``text`` as one TCL word of a Nuke script, read back verbatim (no substitution)."""
    text = str(text)
    if _BARE.fullmatch(text):
        return text
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def value(v: Any, name: str = "") -> str:
    """A knob value as script text."""
    if isinstance(v, Expr):
        return "{{" + quote(v.text) + "}}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"0x{v & 0xFFFFFFFF:08x}" if name == "tile_color" else str(v)
    if isinstance(v, float):
        return repr(v)
    return quote(str(v))


def user_knob(k: KnobSpec) -> List[str]:
    """``addUserKnob {...}`` and, when it has one, the knob's value line."""
    code = KNOB_KINDS[k.kind][0]
    parts = [str(code), k.name]
    if k.label is not None and (k.label != k.name or k.kind == "Tab"):
        parts += ["l", quote(k.label)]
    if k.tooltip:
        parts += ["t", quote(k.tooltip)]
    parts += list(k.flags)
    if k.kind == "Enumeration":
        parts += ["M", "{" + " ".join(quote(v) for v in k.values) + "}"]
    if k.kind == "Text":
        parts += ["T", quote(str(k.value or ""))]
    elif k.kind in ("Link", "PyScript"):
        parts += ["T", quote(k.target)]
    lines = ["addUserKnob {" + " ".join(parts) + "}"]
    if k.expression is not None:
        lines.append(f"{k.name} {value(Expr(k.expression))}")
    elif k.kind not in ("Tab", "Text", "Link", "PyScript") and k.value is not None:
        lines.append(f"{k.name} {value(k.value, k.name)}")
    return lines


def _node_block(n: NodeSpec, indent: str) -> List[str]:
    count = len(n.inputs)
    lines = [f"{indent}{n.cls} {{"]
    inputs = f"{count}+1" if n.mask is not None else str(count)
    if inputs != "1":
        lines.append(f"{indent} inputs {inputs}")
    lines += [f"{indent} {k} {value(v, k)}" for k, v in {**n.knobs, **n.initial}.items()]
    lines += [f"{indent} name {quote(n.name)}", f"{indent} xpos {n.xpos}", f"{indent} ypos {n.ypos}",
              f"{indent}}}"]
    return lines


def _var(name: str) -> str:
    return "N" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def interior_lines(nodes: List[NodeSpec], indent: str = " ") -> List[str]:
    """The group's inner nodes in stack order (each input pushed before its consumer)."""
    by_name: Dict[str, NodeSpec] = {n.name: n for n in nodes}
    uses: Counter = Counter()
    for n in nodes:
        for src in list(n.inputs) + ([n.mask] if n.mask else []):
            if src is not None:
                if src not in by_name:
                    raise ValueError(f"node {n.name} reads from unknown node {src}")
                uses[src] += 1
    lines: List[str] = []
    emitted: set = set()
    active: set = set()

    def need(src: Optional[str]) -> None:
        if src is None:
            lines.append("push 0")
        elif src in emitted:
            lines.append(f"push ${_var(src)}")
        else:
            emit(src)

    def emit(name: str) -> None:
        if name in active:
            raise ValueError(f"cycle through node {name}")
        active.add(name)
        n = by_name[name]
        if n.mask is not None:
            need(n.mask)            # deepest: the mask input
        for src in reversed(n.inputs):
            need(src)               # ... then the last input, up to input 0 on top
        lines.extend(_node_block(n, indent))
        emitted.add(name)
        active.discard(name)
        if uses[name] > 1:
            lines.append(f"set {_var(name)} [stack 0]")

    for n in nodes:
        if n.name not in emitted and uses[n.name] == 0:
            emit(n.name)
    missing = [n.name for n in nodes if n.name not in emitted]
    if missing:
        raise ValueError(f"nodes {missing} only feed each other (a cycle)")
    return lines


def group_lines(spec: GroupSpec, cls: str = "Group") -> List[str]:
    """``Group {...}`` (or ``Gizmo {...}``), the interior and ``end_group``."""
    lines = [f"{cls} {{"]
    if cls == "Group":
        lines.append(f" name {quote(spec.name)}")
    lines += [f" {k} {value(v, k)}" for k, v in spec.knobs.items()]
    for k in spec.user_knobs:
        lines += [" " + line for line in user_knob(k)]
    lines.append("}")
    lines += interior_lines(spec.nodes)
    lines.append("end_group")
    return lines


def gizmo_text(spec: GroupSpec) -> str:
    """A ``.gizmo`` file: the node class is the file's name, found on Nuke's plug-in path."""
    return "\n".join([NUKE_VERSION_LINE] + group_lines(spec, "Gizmo")) + "\n"


def script_text(spec: GroupSpec) -> str:
    """A pasteable node (Nuke's clipboard format): paste it into the node graph, or File > Import
    Script; it connects to the selected node."""
    lines = ["set cut_paste_input [stack 0]", NUKE_VERSION_LINE, "push $cut_paste_input"]
    return "\n".join(lines + group_lines(spec, "Group")) + "\n"

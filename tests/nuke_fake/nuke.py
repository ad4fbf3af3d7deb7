"""A fake ``nuke`` module for tests: records the node graph the plug-in builds.

It implements the part of Nuke's Python API the plug-in uses, with the same names and call
signatures as the published stubs (``types-nuke``), and it is strict where Nuke is: a node has
only the knobs of its class (a table taken from the real nodes), an enumeration accepts only its
items, a Link_Knob must point at an existing node and knob when resolved. Every call that talks
to the artist (``message``, ``error``), every menu command and callback registration is recorded.

Use :func:`reset` between tests; ``env`` and ``GUI`` are plain attributes tests may change.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

# knob flags (values are arbitrary bits here)
STARTLINE, INVISIBLE, DISABLED, READ_ONLY, ENDLINE = 1, 2, 8, 16, 32
NO_ANIMATION, DO_NOT_WRITE = 64, 128
INPUTS, HIDDEN_INPUTS, EXPRESSIONS, LINKINPUTS = 1, 2, 4, 8

GUI = True
#: False: creating a BlinkScript node fails, as in plain Nuke (licence).
blink_creatable = True
env: Dict[str, Any] = {}
messages: List[str] = []
errors: List[str] = []
callbacks: Dict[str, List[Tuple[Callable, str]]] = {}
_this: Dict[str, Any] = {"node": None, "knob": None}


# ----------------------------------------------------------------------------- knobs

class Knob:
    def __init__(self, name: str, label: Optional[str] = None, *args: Any) -> None:
        self._name = name
        self._label = label if label is not None else name
        self._value: Any = None
        self._expression: Optional[str] = None
        self._flags = STARTLINE
        self._tooltip = ""
        self._node: Optional[Node] = None
        self.history: List[Any] = []

    def Class(self) -> str:
        return type(self).__name__

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def node(self) -> "Node":
        assert self._node is not None
        return self._node

    def value(self, *args: Any) -> Any:
        return self._value

    def getValue(self, *args: Any) -> Any:
        return self.value()

    def setValue(self, value: Any, *args: Any) -> bool:
        self._check(value)
        self._value = value
        self.history.append(value)
        if self._node is not None:
            self._node._changed(self)
        return True

    def _check(self, value: Any) -> None:
        pass

    def setExpression(self, expression: str, *args: Any) -> bool:
        if not isinstance(expression, str) or not expression:
            raise ValueError("expression must be a non-empty string")
        self._expression = expression
        return True

    def hasExpression(self, *args: Any) -> bool:
        return self._expression is not None

    def expression(self) -> Optional[str]:  # test helper (not Nuke API)
        return self._expression

    def clearAnimated(self, *args: Any) -> bool:
        self._expression = None
        return True

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def clearFlag(self, flag: int) -> None:
        self._flags &= ~flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)

    def setTooltip(self, tooltip: str) -> None:
        self._tooltip = tooltip

    def tooltip(self) -> str:
        return self._tooltip

    def setVisible(self, visible: bool) -> None:
        if visible:
            self.clearFlag(INVISIBLE)
        else:
            self.setFlag(INVISIBLE)

    def setEnabled(self, enabled: bool) -> None:
        if enabled:
            self.clearFlag(DISABLED)
        else:
            self.setFlag(DISABLED)


class AnimationCurve:
    def __init__(self, expression: str) -> None:
        self._expression = expression

    def expression(self) -> str:
        return self._expression


class Array_Knob(Knob):
    def animation(self, channel: int = 0) -> Optional[AnimationCurve]:
        return None if self._expression is None else AnimationCurve(self._expression)


class Boolean_Knob(Array_Knob):
    def __init__(self, name: str, label: Optional[str] = None, value: bool = False) -> None:
        super().__init__(name, label)
        self._value = bool(value)

    def _check(self, value: Any) -> None:
        if not isinstance(value, (bool, int)):
            raise TypeError(f"{self._name}: a Boolean_Knob takes a bool, got {value!r}")

    def value(self, *args: Any) -> bool:
        return bool(self._value)


class Disable_Knob(Boolean_Knob):
    pass


class Int_Knob(Array_Knob):
    def __init__(self, name: str, label: Optional[str] = None) -> None:
        super().__init__(name, label)
        self._value = 0

    def _check(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{self._name}: an Int_Knob takes an int, got {value!r}")


class Double_Knob(Array_Knob):
    def __init__(self, name: str, label: Optional[str] = None) -> None:
        super().__init__(name, label)
        self._value = 0.0

    def _check(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{self._name}: a Double_Knob takes a number, got {value!r}")


class ColorChip_Knob(Array_Knob):
    def __init__(self, name: str, label: Optional[str] = None) -> None:
        super().__init__(name, label)
        self._value = 0

    def _check(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            raise TypeError(f"{self._name}: a colour is an unsigned 32-bit int, got {value!r}")


class Enumeration_Knob(Knob):
    def __init__(self, name: str, label: Optional[str] = None, values: Optional[List[str]] = None) -> None:
        super().__init__(name, label)
        self._values = list(values or [])
        self._value = self._values[0] if self._values else ""

    def _check(self, value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self._values):
                raise ValueError(f"{self._name}: no item {value}")
        elif value not in self._values:
            raise ValueError(f"{self._name}: {value!r} is not one of {self._values}")

    def setValue(self, value: Any, *args: Any) -> bool:
        self._check(value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = self._values[value]
        return super().setValue(value)

    def values(self) -> List[str]:
        return list(self._values)

    def index(self) -> int:  # test helper
        return self._values.index(self._value)


class String_Knob(Knob):
    def __init__(self, name: str, label: Optional[str] = None, text: str = "") -> None:
        super().__init__(name, label)
        self._value = text

    def _check(self, value: Any) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{self._name}: a string knob takes a str, got {value!r}")


class EvalString_Knob(String_Knob):
    def evaluate(self, *args: Any) -> str:
        return str(self._value)


class File_Knob(EvalString_Knob):
    pass


class Multiline_Eval_String_Knob(EvalString_Knob):
    pass


class Channel_Knob(String_Knob):
    pass


class Text_Knob(Knob):
    def __init__(self, name: str, label: Optional[str] = None, text: str = "") -> None:
        super().__init__(name, label)
        self._value = text

    def _check(self, value: Any) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{self._name}: a Text_Knob takes a str, got {value!r}")


class Tab_Knob(Knob):
    pass


class Script_Knob(String_Knob):
    def __init__(self, name: str, label: Optional[str] = None, command: str = "") -> None:
        super().__init__(name, label, command)
        self.executions = 0

    def command(self) -> str:
        return str(self._value)

    def execute(self) -> None:
        self.executions += 1


class PyScript_Knob(Script_Knob):
    pass


class Link_Knob(Knob):
    def __init__(self, name: str, label: Optional[str] = None) -> None:
        super().__init__(name, label)
        self._link: Optional[Tuple[str, str]] = None

    def makeLink(self, node: str, knob: str) -> None:
        self._link = (node, knob)

    def setLink(self, link: str) -> None:
        node, knob = link.split(".", 1)
        self._link = (node, knob)

    def getLink(self) -> str:
        return "" if self._link is None else ".".join(self._link)

    def getLinkedKnob(self) -> Knob:
        """The target knob, resolved inside the link's group (KeyError when it is missing)."""
        if self._link is None or self._node is None:
            raise KeyError("link not set")
        inner = self._node.node(self._link[0]) if isinstance(self._node, Group) else None
        if inner is None:
            raise KeyError(f"no node {self._link[0]} for link {self._name}")
        return inner[self._link[1]]

    def value(self, *args: Any) -> Any:
        return self.getLinkedKnob().value()

    def setValue(self, *args: Any) -> bool:
        return self.getLinkedKnob().setValue(*args)


# ----------------------------------------------------------------------------- node classes

_COMMON = [("name", String_Knob), ("label", Multiline_Eval_String_Knob), ("disable", Disable_Knob),
           ("tile_color", ColorChip_Knob), ("note_font", String_Knob), ("selected", Boolean_Knob),
           ("hide_input", Boolean_Knob), ("help", String_Knob), ("onCreate", String_Knob),
           ("onDestroy", String_Knob), ("knobChanged", String_Knob), ("icon", File_Knob)]

_MERGE_OPS = ["atop", "average", "color-burn", "color-dodge", "conjoint-over", "copy", "difference",
              "disjoint-over", "divide", "exclusion", "from", "geometric", "hard-light", "hypot", "in",
              "mask", "matte", "max", "min", "minus", "multiply", "out", "over", "overlay", "plus",
              "screen", "soft-light", "stencil", "under", "xor"]

#: Knobs of the real node classes the plug-in creates (names from Nuke's own .nk output).
CLASSES: Dict[str, List[Tuple[str, Any]]] = {
    "Group": [],
    "Input": [("number", Int_Knob)],
    "Output": [],
    "Dot": [],
    "NoOp": [],
    "Switch": [("which", Double_Knob)],
    "Expression": [(f"expr{i}", String_Knob) for i in range(4)]
    + [(f"channel{i}", Channel_Knob) for i in range(4)]
    + [(f"temp_name{i}", String_Knob) for i in range(4)] + [(f"temp_expr{i}", String_Knob) for i in range(4)],
    "BlinkScript": [("kernelSource", Multiline_Eval_String_Knob), ("recompile", PyScript_Knob),
                    ("KernelDescription", String_Knob), ("kernelSourceFile", File_Knob),
                    ("useGPUIfAvailable", Boolean_Knob), ("vectorize", Boolean_Knob),
                    ("rebuild", PyScript_Knob), ("rebuild_finalise", PyScript_Knob),
                    ("recompileCount", Int_Knob), ("ProgramGroup", Int_Knob)],
    "OCIOFileTransform": [("file", File_Knob), ("cccid", String_Knob),
                          ("direction", (Enumeration_Knob, ["forward", "inverse"])),
                          ("interpolation", (Enumeration_Knob, ["nearest", "linear", "tetrahedral", "best"])),
                          ("working_space", String_Knob), ("reload", PyScript_Knob),
                          ("maskChannelInput", Channel_Knob), ("mix", Double_Knob)],
    "Merge2": [("operation", (Enumeration_Knob, _MERGE_OPS)), ("Achannels", Channel_Knob),
               ("Bchannels", Channel_Knob), ("output", Channel_Knob), ("also_merge", Channel_Knob),
               ("maskChannelInput", Channel_Knob), ("inject", Boolean_Knob),
               ("invert_mask", Boolean_Knob), ("fringe", Boolean_Knob), ("mix", Double_Knob),
               ("bbox", (Enumeration_Knob, ["union", "intersection", "A", "B"]))],
}
_MAX_INPUTS = {"Group": 99, "Input": 0, "Output": 1, "Dot": 1, "NoOp": 1, "Switch": 99, "Expression": 1,
               "BlinkScript": 8, "OCIOFileTransform": 1, "Merge2": 3}
_DEFAULTS = {("Switch", "which"): 0.0, ("Merge2", "mix"): 1.0, ("Merge2", "operation"): "over",
             ("Merge2", "Achannels"): "rgba", ("Merge2", "Bchannels"): "rgba",
             ("Merge2", "output"): "rgba", ("Merge2", "maskChannelInput"): "none",
             ("OCIOFileTransform", "interpolation"): "linear", ("Expression", "expr0"): "",
             ("BlinkScript", "useGPUIfAvailable"): True, ("OCIOFileTransform", "mix"): 1.0}


class Node:
    def __init__(self, cls: str, parent: Optional["Group"]) -> None:
        if cls not in CLASSES:
            raise RuntimeError(f"unknown node class {cls}")
        self._class = cls
        self._knobs: Dict[str, Knob] = {}
        self._order: List[str] = []
        self._inputs: Dict[int, Optional[Node]] = {}
        self._parent = parent
        self._x = self._y = 0
        self.panel_shown = 0
        for name, kind in _COMMON + CLASSES[cls]:
            if isinstance(kind, tuple):
                knob = kind[0](name, name, kind[1])
            else:
                knob = kind(name, name)
            if (cls, name) in _DEFAULTS:
                knob._value = _DEFAULTS[(cls, name)]
            self._attach(knob)
        if parent is not None:
            parent._children.append(self)
            self._knobs["name"]._value = parent._unique(cls + "1")

    def _attach(self, knob: Knob) -> None:
        knob._node = self
        self._knobs[knob.name()] = knob
        self._order.append(knob.name())

    def _changed(self, knob: Knob) -> None:
        pass

    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return str(self._knobs["name"].value())

    def fullName(self) -> str:
        return self.name()

    def setName(self, name: str, uncollide: bool = False, updateExpressions: bool = False) -> None:
        if self._parent is not None:
            clash = any(c is not self and c.name() == name for c in self._parent._children)
            if clash:
                if not uncollide:
                    raise ValueError(f"name {name} is already used")
                name = self._parent._unique(name)
        self._knobs["name"]._value = name

    def knob(self, name: Any, follow_link: bool = False) -> Optional[Knob]:
        return self._knobs.get(name)

    def knobs(self) -> Dict[str, Knob]:
        return dict(self._knobs)

    def allKnobs(self) -> List[Knob]:
        return [self._knobs[k] for k in self._order]

    def __getitem__(self, name: str) -> Knob:
        if name not in self._knobs:
            raise NameError(f"{self.name()} has no knob {name}")
        return self._knobs[name]

    def addKnob(self, knob: Knob) -> None:
        if knob.name() in self._knobs:
            raise RuntimeError(f"{self.name()} already has a knob {knob.name()}")
        self._attach(knob)

    def removeKnob(self, knob: Knob) -> None:
        del self._knobs[knob.name()]
        self._order.remove(knob.name())

    def setInput(self, i: int, node: Optional["Node"]) -> bool:
        if i >= _MAX_INPUTS[self._class]:
            raise IndexError(f"{self._class} has no input {i}")
        if node is not None and node._parent is not self._parent:
            raise ValueError("nodes in different groups cannot be connected")
        self._inputs[i] = node
        return True

    def connectInput(self, i: int, node: Optional["Node"]) -> bool:
        return self.setInput(i, node)

    def input(self, i: int) -> Optional["Node"]:
        return self._inputs.get(i)

    def inputs(self) -> int:
        return max([i + 1 for i, n in self._inputs.items() if n is not None], default=0)

    def setXYpos(self, x: int, y: int) -> None:
        self._x, self._y = x, y

    def xpos(self) -> int:
        return self._x

    def ypos(self) -> int:
        return self._y

    def showControlPanel(self, forceFloat: bool = False) -> None:
        self.panel_shown += 1

    def parent(self) -> Optional["Group"]:
        return self._parent


class Group(Node):
    def __init__(self, cls: str = "Group", parent: Optional["Group"] = None) -> None:
        self._children: List[Node] = []
        super().__init__(cls, parent)

    def _unique(self, name: str) -> str:
        base = name.rstrip("0123456789") or name
        used = {c.name() for c in self._children}
        if name not in used:
            return name
        i = 1
        while f"{base}{i}" in used:
            i += 1
        return f"{base}{i}"

    def begin(self) -> "Group":
        _context.append(self)
        return self

    def end(self) -> None:
        if len(_context) < 2 or _context[-1] is not self:
            raise RuntimeError("end() without a matching begin()")
        _context.pop()

    def __enter__(self) -> "Group":
        return self.begin()

    def __exit__(self, *exc: Any) -> None:
        self.end()

    def nodes(self) -> List[Node]:
        return list(self._children)

    def node(self, name: str) -> Optional[Node]:
        for c in self._children:
            if c.name() == name:
                return c
        return None


class Root(Group):
    def __init__(self) -> None:
        self._children = []
        self._class = "Root"
        self._knobs = {}
        self._order = []
        self._inputs = {}
        self._parent = None
        self._x = self._y = 0
        self.panel_shown = 0
        self._attach(String_Knob("name", "name", "root"))


_root = Root()
_context: List[Group] = [_root]


def root() -> Root:
    return _root


def thisGroup() -> Group:
    return _context[-1]


def _create(cls: str) -> Node:
    parent = _context[-1]
    return Group(cls, parent) if cls == "Group" else Node(cls, parent)


class _NodeFactory:
    def __init__(self, cls: str) -> None:
        self.cls = cls

    def __call__(self, *args: Any, **kwargs: Any) -> Node:
        if self.cls == "BlinkScript" and not blink_creatable:
            raise RuntimeError("BlinkScript: creating this node needs a NukeX licence")
        node = _create(self.cls)
        for k, v in kwargs.items():
            node[k].setValue(v)
        return node


class Nodes:
    def __getattr__(self, item: str) -> _NodeFactory:
        if item not in CLASSES:
            raise AttributeError(f"no node class {item}")
        return _NodeFactory(item)


nodes = Nodes()


def createNode(typ: str, knobs: str = "", inpanel: bool = True) -> Node:
    node = _NodeFactory(typ)()
    if inpanel and GUI:
        node.showControlPanel()
    return node


def delete(n: Optional[Node]) -> None:
    if n is None or n._parent is None:
        return
    n._parent._children.remove(n)
    for other in n._parent._children:
        for i, src in list(other._inputs.items()):
            if src is n:
                other._inputs[i] = None
    n._parent = None


def allNodes(filter: Optional[str] = None, group: Optional[Group] = None,
             recurseGroups: bool = False) -> List[Node]:
    out: List[Node] = []

    def walk(g: Group) -> None:
        for c in g._children:
            if filter is None or c.Class() == filter:
                out.append(c)
            if recurseGroups and isinstance(c, Group):
                walk(c)

    walk(group or _context[-1])
    return out


def toNode(name: str) -> Optional[Node]:
    return _context[-1].node(name)


# ----------------------------------------------------------------------------- session

def thisNode() -> Node:
    return _this["node"]


def thisKnob() -> Knob:
    return _this["knob"]


def message(prompt: str) -> None:
    messages.append(prompt)


def error(message: str) -> None:
    errors.append(message)


class Menu:
    def __init__(self, name: str) -> None:
        self._name = name
        self.items: Dict[str, Any] = {}

    def name(self) -> str:
        return self._name

    def addMenu(self, name: str, icon: str = "", index: int = -1, **kwargs: Any) -> "Menu":
        sub = self.items.get(name)
        if not isinstance(sub, Menu):
            sub = Menu(name)
            self.items[name] = sub
        return sub

    def addCommand(self, name: str, command: Any = "", shortcut: str = "", icon: str = "",
                   **kwargs: Any) -> None:
        head, _, rest = name.partition("/")
        if rest:
            self.addMenu(head).addCommand(rest, command, shortcut, icon)
        else:
            self.items[name] = command

    def findItem(self, name: str) -> Any:
        item: Any = self
        for part in name.split("/"):
            item = item.items.get(part) if isinstance(item, Menu) else None
        return item


_menus: Dict[str, Menu] = {}


def menu(name: str) -> Menu:
    return _menus.setdefault(name, Menu(name))


def _register(kind: str, call: Callable, nodeClass: str = "*") -> None:
    callbacks.setdefault(kind, []).append((call, nodeClass))


def addOnCreate(call: Callable, args: Tuple = (), kwargs: Optional[dict] = None,
                nodeClass: str = "*") -> None:
    _register("onCreate", call, nodeClass)


def addKnobChanged(call: Callable, args: Tuple = (), kwargs: Optional[dict] = None, nodeClass: str = "*",
                   node: Any = None) -> None:
    _register("knobChanged", call, nodeClass)


def fire(kind: str, node: Node, knob: Optional[Knob] = None) -> None:
    """Test helper: run the registered callbacks of ``kind`` as Nuke would for ``node``."""
    _this["node"], _this["knob"] = node, knob
    try:
        for call, cls in callbacks.get(kind, []):
            if cls in ("*", node.Class()):
                call()
    finally:
        _this["node"], _this["knob"] = None, None


def reset() -> None:
    """Fresh session: empty root, no callbacks, menus or messages; GUI NukeX by default."""
    global GUI, blink_creatable
    GUI = True
    blink_creatable = True
    env.clear()
    env.update({"nukex": True, "studio": False, "gui": True, "NukeVersionMajor": 15})
    messages.clear()
    errors.clear()
    callbacks.clear()
    _menus.clear()
    _root._children.clear()
    del _context[1:]
    _this["node"], _this["knob"] = None, None


reset()

"""A small reader of Nuke script text (.nk / .gizmo) for tests, written from Nuke's format, not
from lutplug's writer: TCL words, double-quoted strings with backslash escapes, nested braces,
``[...]`` commands, the node stack (``set``/``push``, top of stack = input 0, ``inputs N+M``),
groups and gizmos up to ``end_group``, ``addUserKnob`` definitions.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, List, Optional, Union


@dataclasses.dataclass
class Quoted:
    text: str


@dataclasses.dataclass
class Braced:
    items: List[Any]


@dataclasses.dataclass
class Bracket:
    text: str


@dataclasses.dataclass(frozen=True)
class Expression:
    """A knob expression: ``{{expr}}``."""

    text: str


NEWLINE = object()
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _quoted(src: str, i: int):
    out = []
    i += 1
    while True:
        if i >= len(src):
            raise SyntaxError("unterminated string")
        c = src[i]
        if c == "\\":
            n = src[i + 1]
            out.append(_SIMPLE_ESCAPES.get(n, n))
            i += 2
        elif c == '"':
            return Quoted("".join(out)), i + 1
        elif c == "[":
            raise SyntaxError(f"unescaped '[' inside a string at {i}: TCL would run it when reading")
        elif c == "$":
            raise SyntaxError(f"unescaped '$' inside a string at {i}: TCL would substitute it")
        else:
            out.append(c)
            i += 1


def _bracket(src: str, i: int):
    depth, j = 0, i
    while j < len(src):
        if src[j] == "\\":
            j += 2
            continue
        if src[j] == "[":
            depth += 1
        elif src[j] == "]":
            depth -= 1
            if depth == 0:
                return Bracket(src[i + 1:j]), j + 1
        j += 1
    raise SyntaxError("unterminated [")


def tokenize(src: str, i: int = 0, closing: Optional[str] = None):
    """Tokens of ``src`` from ``i``; returns (tokens, end). Newlines are NEWLINE tokens."""
    tokens: List[Any] = []
    while i < len(src):
        c = src[i]
        if c == "\n":
            tokens.append(NEWLINE)
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "#" and (not tokens or tokens[-1] is NEWLINE):
            while i < len(src) and src[i] != "\n":
                i += 1
        elif c == '"':
            tok, i = _quoted(src, i)
            tokens.append(tok)
        elif c == "{":
            inner, i = tokenize(src, i + 1, "}")
            tokens.append(Braced(inner))
        elif c == "}":
            if closing == "}":
                return tokens, i + 1
            raise SyntaxError(f"unbalanced '}}' at {i}")
        elif c == "[":
            tok, i = _bracket(src, i)
            tokens.append(tok)
        else:
            j = i
            while j < len(src) and src[j] not in ' \t\r\n{}"':
                if src[j] == "\\":
                    j += 1
                j += 1
            word = src[i:j]
            if "[" in word or "$" in word[1:]:
                raise SyntaxError(f"word {word!r} would be substituted by TCL")
            tokens.append(word)
            i = j
    if closing is not None:
        raise SyntaxError("unterminated {")
    return tokens, i


def to_value(tok: Any) -> Any:
    """A knob value: str for words and strings, Expression for {{expr}}, a list for {...}."""
    if isinstance(tok, Quoted):
        return tok.text
    if isinstance(tok, Braced):
        if len(tok.items) == 1 and isinstance(tok.items[0], Braced):
            inner = tok.items[0].items
            if len(inner) == 1 and isinstance(inner[0], (str, Quoted)):
                return Expression(to_value(inner[0]))
        return [to_value(t) for t in tok.items if t is not NEWLINE]
    if isinstance(tok, Bracket):
        return "[" + tok.text + "]"
    return tok


@dataclasses.dataclass
class UserKnob:
    type: int
    name: str
    label: Optional[str] = None
    tooltip: str = ""
    flags: List[str] = dataclasses.field(default_factory=list)
    items: List[str] = dataclasses.field(default_factory=list)  # M {...}
    target: Optional[str] = None                                # T ...
    range: Optional[List[str]] = None                           # R min max


def _user_knob(items: List[Any]) -> UserKnob:
    vals = [t for t in items if t is not NEWLINE]
    k = UserKnob(int(vals[0]), str(to_value(vals[1])))
    i = 2
    while i < len(vals):
        key = vals[i]
        if key == "l":
            k.label = to_value(vals[i + 1])
            i += 2
        elif key == "t":
            k.tooltip = to_value(vals[i + 1])
            i += 2
        elif key == "M":
            k.items = [str(v) for v in to_value(vals[i + 1])]
            i += 2
        elif key == "T":
            k.target = to_value(vals[i + 1])
            i += 2
        elif key == "R":
            k.range = [vals[i + 1], vals[i + 2]]
            i += 3
        elif key == "n":
            i += 2
        elif isinstance(key, str) and key[:1] in "+-":
            k.flags.append(key)
            i += 1
        else:
            raise SyntaxError(f"unexpected {key!r} in addUserKnob")
    return k


@dataclasses.dataclass
class Node:
    cls: str
    knobs: Dict[str, Any] = dataclasses.field(default_factory=dict)
    user_knobs: List[UserKnob] = dataclasses.field(default_factory=list)
    inputs: List[Optional["Node"]] = dataclasses.field(default_factory=list)
    mask_inputs: int = 0
    children: List["Node"] = dataclasses.field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.knobs.get("name", ""))

    def child(self, name: str) -> "Node":
        for c in self.children:
            if c.name == name:
                return c
        raise KeyError(name)

    def user_knob(self, name: str) -> UserKnob:
        for k in self.user_knobs:
            if k.name == name:
                return k
        raise KeyError(name)

    def input_names(self) -> List[Optional[str]]:
        return [None if n is None else n.name for n in self.inputs]


@dataclasses.dataclass
class Script:
    nodes: List[Node]
    version: Optional[str] = None
    stack_left: int = 0


def _statements(tokens: List[Any]):
    stmt: List[Any] = []
    for t in tokens:
        if t is NEWLINE:
            if stmt:
                yield stmt
            stmt = []
        else:
            stmt.append(t)
    if stmt:
        yield stmt


def parse(text: str, cut_paste_input: Optional[Node] = None) -> Script:
    """Parse script text. ``cut_paste_input`` stands for the node selected when pasting."""
    tokens, _ = tokenize(text)
    variables: Dict[str, Optional[Node]] = {}
    top: List[Node] = []
    stack: List[Optional[Node]] = []
    groups: List[tuple] = []          # (group node, outer stack, outer list)
    current = top
    version = None
    for stmt in _statements(tokens):
        head = stmt[0]
        if head == "version":
            version = " ".join(str(t) for t in stmt[1:])
        elif head == "set":
            if isinstance(stmt[2], Bracket) and stmt[2].text.split() == ["stack", "0"]:
                variables[stmt[1]] = stack[-1] if stack else cut_paste_input
            else:
                raise SyntaxError(f"unsupported set: {stmt}")
        elif head == "push":
            arg = stmt[1]
            if arg == "0":
                stack.append(None)
            elif isinstance(arg, str) and arg.startswith("$"):
                if arg[1:] not in variables:
                    raise SyntaxError(f"push of unknown variable {arg}")
                stack.append(variables[arg[1:]])
            else:
                raise SyntaxError(f"unsupported push {arg}")
        elif head == "end_group":
            group, outer_stack, outer_list = groups.pop()
            stack, current = outer_stack, outer_list
            stack.append(group)
        elif isinstance(head, str) and len(stmt) == 2 and isinstance(stmt[1], Braced):
            node = _node(head, stmt[1].items)
            count, masks = node.knobs.pop("inputs", None), 0
            if count is None:
                n_in = 0 if head in ("Input", "Constant", "Gizmo") else 1
            else:
                parts = str(count).split("+")
                n_in = sum(int(p) for p in parts)
                masks = int(parts[1]) if len(parts) > 1 else 0
            n_in = min(n_in, len(stack)) if head != "Gizmo" else 0
            popped = [stack.pop() for _ in range(n_in)]
            node.inputs, node.mask_inputs = popped, masks   # popped[0] was the top: input 0
            current.append(node)
            if head in ("Group", "Gizmo"):
                groups.append((node, stack, current))
                stack, current = [], node.children
            else:
                stack.append(node)
        else:
            raise SyntaxError(f"unexpected statement {stmt[:3]}")
    if groups:
        raise SyntaxError("group without end_group")
    return Script(top, version, len(stack))


def _node(cls: str, items: List[Any]) -> Node:
    node = Node(cls)
    for stmt in _statements(items):
        if stmt[0] == "addUserKnob":
            node.user_knobs.append(_user_knob(stmt[1].items))
        elif len(stmt) == 2:
            if stmt[0] in node.knobs:
                raise SyntaxError(f"knob {stmt[0]} set twice on {cls}")
            node.knobs[str(stmt[0])] = to_value(stmt[1])
        else:
            raise SyntaxError(f"bad knob line in {cls}: {stmt}")
    return node


Value = Union[str, Expression, list]


def evaluate(expr: str, env: dict) -> int:
    """Evaluate Nuke's expression subset used by the node (?:, ==, !=, !, parentheses)."""
    toks = re.findall(r"\d+|[A-Za-z_][\w.]*|==|!=|[?:!()]", expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take(expected=None):
        nonlocal pos
        tok = toks[pos]
        assert expected is None or tok == expected, (tok, expected)
        pos += 1
        return tok

    def ternary():
        cond = equality()
        if peek() == "?":
            take("?")
            a = ternary()
            take(":")
            b = ternary()
            return a if cond else b
        return cond

    def equality():
        left = unary()
        while peek() in ("==", "!="):
            op, right = take(), unary()
            left = int(left == right) if op == "==" else int(left != right)
        return left

    def unary():
        if peek() == "!":
            take()
            return int(not unary())
        if peek() == "(":
            take("(")
            v = ternary()
            take(")")
            return v
        tok = take()
        return int(tok) if tok.isdigit() else int(env[tok])

    value = ternary()
    assert pos == len(toks)
    return value

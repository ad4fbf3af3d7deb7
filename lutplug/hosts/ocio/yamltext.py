"""Edit an OCIO config as *text*, so every existing entry, comment, blank line and the file's
order survive (``Config.serialize()`` would rewrite the whole file and drop every comment).

The scanner understands as much YAML as an OCIO config uses: top-level keys at column 0, block
and flow sequences, block scalars (``|`` / ``>``), quoted scalars and flow collections spanning
lines, comments, document markers, CRLF newlines and a BOM. Edits only insert lines, or replace
the span of one sequence item, or rewrite the one line holding a ``[]`` / ``search_path`` value.
The caller re-parses the result with OpenColorIO and checks that nothing else changed
(:mod:`lutplug.hosts.ocio.verification`), so an unusual layout is refused rather than damaged.

Why not ruamel.yaml's round-trip mode, measured by ``benchmarks/ocio_yaml_roundtrip.py``
(results in ``benchmarks/results/ocio_yaml_roundtrip.md``; OpenColorIO 2.6.0, ruamel.yaml 0.19.1,
``YAML(typ='rt')`` with ``preserve_quotes``, ``width=4096``, the indentation that round-trips each
config best, CRLF and BOM put back): a look, a colour space and a named transform were added to
each of OCIO's 10 built-in configs and 18 configs of the tests (81 edits). This scanner left all
81 byte-identical apart from the new entry; ruamel.yaml 35. It rewrites ``environment:`` / ``{}``
— how OCIO's serializer writes an empty environment, in every built-in config — as
``environment: {}`` (3 lines per edit, 90 over the 30 built-in edits), re-spaces inline comments,
and where a comment precedes a tagged item it joins the tag to the item's first key
(``- !<Look>`` / ``name: show base`` → ``- !<Look> name: show base``), which OpenColorIO reads as
an untagged item: the existing look vanishes, and 6 of the 81 edits fail verification.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Callable, List, Optional, Set, Tuple

from lutplug.errors import LutError

_KEY = re.compile(r"""^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s#'"?:,\[\]{}\-][^#]*?))\s*:(?:\s|$)""")
_BLOCK_SCALAR = re.compile(r"(?:^|[\s])[|>](?:[1-9][+-]?|[+-][1-9]?)?$")


@dataclasses.dataclass
class Section:
    """A top-level key: lines [line, end) (end = next top-level key, marker or end of file)."""

    key: str
    line: int
    end: int
    value: str  # what follows "key:" on its line, comment removed, stripped


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _scan(text: str, flow: int, quote: Optional[str], start: int = 0) -> Tuple[int, Optional[str], int]:
    """Follow flow brackets and quotes through ``text`` from ``start``.

    Returns (flow depth, open quote char or None, index where a comment starts or len(text))."""
    i, n = start, len(text)
    prev = " " if start == 0 else text[start - 1]
    while i < n:
        ch = text[i]
        if quote == '"':
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                quote = None
        elif quote == "'":
            if ch == "'":
                if i + 1 < n and text[i + 1] == "'":
                    i += 2
                    continue
                quote = None
        else:
            if ch == "#" and (i == 0 or text[i - 1] in " \t"):
                return flow, quote, i
            if ch in "\"'" and (prev in " \t:-[{,?" or i == 0):
                quote = ch
            elif ch in "[{":
                flow += 1
            elif ch in "]}":
                flow = max(0, flow - 1)
        if ch not in " \t":
            prev = ch
        i += 1
    return flow, quote, n


def _content_column(text: str) -> Tuple[int, str]:
    """Column where a line's node starts after any ``- `` sequence markers, and that rest."""
    col = _indent(text)
    rest = text[col:]
    while rest == "-" or rest.startswith("- "):
        stripped = rest[1:].lstrip(" ")
        col += len(rest) - len(stripped)
        rest = stripped
    return col, rest


class ConfigText:
    """The lines of a config with each line's role; edits keep everything else byte for byte."""

    def __init__(self, text: str, source: str = "config"):
        self.source = source
        self.bom = text.startswith("\ufeff")
        body = text[1:] if self.bom else text
        self.newline = "\r\n" if "\r\n" in body else "\n"
        self.final_newline = body.endswith("\n")
        lines = body.split("\n")
        if self.final_newline:
            lines.pop()
        self.lines: List[str] = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
        self._classify()

    # -- scanning ----------------------------------------------------------------------------
    def _classify(self) -> None:
        kinds: List[str] = []
        flow, quote, block = 0, None, None
        for text in self.lines:
            ind, stripped = _indent(text), text.strip()
            if block is not None:
                if not stripped or ind > block:
                    kinds.append("scalar")
                    continue
                block = None
            if flow or quote:
                flow, quote, _ = _scan(text, flow, quote)
                kinds.append("cont")
                continue
            if not stripped:
                kinds.append("blank")
            elif stripped.startswith("#"):
                kinds.append("comment")
            elif ind == 0 and (re.match(r"^(---|\.\.\.)(\s|$)", text) or text.startswith("%")):
                kinds.append("marker")
            else:
                flow, quote, cut = _scan(text, 0, None)
                kinds.append("content")
                code = text[:cut].rstrip()
                if not flow and not quote and _BLOCK_SCALAR.search(code):
                    col, rest = _content_column(code)
                    # a key's block scalar: deeper than the key; a sequence item's: than its dash
                    block = col if ":" in rest else max(0, col - 2)
        if flow or quote:
            raise LutError("unterminated quote or bracket at the end of the file", self.source)
        self.kinds = kinds

    def sections(self) -> List[Section]:
        starts: List[Tuple[int, Optional[Tuple[str, str]]]] = []
        for i, (text, kind) in enumerate(zip(self.lines, self.kinds)):
            if kind == "marker" and i > 0:
                starts.append((i, None))
            elif kind == "content" and _indent(text) == 0 and not text.startswith(("-", "?")):
                m = _KEY.match(text)
                if m is None:
                    raise LutError(f"line {i + 1} is not a 'key: value' line at the top level: "
                                   f"{text[:60]!r}", self.source)
                key = m.group(1) if m.group(1) is not None else (
                    m.group(2).replace("''", "'") if m.group(2) is not None else m.group(3).strip())
                _, _, cut = _scan(text, 0, None, m.end())
                starts.append((i, (key, text[m.end():cut].strip())))
        out: List[Section] = []
        for k, (i, kv) in enumerate(starts):
            if kv is None:
                continue
            end = starts[k + 1][0] if k + 1 < len(starts) else len(self.lines)
            out.append(Section(kv[0], i, end, kv[1]))
        return out

    def section(self, key: str) -> Optional[Section]:
        found = [s for s in self.sections() if s.key == key]
        if len(found) > 1:
            raise LutError(f"top-level key {key!r} appears {len(found)} times", self.source)
        return found[0] if found else None

    def _existing(self, key: str) -> Section:
        sec = self.section(key)
        if sec is None:
            raise LutError(f"the config has no top-level '{key}'", self.source)
        return sec

    def _key_end(self, line: int) -> int:
        """Column just after ``key:`` on top-level key line ``line``."""
        m = _KEY.match(self.lines[line])
        if m is None:
            raise LutError(f"line {line + 1} is not a 'key: value' line", self.source)
        return m.end()

    def _substantial(self, i: int, dash: int) -> bool:
        kind = self.kinds[i]
        if kind in ("content", "cont"):
            return True
        if kind == "scalar":
            return bool(self.lines[i].strip())
        return kind == "comment" and _indent(self.lines[i]) > dash

    def items(self, sec: Section) -> Tuple[int, List[Tuple[int, int]]]:
        """(dash column, [(first line, last line + 1)]) of a block sequence's items."""
        dashes = [i for i in range(sec.line + 1, sec.end)
                  if self.kinds[i] == "content" and _content_column(self.lines[i])[0] > _indent(self.lines[i])]
        if not dashes:
            return -1, []
        col = min(_indent(self.lines[i]) for i in dashes)
        starts = [i for i in dashes if _indent(self.lines[i]) == col]
        spans = []
        for k, first in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else sec.end
            last = first
            for i in range(first, stop):
                if self._substantial(i, col):
                    last = i
            spans.append((first, last + 1))
        # any other content in the section would be something we do not understand
        covered: Set[int] = set()
        for a, b in spans:
            covered.update(range(a, b))
        for i in range(sec.line + 1, sec.end):
            if self.kinds[i] in ("content", "cont") and i not in covered:
                raise LutError(f"line {i + 1}: unexpected content in '{sec.key}': "
                               f"{self.lines[i].strip()[:60]!r}", self.source)
        return col, spans

    def style(self, sec: Section) -> str:
        """'block', 'empty' (no value), 'flow-empty' ([]), 'flow' ([...]) or 'scalar'."""
        v = sec.value
        if v in ("", "~", "null"):
            return "block" if self.items(sec)[1] else "empty"
        if re.fullmatch(r"\[\s*\]", v):
            return "flow-empty"
        if v.startswith("["):
            return "flow"
        return "scalar"

    # -- editing -------------------------------------------------------------------------------
    def _insert(self, at: int, lines: List[str], kind: str = "content") -> None:
        self.lines[at:at] = lines
        self.kinds[at:at] = [kind] * len(lines)
        self._classify()

    def _append_section(self, key: str, item_lines: List[str]) -> None:
        at = len(self.lines)
        while at > 0 and self.kinds[at - 1] == "marker" and self.lines[at - 1].startswith("..."):
            at -= 1
        block = ([""] if at and self.lines[at - 1].strip() else []) + [f"{key}:"]
        self._insert(at, block + ["  " + ln for ln in item_lines])

    def append_item(self, key: str, item_lines: List[str], flow_item: str) -> None:
        """Add an item at the end of sequence ``key`` (created at the end of the file if absent).

        ``item_lines``: the item in block style, first line starting ``- ``, no base indent;
        ``flow_item``: the same item on one line in flow style."""
        sec = self.section(key)
        if sec is None:
            self._append_section(key, item_lines)
            return
        style = self.style(sec)
        if style in ("empty", "flow-empty"):
            if style == "flow-empty":
                text = self.lines[sec.line]
                end = self._key_end(sec.line)
                self.lines[sec.line] = text[:end].rstrip() + re.sub(r"^\s*\[\s*\]", "", text[end:], count=1)
            elif sec.value:  # "~" or "null"
                text = self.lines[sec.line]
                end = self._key_end(sec.line)
                self.lines[sec.line] = text[:end].rstrip() + re.sub(r"^\s*(~|null)", "", text[end:], count=1)
            self._insert(sec.line + 1, ["  " + ln for ln in item_lines])
        elif style == "block":
            col, spans = self.items(sec)
            # follow the list's layout: OCIO separates colour spaces with a blank line
            gap = [""] if len(spans) > 1 and not self.lines[spans[1][0] - 1].strip() else []
            self._insert(spans[-1][1], gap + [" " * col + ln for ln in item_lines])
        elif style == "flow":
            self._insert_in_flow(sec, flow_item)
        else:
            raise LutError(f"'{key}' holds {sec.value[:40]!r}, not a list", self.source)

    def _insert_in_flow(self, sec: Section, flow_item: str) -> None:
        line, col = self._flow_close(sec)
        text = self.lines[line]
        before = text[:col].rstrip()
        sep = "" if before.endswith("[") else ", "
        self.lines[line] = before + sep + flow_item + text[col:]
        self._classify()

    def _flow_close(self, sec: Section) -> Tuple[int, int]:
        """(line, column) of the ``]`` closing a flow sequence value."""
        first = True
        flow, quote = 0, None
        for i in range(sec.line, sec.end):
            text = self.lines[i]
            start = self._key_end(i) if first else 0
            first = False
            k = start
            while k < len(text):
                ch = text[k]
                if quote:
                    if quote == '"' and ch == "\\":
                        k += 2
                        continue
                    if ch == quote:
                        quote = None
                elif ch == "#" and k > 0 and text[k - 1] in " \t":
                    break
                elif ch in "\"'" and (k == 0 or text[k - 1] in " \t:[{,"):
                    quote = ch
                elif ch in "[{":
                    flow += 1
                elif ch in "]}":
                    flow -= 1
                    if flow == 0:
                        return i, k
                k += 1
        raise LutError(f"cannot find the end of the '{sec.key}' list", self.source)

    def replace_item(self, key: str, index: int, item_lines: List[str]) -> None:
        """Replace item ``index`` of block sequence ``key`` in place (comments around it stay)."""
        sec = self.section(key)
        if sec is None or self.style(sec) != "block":
            raise LutError(f"'{key}' is not written as a block list; cannot replace an entry in it "
                           "(edit it by hand, or write the list one '- ' item per line)", self.source)
        col, spans = self.items(sec)
        a, b = spans[index]
        self.lines[a:b] = [" " * col + ln for ln in item_lines]
        self.kinds[a:b] = ["content"] * len(item_lines)
        self._classify()

    def item_text(self, key: str, index: int) -> str:
        """The lines of item ``index`` of block sequence ``key``, joined."""
        sec = self._existing(key)
        col, spans = self.items(sec)
        a, b = spans[index]
        return "\n".join(self.lines[a:b])

    def count_items(self, key: str) -> Optional[int]:
        """Number of items of sequence ``key`` (None when it is not a block/empty sequence)."""
        sec = self.section(key)
        if sec is None:
            return 0
        style = self.style(sec)
        if style in ("empty", "flow-empty"):
            return 0
        if style == "block":
            return len(self.items(sec)[1])
        return None

    def add_search_path(self, entries: List[str], joined_after: str, scalar: Callable[[str], str],
                        replace_empty: bool = False) -> None:
        """Append ``entries`` to ``search_path`` (a list, or an ``a:b`` string); ``joined_after``
        is the whole new value as one string (for the string form and for an empty search path,
        ``replace_empty``), ``scalar`` quotes a YAML scalar."""
        sec = self.section("search_path")
        if sec is None:
            self._append_section_scalar("search_path", scalar(joined_after))
            return
        style = self.style(sec)
        if style == "block" and not replace_empty:
            col, spans = self.items(sec)
            self._insert(spans[-1][1], [" " * col + "- " + scalar(e) for e in entries])
        elif style == "flow" and not replace_empty:
            for e in entries:
                self._insert_in_flow(self._existing("search_path"), scalar(e))
        else:
            if any(self.kinds[i] in ("content", "cont", "scalar") for i in range(sec.line + 1, sec.end)):
                raise LutError("search_path spans several lines; add the folder by hand", self.source)
            text = self.lines[sec.line]
            end = self._key_end(sec.line)
            _, _, cut = _scan(text, 0, None, end)
            comment = text[cut:]
            self.lines[sec.line] = (text[:end].rstrip() + " " + scalar(joined_after)
                                    + ((" " + comment) if comment else ""))
            self._classify()

    def _append_section_scalar(self, key: str, value: str) -> None:
        at = len(self.lines)
        self._insert(at, ([""] if at and self.lines[at - 1].strip() else []) + [f"{key}: {value}"])

    def render(self) -> str:
        body = self.newline.join(self.lines) + self.newline  # always end with a newline
        return ("\ufeff" if self.bom else "") + body

    def comments(self) -> List[str]:
        return [ln.strip() for ln, k in zip(self.lines, self.kinds) if k == "comment"]


_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9 _.()/+-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when unambiguous, otherwise double-quoted."""
    v = str(value)
    if (v and _PLAIN.match(v) and not v.endswith(" ") and v.lower() not in _RESERVED
            and not re.fullmatch(r"[-+]?(\d[\d_]*\.?\d*([eE][-+]?\d+)?|\.\d+|\.inf|\.nan)", v, re.I)):
        return v
    out = []
    for ch in v:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'

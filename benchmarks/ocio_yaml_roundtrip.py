"""`lutplug ocio add`'s text editor (lutplug.hosts.ocio.yamltext) against ruamel.yaml's round trip.

    PYTHONPATH=<dir with ruamel.yaml> .venv/bin/python benchmarks/ocio_yaml_roundtrip.py \
        [--only NAME] [--size 9] [--out benchmarks/results]

ruamel.yaml is not a lutplug dependency: install it anywhere importable, e.g.
``.venv/bin/pip install --target /tmp/ruamel_site ruamel.yaml`` and ``PYTHONPATH=/tmp/ruamel_site``.

Configs: every OCIO built-in config (``PyOpenColorIO.BuiltinConfigRegistry()``, serialised with
``Config.serialize()`` as ``lutplug ocio add ocio://…`` reads them) and every config the OCIO host
tests edit (tests/test_ocio_host_helpers.COMMENTED, the fuzz seeds, the inline configs of
tests/test_ocio_host_edit.py and tests/test_ocio_host_clients.py, ocio/example/config.ocio).

For each config and each entry kind it accepts (look, colour space, named transform) the bundled
grade ocio/example/grades/cool_cinema.nlut is added

* by ``lutplug.hosts.ocio.edit.plan_edit`` — the production path: the scanner's text edit,
  then lutplug's OpenColorIO verification;
* by ruamel.yaml: ``YAML(typ='rt')``, ``preserve_quotes``, ``width`` 4096 (never folds),
  ``explicit_start`` when the file has ``---``, CRLF line breaks and a BOM put back as the input
  had them, and the indentation that round-trips that config best, chosen per config from
  ``indent(mapping=2, sequence=4, offset=2)`` (OCIO's own layout) and ``(2, 2, 0)``. The same
  entry (the production block text, parsed by ruamel) is appended to the same list, the same
  search-path change made; the result goes through the same verification (``verify``).

Measured per config: lines a plain ruamel load+dump (no edit) changes; for each edit the lines
outside the new entry that differ from the input (input lines removed or altered plus lines added
elsewhere than the entry's own block; the intended ``search_path`` change excluded); whether
OpenColorIO loads the result and lutplug's verification (other entries unchanged, comments kept,
files resolve, the entry reproduces the grade, still validates) passes.

Writes ocio_yaml_roundtrip.json and ocio_yaml_roundtrip.md into ``--out``. A run with nothing to
measure (no ruamel.yaml, no OpenColorIO, ``--only`` matching no config) stops with exit status 2
before anything is written (benchmarks/guard.py); tests/test_ocio_yaml_benchmark.py checks that,
and the measurement itself on two small configs when ruamel.yaml is importable.
"""
from __future__ import annotations

import argparse
import difflib
import io
import json
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from guard import refuse, require  # noqa: E402

from lutplug.errors import LutError  # noqa: E402
from lutplug.hosts.ocio import ociolib  # noqa: E402
from lutplug.hosts.ocio.edit import EntryEdit, apply_entry, lut_folder, plan_edit  # noqa: E402
from lutplug.hosts.ocio.entries import (SECTIONS, choose_process_space, describe,  # noqa: E402
                                        entry_text, uses_categories)
from lutplug.hosts.ocio.grades import grade_label, load_grade, write_cube  # noqa: E402
from lutplug.hosts.ocio.verification import verify  # noqa: E402
from lutplug.hosts.ocio.yamltext import ConfigText, scalar  # noqa: E402

GRADE = REPO / "ocio" / "example" / "grades" / "cool_cinema.nlut"
KINDS = ("look", "colorspace", "named-transform")
NAME = {"look": "Bench Look", "colorspace": "Bench Graded", "named-transform": "Bench NT"}
SPI1D = "Version 1\nFrom 0 1\nLength 2\nComponents 1\n{\n0\n1\n}\n"
INDENTS = {"m2 s4 o2": (2, 4, 2), "m2 s2 o0": (2, 2, 0)}


# -- the configs ------------------------------------------------------------------------------------

def configs() -> List[Dict[str, Any]]:
    """[{name, text, process_space, files: {relative path: text}, copy: folder or None}]."""
    import PyOpenColorIO as ocio

    from tests.fuzz.targets import _CONFIG, _CONFIG_V1
    from tests.test_ocio_host_helpers import COMMENTED

    out: List[Dict[str, Any]] = []
    for name in ocio.BuiltinConfigRegistry():
        out.append({"name": f"ocio://{name}", "group": "built-in", "process_space": "ACEScct",
                    "text": ocio.Config.CreateFromBuiltinConfig(name).serialize()})

    def test(name: str, text: str, ps: str, files: Optional[Dict[str, str]] = None,
             copy: Optional[Path] = None) -> None:
        out.append({"name": name, "group": "tests", "text": text, "process_space": ps,
                    "files": files or {}, "copy": copy})

    test("helpers COMMENTED", COMMENTED, "cct", {"luts/.keep": ""})
    test("helpers COMMENTED + FileTransform", COMMENTED.replace(
        "transform: !<ExponentTransform> {value: [1.1, 1.1, 1.1, 1]}",
        "transform: !<FileTransform> {src: show.spi1d}"), "cct", {"luts/show.spi1d": SPI1D})
    test("fuzz _CONFIG", _CONFIG, "ACEScct")
    test("fuzz _CONFIG_V1", _CONFIG_V1, "ACEScct")
    test("edit: CRLF", "ocio_profile_version: 2\r\nroles: {default: a}\r\n# c\r\ncolorspaces:\r\n"
         "  - !<ColorSpace> {name: a}\r\n", "a")
    test("edit: BOM, zero-indented list", "\ufeffocio_profile_version: 2\nroles: {default: a}\n"
         "colorspaces:\n- !<ColorSpace> {name: a}\n", "a")
    looks = {"looks: []": "looks: []\n", "looks: (null)": "looks:\n", "no looks": "",
             "looks: [flow]  # comment": "looks: [!<Look> {name: x, process_space: a, transform: "
                                         "!<MatrixTransform> {}}]  # one\n",
             "looks: block of flow items": "looks:\n  - !<Look> {name: x, process_space: a, "
                                           "transform: !<MatrixTransform> {}}\n"}
    for label, part in looks.items():
        test(f"edit: {label}", "ocio_profile_version: 2\nroles: {default: a}\n" + part +
             "colorspaces:\n  - !<ColorSpace> {name: a}\n", "a")
    test("edit: data-space role", "ocio_profile_version: 2\nsearch_path: luts\nroles: {default: a, "
         "color_timing: raw}\ndisplays: {sRGB: [!<View> {name: Raw, colorspace: a}]}\ncolorspaces:\n"
         "  - !<ColorSpace> {name: a}\n  - !<ColorSpace> {name: raw, aliases: [ACEScct], isdata: true}\n",
         "a")
    test("edit: empty search_path", "ocio_profile_version: 2\nsearch_path: \"\"\nroles: {default: a, "
         "color_timing: a}\ndisplays: {sRGB: [!<View> {name: Raw, colorspace: a}]}\n"
         "colorspaces:\n  - !<ColorSpace> {name: a}\n  - !<ColorSpace> {name: b, "
         "from_scene_reference: !<FileTransform> {src: curve.spi1d}}\n", "a", {"curve.spi1d": SPI1D})
    test("edit: OCIO v1", "ocio_profile_version: 1\nsearch_path: luts\nroles:\n  default: lin\n"
         "  color_timing: lin\ndisplays:\n  sRGB:\n    - !<View> {name: Raw, colorspace: lin}\n"
         "colorspaces:\n  - !<ColorSpace>\n    name: lin\n    isdata: false\n", "lin", {"luts/.keep": ""})
    renamed = re.sub(r"\bACEScct\b", "Grading Log",
                     ocio.Config.CreateFromBuiltinConfig("studio-config-v1.0.0_aces-v1.3_ocio-v2.1").serialize())
    test("edit: studio v1.0 renamed", renamed, "Grading Log")
    test("edit: missing file", "ocio_profile_version: 2\nsearch_path: luts\nroles: {default: a}\n"
         "displays: {d: [!<View> {name: v, colorspace: a}]}\ncolorspaces:\n  - !<ColorSpace> {name: a, "
         "from_scene_reference: !<FileTransform> {src: nothere.cube}}\n", "a")
    test("clients: pack base", "ocio_profile_version: 2\nsearch_path: luts\nroles: {default: a, "
         "color_timing: a}\ndisplays: {sRGB: [!<View> {name: Raw, colorspace: a}]}\n"
         "colorspaces:\n  - !<ColorSpace> {name: a}\n  - !<ColorSpace> {name: b, "
         "from_scene_reference: !<FileTransform> {src: curve.spi1d}}\n", "a",
         {"luts/curve.spi1d": SPI1D})
    example = REPO / "ocio" / "example"
    test("ocio/example/config.ocio", (example / "config.ocio").read_text(encoding="utf-8"),
         "ACEScct", copy=example)
    return out


# -- ruamel.yaml -----------------------------------------------------------------------------------

def make_yaml(text: str, indent: Tuple[int, int, int]) -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.allow_unicode = True
    y.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    y.explicit_start = bool(re.match(r"(?:\s*#.*\n)*---", text))
    return y


def split_bom(text: str) -> Tuple[str, str, str]:
    """(BOM or "", body with \\n newlines, newline)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    newline = "\r\n" if "\r\n" in body else "\n"
    return bom, body.replace("\r\n", "\n"), newline


def ruamel_dump(y: Any, doc: Any, bom: str, newline: str) -> str:
    s = io.StringIO()
    y.dump(doc, s)
    return bom + s.getvalue().replace("\n", newline)


def ruamel_roundtrip(text: str, indent: Tuple[int, int, int]) -> str:
    bom, body, newline = split_bom(text)
    y = make_yaml(body, indent)
    return ruamel_dump(y, y.load(body), bom, newline)


def ruamel_edit(text: str, edit: EntryEdit, indent: Tuple[int, int, int]) -> str:
    """``edit`` made by loading ``text`` with ruamel.yaml, changing the data, dumping it."""
    from ruamel.yaml.comments import CommentedSeq

    bom, body, newline = split_bom(text)
    y = make_yaml(body, indent)
    doc = y.load(body)
    item = y.load("\n".join(edit.block))[0]
    if edit.search_path:
        current = doc.get("search_path")
        if isinstance(current, list) and edit.search_path_kept:
            current.extend(edit.search_path)
        else:
            doc["search_path"] = edit.search_path_value
    seq = doc.get(edit.section)
    if edit.replace_index is not None:
        seq[edit.replace_index] = item
    elif seq is None:
        doc[edit.section] = CommentedSeq([item])
    else:
        seq.append(item)
    return ruamel_dump(y, doc, bom, newline)


# -- measuring ---------------------------------------------------------------------------------------

def changed_lines(before: str, after: str) -> int:
    """Lines (newlines included) removed plus lines added by ``before`` → ``after``."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return sum((i2 - i1) + (j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")


def outside_entry(before: str, after: str, name: str, edit: EntryEdit) -> Dict[str, Any]:
    """Lines changed outside the new entry: input lines removed or altered, and added lines
    outside the hunk holding the entry. Not counted: the intended search-path change (its line,
    a list item it adds, a blank line separating it) and the list's own key line where the entry
    must go (``looks: []`` → ``looks:``; a flow list ``[a]`` → ``[a, entry]``, nothing else on
    that line changed)."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    sp_added = {("- " + scalar(e)) for e in edit.search_path}
    key = edit.section + ":"

    def search_path_line(line: str) -> bool:
        s = line.strip()
        return bool(edit.search_path) and (s.startswith("search_path:") or s in sp_added)

    def key_line_kept(old: str, added: List[str]) -> bool:
        """``old`` (the list's key line) became one of ``added`` only by taking the entry."""
        if not old.startswith(key):
            return False
        bare = re.sub(r":\s*(\[\s*\]|~|null)?\s*$", ":", old.rstrip("\r\n"))
        for new in added:
            n = new.rstrip("\r\n")
            if n == bare or n.replace(", " + edit.flow, "").replace(edit.flow, "") == old.rstrip("\r\n"):
                return True
        return False

    name_re = re.compile(r"(^|[\s{,])name: " + re.escape(scalar(name)) + r"\s*[,}\n\r]")
    entry_hunks = [k for k, (tag, _, _, j1, j2) in enumerate(ops)
                   if tag in ("insert", "replace") and any(name_re.search(ln) for ln in b[j1:j2])]
    entry = entry_hunks[0] if entry_hunks else -1
    removed = added = 0
    examples: List[str] = []
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            continue
        old, new = a[i1:i2], b[j1:j2]
        sp_hunk = any(search_path_line(ln) for ln in old + new)
        gone = [ln for ln in old if not search_path_line(ln) and not (sp_hunk and not ln.strip())
                and not (k == entry and key_line_kept(ln, new))]
        extra = [] if k == entry else [ln for ln in new if not search_path_line(ln)
                                       and not (sp_hunk and not ln.strip())]
        removed += len(gone)
        added += len(extra)
        examples += ["-" + ln.rstrip("\r\n") for ln in gone] + ["+" + ln.rstrip("\r\n") for ln in extra]
    return {"removed_or_altered": removed, "added_elsewhere": added, "outside": removed + added,
            "entry_found": entry >= 0, "examples": examples[:8]}


def check(base_text: str, old_home: Any, here: Any, new_text: str, out: Path, nlut: Any,
          kind: str, name: str, ps: Optional[str], size: int, edit: EntryEdit) -> Dict[str, Any]:
    """Does OpenColorIO load ``new_text``, and does lutplug's verification pass?"""
    def why(exc: Exception) -> str:
        return str(exc).replace(str(out), "config.ocio")[:300]

    try:
        ociolib.config_from_text(new_text, out.parent, str(out))
    except LutError as exc:
        return {"loads": False, "verified": False, "error": why(exc)}
    try:
        max_abs = verify(base_text, old_home, here, new_text, out, nlut, kind, name, ps, size,
                         edit.search_path, "")
        return {"loads": True, "verified": True, "max_abs": max_abs}
    except LutError as exc:
        return {"loads": True, "verified": False, "error": why(exc)}


def prepare(text: str, out: Path, nlut: Any, kind: str, name: str, ps: str,
            size: int) -> Tuple[Any, Any, EntryEdit, Optional[str]]:
    """What ``plan_edit`` builds before it edits the text (the same calls): (config read in
    place, config read at ``out``, the edit, process space). The cube is written."""
    old_home = ociolib.config_from_text(text, out.parent, str(out))
    here = old_home
    v1 = ociolib.config_version(here)[0] < 2
    process_space, _ = choose_process_space(here, nlut, ps, kind)
    reference = ociolib.reference_space(here) if kind == "colorspace" else None
    folder, sp_entries = lut_folder(here, out.parent.resolve(), None)
    folder.mkdir(parents=True, exist_ok=True)
    cube, _ = write_cube(nlut, size, folder)
    desc = describe(nlut, size, process_space, grade_label(nlut, name), kind)
    cats = ["file-io"] if not v1 and uses_categories(here, kind) else []
    block, flow = entry_text(kind, name, cube.name, process_space, desc, reference, v1, cats,
                             nlut.interpolation)
    edit = EntryEdit(SECTIONS[kind], block, flow, sp_entries,
                     [e for e in here.getSearchPaths() if e.strip()])
    return old_home, here, edit, process_space


def stage(cfg: Dict[str, Any], root: Path) -> Path:
    """A fresh folder holding the config's support files; returns the config path to write."""
    if root.exists():
        shutil.rmtree(root)
    if cfg.get("copy"):
        shutil.copytree(cfg["copy"], root)
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in cfg.get("files", {}).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    return root / "config.ocio"


def measure(cfg: Dict[str, Any], nlut: Any, size: int, work: Path) -> Dict[str, Any]:
    text = cfg["text"]
    rt = {label: changed_lines(text, ruamel_roundtrip(text, ind)) for label, ind in INDENTS.items()}
    best = min(rt, key=lambda k: rt[k])
    row: Dict[str, Any] = {"config": cfg["name"], "group": cfg["group"],
                           "lines": len(text.splitlines()), "ruamel_roundtrip_changed": rt,
                           "ruamel_indent": best, "kinds": {}}
    for kind in KINDS:
        name = NAME[kind]
        out = stage(cfg, work / "cfg")
        res: Dict[str, Any] = {}
        t0 = time.perf_counter()
        try:
            plan = plan_edit(text, str(out), out.parent.resolve(), out, nlut, name, kind,
                             cfg["process_space"], size)
        except LutError as exc:
            row["kinds"][kind] = {"refused": str(exc).replace(str(out), "config.ocio")[:200]}
            continue
        res["yamltext_s"] = round(time.perf_counter() - t0, 3)
        old_home, here, edit, ps = prepare(text, out, nlut, kind, name, cfg["process_space"], size)
        same = ConfigText(text, str(out))
        apply_entry(same, edit)
        assert same.render() == plan.text, "prepare() no longer matches plan_edit()"
        res["yamltext"] = outside_entry(text, plan.text, name, edit)
        res["yamltext"].update(loads=True, verified=True, max_abs=plan.max_abs)
        t0 = time.perf_counter()
        try:
            new = ruamel_edit(text, edit, INDENTS[best])
        except Exception as exc:  # noqa: BLE001 - ruamel refused the file
            res["ruamel"] = {"error": f"{type(exc).__name__}: {exc}"[:300], "loads": False,
                             "verified": False, "outside": None}
        else:
            res["ruamel_s"] = round(time.perf_counter() - t0, 3)
            res["ruamel"] = outside_entry(text, new, name, edit)
            res["ruamel"].update(check(text, old_home, here, new, out, nlut, kind, name, ps, size, edit))
        row["kinds"][kind] = res
    return row


# -- report ------------------------------------------------------------------------------------------

def verdict(r: Dict[str, Any]) -> str:
    if r.get("outside") is None:
        return "error"
    ok = "verified" if r.get("verified") else ("loads, verification fails" if r.get("loads") else "OCIO cannot load")
    return f"{r['outside']} ({ok})"


def markdown(rows: List[Dict[str, Any]], meta: Dict[str, Any]) -> str:
    lines = ["# OCIO config editing: lutplug's text scanner vs ruamel.yaml round trip", "",
             f"Command: `{meta['command']}`. OpenColorIO {meta['ocio']}, ruamel.yaml {meta['ruamel']}, "
             f"Python {meta['python']}; grade `{meta['grade']}` baked at {meta['size']}^3.", "",
             "Each cell: lines outside the new entry that differ from the input (input lines removed "
             "or altered + lines added elsewhere; the intended `search_path` change excluded), then "
             "whether lutplug's OpenColorIO verification of the result passes (new entry present and "
             "reproducing the grade, other entries unchanged, comments kept, files resolving, still "
             "validating). \"round trip\": lines a plain ruamel load + dump changes, with the "
             "indentation chosen for that config. — : the kind does not apply (refused before "
             "editing, by both).", "",
             "| config | lines | ruamel round trip | indent | look: scanner | look: ruamel | "
             "colour space: scanner | colour space: ruamel | named transform: scanner | named transform: ruamel |",
             "|---|---:|---:|---|---|---|---|---|---|---|"]
    for row in rows:
        cells = [row["config"], str(row["lines"]), str(row["ruamel_roundtrip_changed"][row["ruamel_indent"]]),
                 row["ruamel_indent"]]
        for kind in KINDS:
            k = row["kinds"][kind]
            if "refused" in k:
                cells += ["—", "—"]
            else:
                cells += [verdict(k["yamltext"]), verdict(k["ruamel"])]
        lines.append("| " + " | ".join(cells) + " |")
    s = meta["summary"]
    lines += ["", "## Summary", "",
              f"* edits measured: {s['edits']} ({s['configs']} configs: {s['builtin']} built-in, "
              f"{s['tests']} from the tests)",
              f"* scanner: {s['yamltext_identical']} of {s['edits']} byte-identical outside the entry, "
              f"{s['yamltext_verified']} verified",
              f"* ruamel.yaml: {s['ruamel_identical']} of {s['edits']} byte-identical outside the entry, "
              f"{s['ruamel_verified']} verified; {s['ruamel_outside_lines']} lines changed outside "
              f"the entries in all; plain round trip changes {s['roundtrip_changed_configs']} of "
              f"{s['configs']} configs",
              f"* built-in configs: ruamel changes {s['builtin_ruamel_lines']} lines outside the "
              f"entries over {s['builtin_edits']} edits; the scanner {s['builtin_yamltext_lines']}",
              "", "## What ruamel.yaml changed (first lines per config)", ""]
    for row in rows:
        ex: List[str] = []
        for kind in KINDS:
            k = row["kinds"][kind]
            if "ruamel" in k:
                ex += k["ruamel"].get("examples") or []
                if k["ruamel"].get("error"):
                    ex.append("error: " + k["ruamel"]["error"])
        if ex:
            uniq = list(dict.fromkeys(ex))[:6]
            lines.append(f"* {row['config']}: " + "; ".join(f"`{e[:200]}`" for e in uniq))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="only configs whose name contains this")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    try:
        import ruamel.yaml
    except ImportError:
        refuse("ruamel.yaml is not importable (pip install --target /tmp/ruamel_site ruamel.yaml, "
               "then PYTHONPATH=/tmp/ruamel_site)")
    try:
        import PyOpenColorIO as ocio
    except ImportError:
        refuse("OpenColorIO is not installed (pip install opencolorio)")

    ocio.SetLoggingLevel(ocio.LOGGING_LEVEL_NONE)  # the damaged configs would flood stderr
    chosen = require((c for c in configs() if not args.only or args.only in c["name"]),
                     "configs", f"none matches --only {args.only!r}" if args.only else "")
    nlut = load_grade(GRADE)
    rows = []
    with tempfile.TemporaryDirectory(prefix="lutplug-yaml-bench-") as tmp:
        for cfg in chosen:
            t0 = time.perf_counter()
            row = measure(cfg, nlut, args.size, Path(tmp))
            print(f"{cfg['name']}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            rows.append(row)
    edits = [(row, k) for row in rows for k in row["kinds"].values() if "refused" not in k]
    ident = lambda r: r.get("outside") == 0  # noqa: E731
    summary = {
        "configs": len(rows), "builtin": sum(r["group"] == "built-in" for r in rows),
        "tests": sum(r["group"] == "tests" for r in rows), "edits": len(edits),
        "yamltext_identical": sum(ident(k["yamltext"]) for _, k in edits),
        "yamltext_verified": sum(bool(k["yamltext"].get("verified")) for _, k in edits),
        "ruamel_identical": sum(ident(k["ruamel"]) for _, k in edits),
        "ruamel_verified": sum(bool(k["ruamel"].get("verified")) for _, k in edits),
        "ruamel_outside_lines": sum(k["ruamel"].get("outside") or 0 for _, k in edits),
        "roundtrip_changed_configs": sum(r["ruamel_roundtrip_changed"][r["ruamel_indent"]] > 0 for r in rows),
        "builtin_edits": sum(r["group"] == "built-in" for r, _ in edits),
        "builtin_ruamel_lines": sum(k["ruamel"].get("outside") or 0 for r, k in edits if r["group"] == "built-in"),
        "builtin_yamltext_lines": sum(k["yamltext"].get("outside") or 0 for r, k in edits if r["group"] == "built-in"),
    }
    meta = {"command": "PYTHONPATH=/tmp/ruamel_site .venv/bin/python benchmarks/ocio_yaml_roundtrip.py"
                       + (f" --only {args.only!r}" if args.only else "")
                       + (f" --size {args.size}" if args.size != 9 else ""),
            "ocio": ocio.__version__, "ruamel": ruamel.yaml.__version__,
            "python": platform.python_version(), "grade": str(GRADE.relative_to(REPO)),
            "size": args.size, "summary": summary}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ocio_yaml_roundtrip.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    (args.out / "ocio_yaml_roundtrip.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))


if __name__ == "__main__":
    main()

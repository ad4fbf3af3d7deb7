"""The documentation's commands run as written.

Every command block of README.md, ocio/README.md, nuke/README.md, benchmarks/results/README.md
and docs/*.md (indented or fenced
shell blocks, and ```python blocks) is parsed. Two checks:

* statically, for every command: the program it calls exists after the README's set-up — a path
  such as ``.venv/bin/lutplug`` (bare ``lutplug`` or ``ociocheck`` is not on PATH after
  ``bash scripts/setup.sh``: "command not found"), a script or module that exists;
* by running them, section by section (the blocks under one heading share a fresh folder laid
  out like the repository root, with ``../shared/luts`` beside it), with a PATH that does not
  hold the virtual environment: each command must exit 0. Files a section only names
  (``grade.cube``: a 4³ shared LUT; ``grade.nlut``: that LUT compressed; a trust store, an
  archive, a studio config) are made first (:data:`PLACEHOLDERS`); ``lutplug compress`` gets a
  hidden ``--recipe`` with fewer training steps (same search, shorter), and commands that cannot
  run here are skipped for the reason in :data:`SKIPS`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "ocio/README.md", "nuke/README.md", "benchmarks/results/README.md",
        *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]

#: A 4³ LUT of the shared corpus: compresses in seconds (no network to train).
TINY_LUT = "colour-test_resolve_LogC_Video.cube"
#: Training overrides for ``lutplug compress`` in these runs: the same size search, fewer steps.
FAST_RECIPE = {"adam_steps": 300, "qat_steps": 30}
#: Programs a documented command may call by bare name (shell built-ins and coreutils).
SHELL_WORDS = {"bash", "sh", "cd", "mkdir", "export", "echo", "cp", "mv", "ls", "cat", "rm", "nice", "env"}
#: First words that make a block a command block (else it is data: output, a config, a store).
COMMAND_WORDS = SHELL_WORDS | {"lutplug", "python", "python3", "pip", "pytest", "jupyter", "sudo",
                               "ociocheck", "ocioconvert", "ocioarchive", "oiiotool", "nuke", "gimp"}

#: Commands not run, by a pattern of their text, and why.
SKIPS: List[Tuple[str, str]] = [
    (r"^bash scripts/setup\.sh", "installs system and Python packages: these tests run in the environment "
     "it builds (`lutplug demo` runs in tests/test_cli.py::test_demo_runs, pytest is this run)"),
    (r"\bjupyter lab\b", "starts a JupyterLab server (tests/test_notebooks.py executes the notebooks)"),
    (r"-m tests\.fuzz\.run", "the fuzz job: minutes, and it rewrites benchmarks/results/fuzz.*"),
    (r"\bbenchmarks/\w+\.py", "a benchmark: minutes to hours, and it rewrites the committed results in "
     "benchmarks/results (tests/test_benchmarks_guard.py checks that each refuses an empty run)"),
]


@dataclasses.dataclass
class Command:
    doc: str
    section: str
    line: int
    text: str

    def where(self) -> str:
        return f"{self.doc}:{self.line} ({self.section})"


@dataclasses.dataclass
class Block:
    doc: str
    section: str
    line: int
    kind: str  # "shell", "python" or "data"
    lines: List[Tuple[int, str]]

    def commands(self) -> List[Command]:
        """The block's logical command lines (backslash continuations joined, comments dropped)."""
        out: List[Command] = []
        pending: Optional[Tuple[int, str]] = None
        for number, text in self.lines:
            if pending is not None:
                number, text = pending[0], pending[1] + " " + text.strip()
                pending = None
            if text.rstrip().endswith("\\"):
                pending = (number, text.rstrip()[:-1].rstrip())
                continue
            if text.strip() and not text.strip().startswith("#"):
                out.append(Command(self.doc, self.section, number, text.strip()))
        return out

    def source(self) -> str:
        return "\n".join(text for _, text in self.lines) + "\n"


FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+")


def parse(doc: str) -> List[Block]:
    """The code blocks of markdown file ``doc`` (relative to the repository)."""
    lines = (REPO / doc).read_text(encoding="utf-8").splitlines()
    blocks: List[Block] = []
    section, blank_before, content_indent, i = "(top)", True, 0, 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            indent, marker, lang = fence.groups()
            body: List[Tuple[int, str]] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                body.append((i + 1, lines[i][len(indent):] if lines[i].startswith(indent) else lines[i]))
                i += 1
            kind = {"python": "python", "py": "python", "sh": "shell", "bash": "shell",
                    "shell": "shell", "console": "shell", "": "shell"}.get(lang.lower(), "data")
            blocks.append(_classified(Block(doc, section, body[0][0] if body else i, kind, body)))
            i += 1
            blank_before = True
            continue
        if not line.strip():
            blank_before, i = True, i + 1
            continue
        indent = len(line) - len(line.lstrip())
        if blank_before and indent >= content_indent + 4:
            base, body = content_indent + 4, []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) >= base):
                body.append((i + 1, lines[i][base:]))
                i += 1
            while body and not body[-1][1].strip():
                body.pop()
            blocks.append(_classified(Block(doc, section, body[0][0], "shell", body)))
            blank_before = True
            continue
        if line.startswith("#"):
            section, content_indent = line.lstrip("#").strip(), 0
        else:
            item = LIST_ITEM.match(line)
            if item:
                content_indent = len(item.group(0))
            elif blank_before:
                content_indent = indent
        blank_before = False
        i += 1
    return blocks


def _words(text: str) -> List[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def _classified(block: Block) -> Block:
    if block.kind != "shell":
        return block
    commands = block.commands()
    if not commands:
        return dataclasses.replace(block, kind="data")
    words = [w for w in _words(commands[0].text) if not re.match(r"^\w+=", w)] or ["export"]
    first = words[0]
    if first in COMMAND_WORDS or "/" in first:
        return block
    return dataclasses.replace(block, kind="data")


def all_blocks() -> List[Block]:
    return [b for doc in DOCS for b in parse(doc)]


def all_commands() -> List[Command]:
    return [c for b in all_blocks() if b.kind == "shell" for c in b.commands()]


@pytest.fixture(scope="module")
def venv() -> Path:
    """The repository's .venv, which the documented commands call; skips without one."""
    path = REPO / ".venv"
    if not (path / "bin" / "lutplug").exists():
        pytest.skip("no .venv/bin/lutplug: the documented commands run after `bash scripts/setup.sh`")
    return path


def skip_reason(command: Command) -> Optional[str]:
    for pattern, reason in SKIPS:
        if re.search(pattern, command.text):
            return reason
    return None


# ------------------------------------------------------------------------------------ static checks

def test_the_parser_finds_the_documented_commands():
    texts = {c.text.split("#")[0].strip() for c in all_commands()}
    for expected in [".venv/bin/lutplug keygen -o studio.key",
                     ".venv/bin/ociocheck -i show/config.ocio",
                     ".venv/bin/lutplug nuke gizmo GRADE.nlut -o Grade.gizmo",
                     "bash scripts/setup.sh && .venv/bin/lutplug demo"]:
        assert expected in texts, f"{expected!r} not found among the parsed commands"
    joined = [c for c in all_commands() if c.text.startswith(".venv/bin/lutplug compress ../shared/luts/")]
    assert joined and "--output-space" in joined[0].text  # continuation lines joined
    kinds = {(b.doc, b.kind) for b in all_blocks()}
    assert ("README.md", "python") in kinds and ("ocio/README.md", "python") in kinds
    data = [b for b in all_blocks() if b.kind == "data"]
    assert any("\nadded look 'Cool Cinema'" in b.source() for b in data)  # printed output is not run
    assert any("ed25519:" in b.source() for b in data)  # nor a trust store


def _program_problem(words: List[str]) -> Optional[str]:
    """Why the simple command ``words`` would not run after the README's set-up, or None."""
    while words and re.match(r"^\w+=", words[0]):
        words = words[1:]
    if words[:1] == ["nice"]:
        words = words[1:]
        while words and words[0].startswith("-"):
            words = words[2:] if words[0] == "-n" else words[1:]
    if not words:
        return None
    program = words[0]
    if "/" not in program:
        if program in SHELL_WORDS:
            if program in ("bash", "sh") and len(words) > 1 and not (REPO / words[1]).is_file():
                return f"{words[1]} does not exist"
            return None
        return (f"`{program}` is not on PATH after the README's set-up (command not found): "
                f"call .venv/bin/{program}")
    path = REPO / program
    if not (path.is_file() and os.access(path, os.X_OK)):
        return f"{program} does not exist or is not executable"
    if path.name.startswith("python") and len(words) > 1:
        if words[1] == "-m" and len(words) > 2:
            module = words[2]
            parts = module.split(".")
            local = REPO.joinpath(*parts)
            if not (local.with_suffix(".py").is_file() or (local / "__main__.py").is_file()):
                import importlib.util

                if importlib.util.find_spec(module) is None:
                    return f"module {module} not found"
        elif words[1].endswith(".py") and not (REPO / words[1]).is_file():
            return f"{words[1]} does not exist"
    return None


def test_every_documented_program_exists_after_the_readme_setup(venv):
    problems = []
    for command in all_commands():
        words = _words(command.text)
        simple: List[str] = []
        for w in words + ["&&"]:
            if w in ("&&", "||", ";", "|"):
                problem = _program_problem(simple) if simple else None
                if problem:
                    problems.append(f"{command.where()}: {command.text}\n    {problem}")
                simple = []
            else:
                simple.append(w)
    assert not problems, "documented commands that cannot run as written:\n" + "\n".join(problems)


def test_every_skip_reason_is_used():
    texts = [c.text for c in all_commands()]
    unused = [p for p, _ in SKIPS if not any(re.search(p, t) for t in texts)]
    assert not unused, f"skip rules matching no documented command: {unused}"


# ------------------------------------------------------------------------------------ running them

def _lutplug(root: Path, *args: str) -> None:
    r = subprocess.run([str(REPO / ".venv" / "bin" / "lutplug"), *args], cwd=root, capture_output=True,
                       text=True, timeout=300, env=_env())
    assert r.returncode == 0, f"preparing: lutplug {' '.join(args)}\n{r.stdout}\n{r.stderr}"


def _grade_nlut(root: Path, name: str) -> None:
    _lutplug(root, "compress", f"../shared/luts/{TINY_LUT}", "-o", name)


def _studio_config(root: Path, name: str) -> None:
    import PyOpenColorIO as ocio

    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ocio.Config.CreateFromBuiltinConfig("studio-config-v4.0.0_aces-v2.0_ocio-v2.5").serialize())


def _archive(root: Path, name: str) -> None:
    _grade_nlut(root, "packed.nlut")
    _lutplug(root, "ocio", "pack", "packed.nlut", "-o", name)


MAKERS: Dict[str, Callable[[Path, str], None]] = {
    "grade.cube": lambda root, name: shutil.copyfile(root.parent / "shared" / "luts" / TINY_LUT, root / name),
    "grade.nlut": _grade_nlut,
    "GRADE.nlut": _grade_nlut,
    "trust.txt": lambda root, name: (root / name).write_text("# the key `keygen -o studio.key` makes\n"
                                                               "studio  studio.key.pub\n"),
    "show.ocioz": _archive,
    "show/config.ocio": _studio_config,
}
#: Files a section's commands use but do not make (a reader has their own), made before it runs.
PLACEHOLDERS: Dict[Tuple[str, str], List[str]] = {
    ("README.md", "Quick tour"): ["grade.cube"],
    ("README.md", "In Python"): ["grade.cube"],
    ("README.md", "Hosts"): ["grade.nlut", "show/config.ocio"],
    ("README.md", "Security"): ["grade.nlut", "trust.txt", "show.ocioz"],
    ("ocio/README.md", "Adding a look pack to a studio config"): ["grade.cube", "show/config.ocio"],
    ("nuke/README.md", "Farm: standalone gizmos and pasteable nodes"): ["GRADE.nlut"],
    ("docs/web.md", "The demo page"): ["grade.nlut"],
}


def _env() -> Dict[str, str]:
    """The environment of a fresh shell: no virtual environment on PATH, no lutplug trust policy."""
    venv_bin = str(REPO / ".venv" / "bin")
    keep = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep)
            if p and os.path.realpath(p) != os.path.realpath(venv_bin) and ".venv" not in p]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LUTPLUG_", "VIRTUAL_ENV", "PYTHON")) and k != "PATH"}
    env["PATH"] = os.pathsep.join(keep or ["/usr/bin", "/bin"])
    return env


def _layout(tmp: Path, shared_luts: Path) -> Path:
    """A folder laid out like the repository root (links to the code and the venv, copies of the
    folders commands write into), with ../shared beside it."""
    root = tmp / "main"
    root.mkdir()
    (tmp / "shared").symlink_to(shared_luts.parent, target_is_directory=True)
    for name in (".venv", "lutplug", "scripts", "tests", "notebooks", "docs", "benchmarks"):
        (root / name).symlink_to(REPO / name)
    for name in ("ocio", "nuke"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _sections() -> List[Tuple[str, str]]:
    seen: Dict[Tuple[str, str], None] = {}
    for b in all_blocks():
        if b.kind in ("shell", "python"):
            seen[(b.doc, b.section)] = None
    return list(seen)


SECTIONS = _sections()


def test_placeholders_name_real_sections():
    stale = [key for key in PLACEHOLDERS if key not in SECTIONS]
    assert not stale, f"PLACEHOLDERS for sections that no longer exist: {stale}"


def _prepared(command: Command) -> str:
    text = command.text
    if re.search(r"\blutplug compress\b", text) and "--recipe" not in text:
        code = text.partition(" #")[0]
        text = f"{code.rstrip()} --recipe {shlex.quote(json.dumps(FAST_RECIPE))}"
    return text


def _run(root: Path, script: str, where: str, shown: str) -> None:
    r = subprocess.run(["bash", "-c", script], cwd=root, capture_output=True, text=True, timeout=400,
                       env=_env())
    assert r.returncode == 0, (f"{where}: exit {r.returncode}\n$ {shown}\n--- stdout (end)\n"
                               f"{r.stdout[-3000:]}\n--- stderr (end)\n{r.stderr[-3000:]}")


@pytest.mark.parametrize("doc,section", SECTIONS, ids=[f"{d}#{s}" for d, s in SECTIONS])
def test_documented_commands_run(doc, section, tmp_path, shared_luts, venv):
    blocks = [b for b in all_blocks() if (b.doc, b.section) == (doc, section) and b.kind != "data"]
    skipped = [(c, skip_reason(c)) for b in blocks if b.kind == "shell" for c in b.commands()]
    if all(reason for _, reason in skipped) and not any(b.kind == "python" for b in blocks):
        pytest.skip("; ".join(f"{c.where()} `{c.text}`: {reason}" for c, reason in skipped))
    root = _layout(tmp_path, shared_luts)
    for name in PLACEHOLDERS.get((doc, section), []):
        MAKERS[name](root, name)
    assignments: List[str] = []
    for block in blocks:
        if block.kind == "python":
            script = root / f"doc_block_{block.line}.py"
            script.write_text(block.source())
            _run(root, f".venv/bin/python {script.name}", f"{doc}:{block.line} ({section})",
                 f"python block at line {block.line}")
            continue
        for command in block.commands():
            if skip_reason(command):
                continue
            words = _words(command.text)
            if words and all(re.match(r"^\w+=", w) for w in words):  # a shell variable for later lines
                assignments.append(command.text)
                continue
            text = _prepared(command)
            _run(root, "\n".join(["set -eo pipefail", *assignments, text]), command.where(), text)


def test_the_static_check_catches_what_breaks_on_a_fresh_clone():
    assert "command not found" in (_program_problem(["lutplug", "info", "grade.nlut"]) or "")
    assert "command not found" in (_program_problem(["ociocheck", "-i", "show/config.ocio"]) or "")
    assert _program_problem([".venv/bin/no-such-tool"])
    assert _program_problem([".venv/bin/python", "benchmarks/no_such.py"])
    assert _program_problem(["nice", "-n", "15", ".venv/bin/python", "-m", "tests.no_such_module"])
    assert _program_problem(["T=x", ".venv/bin/lutplug", "info"]) is None

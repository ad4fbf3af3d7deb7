"""The package's shape: imports run one way through the layers, no import circle, no private name
(leading underscore) used across modules, and mypy clean over lutplug/.

Layers, lowest first (a module may import its own layer and the ones below)::

    lutplug, errors, fileio, imageio  <-  core  <-  metrics  <-  codec  <-  evaluate
        <-  hosts, widgets, batch  <-  cli

Every import counts, also the ones inside functions (a lazy import is still a dependency).
"""
from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lutplug"

LAYERS: List[Tuple[str, ...]] = [
    ("lutplug.errors", "lutplug.fileio", "lutplug.imageio", "lutplug.optional", "lutplug.data"),
    ("lutplug.core",),
    ("lutplug.metrics",),
    ("lutplug.codec",),
    ("lutplug.evaluate",),
    ("lutplug.hosts", "lutplug.widgets", "lutplug.batch"),
    ("lutplug.cli", "lutplug.__main__"),
]
#: Code that runs inside a host application's own Python, installed apart from the package
#: (the GIMP plug-in file): it may import the package like any user of it.
OUTSIDE = ("lutplug.hosts.gimp.plugin.",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> Dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


MODULES = all_modules()


def layer_of(name: str) -> int:
    if name == "lutplug":  # the package's public names (re-exported from core)
        return 0
    best, index = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    assert index >= 0, f"{name} belongs to no layer: add it to LAYERS"
    return index


def resolve(importer: str, node: ast.AST) -> List[Tuple[str, List[str]]]:
    """(imported lutplug module, names taken from it) for one import statement."""
    out: List[Tuple[str, List[str]]] = []
    if isinstance(node, ast.Import):
        out += [(a.name, []) for a in node.names if a.name.split(".")[0] == "lutplug"]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = package + (("." + node.module) if node.module else "")
        else:
            base = node.module or ""
        if base.split(".")[0] != "lutplug":
            return out
        plain = []
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in MODULES:
                out.append((sub, []))
            else:
                plain.append(alias.name)
        if plain:
            out.append((base, plain))
    return out


def imports_of(name: str) -> List[Tuple[str, List[str], int]]:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target, names in resolve(name, node):
                found.append((target, names, node.lineno))
    return found


def module_aliases(name: str) -> Dict[str, str]:
    """Local names bound to lutplug modules by the imports of module ``name``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for target, _ in resolve(name, node):
                for alias in node.names:
                    if target.endswith("." + alias.name):
                        aliases[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name.startswith("lutplug"):
                    aliases[alias.asname] = alias.name
    return aliases


def inside(name: str) -> bool:
    return name != "lutplug" and not any(name.startswith(p) for p in OUTSIDE)


def test_every_module_has_a_layer():
    for name in MODULES:
        layer_of(name)


def test_imports_point_down_the_layers():
    wrong = []
    for name in filter(inside, MODULES):
        for target, _, line in imports_of(name):
            if target != "lutplug" and layer_of(target) > layer_of(name):
                wrong.append(f"{MODULES[name].relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_no_import_circle():
    graph: Dict[str, Set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _, _ in imports_of(name):
            while target not in MODULES and "." in target:
                target = target.rpartition(".")[0]
            if target in MODULES and target != name:
                graph[name].add(target)
    # Tarjan's strongly connected components
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    circles: List[List[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_no_private_name_used_across_modules():
    found = []
    for name in filter(inside, MODULES):
        for target, names, line in imports_of(name):
            for n in names:
                if n.startswith("_") and not n.startswith("__") and target != name:
                    found.append(f"{MODULES[name].relative_to(ROOT)}:{line} imports {target}.{n}")
        aliases = module_aliases(name)
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                found.append(f"{MODULES[name].relative_to(ROOT)}:{node.lineno} uses "
                             f"{aliases[node.value.id]}.{node.attr}")
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_checker_sees_violations(tmp_path):
    """The walker above finds a private import and an upward import in a sample."""
    sample = "from lutplug.codec.nlut import _x\nfrom lutplug.cli import main\n"
    tree = ast.parse(sample)
    MODULES["lutplug.core.sample_for_test"] = tmp_path / "sample.py"
    try:
        (tmp_path / "sample.py").write_text(sample)
        got = imports_of("lutplug.core.sample_for_test")
    finally:
        del MODULES["lutplug.core.sample_for_test"]
    assert ("lutplug.codec.nlut", ["_x"], 1) in got or ("lutplug.codec.nlut", ["_x"], 1) in [
        (t, n, ln) for t, n, ln in got]
    assert any(layer_of(t) > layer_of("lutplug.core.x") for t, _, _ in got)
    assert tree is not None


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed "
                    "(bash scripts/setup.sh dev installs it)")
def test_mypy_is_clean():
    """mypy over lutplug/ with the configuration in pyproject.toml ([tool.mypy])."""
    env = dict(os.environ, MYPY_CACHE_DIR=str(ROOT / "build" / "mypy-cache"))
    run = subprocess.run([sys.executable, "-m", "mypy", "lutplug"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]

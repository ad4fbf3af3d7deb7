"""Which lutplug modules the plug-in folder carries: exactly the ones the plug-in can import.

They are found, not listed: the lutplug imports of the plug-in file, followed through every
module they reach (imports inside functions included: a lazy import is still needed), plus the
format modules the registry loads by name (:mod:`lutplug.core.formats`). A module that moves
or splits is thus vendored wherever it now lives; the installed folder is checked to run in a
Python without torch, OpenColorIO, OpenImageIO or click (tests/test_gimp_install.py).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable, List, Optional, Set, Tuple

from lutplug.errors import LutError

#: The plug-in file (installed as ``PROFILE/plug-ins/lutplug-apply/lutplug-apply.py``).
PLUGIN_SOURCE = Path(__file__).resolve().parent / "plugin" / "lutplug_apply.py"
#: Modules imported by name rather than by an import statement (relative to the package).
LOADED_BY_NAME = ("core/formats/*.py",)


def package_root() -> Path:
    """The folder of the lutplug package."""
    return Path(__file__).resolve().parents[2]


def vendored_sources(root: Optional[Path] = None) -> List[Tuple[Path, str]]:
    """(source file, path relative to the lutplug package) of every module the plug-in needs,
    sorted by path."""
    root = root or package_root()
    start: List[Path] = []
    for pattern in LOADED_BY_NAME:
        found = sorted(root.glob(pattern))
        if not found:
            raise LutError(f"lutplug modules {pattern} are missing from {root}")
        start += found
    needed = import_closure(root, start, imported_modules(PLUGIN_SOURCE.read_text(encoding="utf-8")))
    return [(f, f.relative_to(root).as_posix()) for f in sorted(needed)]


def import_closure(root: Path, files: Iterable[Path], modules: Iterable[str] = ()) -> Set[Path]:
    """``files`` and the files of ``modules`` (dotted lutplug names), with every lutplug module
    they import, directly or not (each package's ``__init__.py`` included)."""
    todo = list(files) + [f for name in modules for f in module_files(root, name)]
    seen: Set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [f for name in imported_modules(path.read_text(encoding="utf-8"),
                                                _package_of(root, path))
                 for f in module_files(root, name)]
    return seen


def imported_modules(source: str, package: str = "") -> List[str]:
    """The lutplug names imported anywhere in ``source`` (code in ``package``, for relative
    imports): ``from a.b import c`` gives ``a.b`` and ``a.b.c`` (``c`` may be a module)."""
    names: List[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names += [base] + [f"{base}.{a.name}" for a in node.names]
    return [n for n in names if n.split(".")[0] == "lutplug"]


def module_files(root: Path, name: str) -> List[Path]:
    """The files importing the lutplug module ``name`` runs: each package's ``__init__.py`` on
    the way, and the module itself (none when ``name`` is not a module, e.g. a function)."""
    parts = name.split(".")[1:]
    out = [root / "__init__.py"]
    for k in range(1, len(parts) + 1):
        base = root.joinpath(*parts[:k])
        out += [p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()]
    return out


def _package_of(root: Path, path: Path) -> str:
    """The dotted name of the package a file of lutplug belongs to (its folder)."""
    return ".".join(["lutplug", *path.parent.relative_to(root).parts])

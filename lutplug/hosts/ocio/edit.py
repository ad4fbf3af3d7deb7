"""Add a compressed grade to an OCIO config as a look, a colour space or a named transform.

The grade is baked to a cube named by its content hash, written into a folder on the config's
search path, and the entry is inserted into the config's *text* (:mod:`.yamltext`): every existing
entry, comment and the file's order stay. Before anything replaces the config, the edited text is
parsed by OpenColorIO and checked (:mod:`.verification`): the other entries serialise exactly as
before, every file that resolved still resolves, the new entry's pixels equal the grade's
in-memory processor, and a config that validated still validates. The previous file is kept as a
timestamped backup and the new one is written atomically (:mod:`.configfile`). Any failure leaves
the config untouched.

The pieces: :mod:`.entries` (the entry's name, process space and text; reading entries back),
:mod:`.verification`, :mod:`.configfile`; this module plans the edit (:func:`plan_edit`) and runs
it (:func:`add_grade`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from lutplug.errors import LutError, PathLike
from lutplug.hosts.ocio import ociolib
from lutplug.hosts.ocio.configfile import base_text, probe_writable, write_config
from lutplug.hosts.ocio.entries import (SECTIONS, check_name, choose_process_space, describe,
                                        entry_names, entry_text, uses_categories)
from lutplug.hosts.ocio.grades import (DEFAULT_SIZE, check_size, grade_label, load_grade,
                                       write_cube)
from lutplug.hosts.ocio.verification import apply_cpu, sample_points, verify
from lutplug.hosts.ocio.yamltext import ConfigText, scalar

#: Names other code imports from here (kept where they were before the module was split).
__all__ = ["AddResult", "EntryEdit", "Plan", "add_grade", "apply_cpu", "apply_entry", "lut_folder",
           "plan_edit", "remove_new_files", "sample_points"]


@dataclasses.dataclass
class AddResult:
    """What :func:`add_grade` did."""

    config: Path
    kind: str
    name: str
    process_space: Optional[str]
    process_space_origin: str
    cube: Path
    cube_src: str
    cube_written: bool
    size: int
    backup: Optional[Path]
    replaced: bool
    base: str
    search_path_added: Optional[str]
    max_abs: float
    notes: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Plan:
    """An edit made and verified but not yet written (:func:`plan_edit`); the cube is written."""

    text: str
    cube: Path
    cube_src: str
    cube_written: bool
    created_dir: Optional[Path]
    search_path_added: Optional[str]
    replaced: bool
    process_space: Optional[str]
    origin: str
    max_abs: float
    notes: List[str]


@dataclasses.dataclass
class EntryEdit:
    """The change to a config's text: one entry appended to (or replacing item ``replace_index``
    of) the top-level list ``section``, and folders appended to the search path."""

    section: str
    block: List[str]            # the entry in block style, first line "- ...", no indent
    flow: str                   # the same entry as one flow-style item
    search_path: List[str]      # entries to append to search_path ([] for none)
    search_path_kept: List[str]  # its non-empty entries before the edit
    replace_index: Optional[int] = None

    @property
    def search_path_value(self) -> str:
        """The whole new search path as one ``a:b`` string."""
        return ":".join(self.search_path_kept + self.search_path)


def apply_entry(text: ConfigText, edit: EntryEdit) -> str:
    """Make ``edit`` in ``text``; returns the text of the item it replaced ("" when adding)."""
    if edit.search_path:
        text.add_search_path(edit.search_path, edit.search_path_value, scalar,
                             replace_empty=not edit.search_path_kept)
    if edit.replace_index is not None:
        old_item = text.item_text(edit.section, edit.replace_index)
        text.replace_item(edit.section, edit.replace_index, edit.block)
        return old_item
    text.append_item(edit.section, edit.block, edit.flow)
    return ""


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return True
    except ValueError:
        return False


def lut_folder(config_here: Any, out_dir: Path, lut_dir: Optional[PathLike]) -> Tuple[Path, List[str]]:
    """(folder for the cube, search path entries to add).

    The cube goes into the first search-path folder inside the config's folder, or ``lut_dir``;
    a folder not yet on the search path is appended to it. An empty search path (OCIO then
    searches the config's folder, but its validation refuses an empty search path once the config
    has FileTransforms) becomes ``luts`` — preceded by ``.`` when the config already refers to
    files, so they resolve exactly as before."""
    entries = [e for e in config_here.getSearchPaths() if e.strip()]
    dirs = ociolib.search_dirs(config_here)
    if lut_dir is not None:
        ld = Path(lut_dir)
        ld = (ld if ld.is_absolute() else out_dir / ld).resolve()
        if entries and ld in dirs:
            return ld, []
        rel = os.path.relpath(ld, out_dir) if _inside(ld, out_dir) else str(ld)
        rel = rel.replace(os.sep, "/")
    else:
        for d in (dirs if entries else []):
            if _inside(d, out_dir):
                return d, []
        ld, rel = out_dir / "luts", "luts"
    if not entries and ociolib.file_sources(config_here) and rel != ".":
        return ld, [".", rel]
    return ld, [rel]


def _make_folder(folder: Path) -> Optional[Path]:
    """Create the cube folder when missing; returns it when this call created it."""
    if folder.exists():
        return None
    try:
        folder.mkdir(parents=True)
        return folder
    except FileExistsError:
        if not folder.is_dir():  # another process may have just made it: that one is fine
            raise LutError("cannot create the cube folder (a file has its name); nothing was "
                           "changed", folder) from None
        return None
    except OSError as exc:
        raise LutError(f"cannot create the cube folder ({exc.strerror}); nothing was changed",
                       folder) from None


def _replace_index(here: Any, text: ConfigText, kind: str, name: str, replace: bool,
                   where: str) -> Optional[int]:
    """Index of the same-kind entry ``name`` replaces (None: the name is free); refuses a name
    another entry holds, and a list whose text does not match what OpenColorIO reads."""
    used = ociolib.names_in_use(here)
    key = ("look:" if kind == "look" else "") + name.lower()
    if key not in used:
        return None
    holder = used[key]
    section = SECTIONS[kind]
    names = entry_names(here, kind)
    same = [i for i, n in enumerate(names) if n.lower() == name.lower()]
    if not same:
        raise LutError(f"name {name!r} is already used by {holder}; choose another name", where)
    if not replace:
        raise LutError(f"the config already has {holder}; pass --replace to replace it", where)
    index = same[0]
    count = text.count_items(section)
    if count != len(names):
        raise LutError(f"cannot match the '{section}' list in the text ({count} items) with the "
                       f"{len(names)} entries OpenColorIO reads; not editing", where)
    item = text.item_text(section, index)
    if name not in item and scalar(name) not in item:
        raise LutError(f"entry {index + 1} of '{section}' does not read as {name!r}; "
                       "not editing", where)
    return index


def plan_edit(base_text: str, base_where: str, base_dir: Optional[Path], out: Path, nlut: Any,
              name: str, kind: str = "look", process_space: Optional[str] = None,
              size: int = DEFAULT_SIZE, replace: bool = False, lut_dir: Optional[PathLike] = None,
              description: Optional[str] = None, label: str = "") -> Plan:
    """Edit ``base_text`` (read from ``base_where``, living in ``base_dir``) so that, written as
    ``out``, it holds the grade as entry ``name``; write the cube; verify. Writes no config."""
    if kind not in SECTIONS:
        raise LutError(f"--as must be one of {', '.join(SECTIONS)}, got {kind!r}")
    check_size(size)
    check_name(name, kind)
    out_dir = out.parent.resolve()
    notes: List[str] = []
    old_home = ociolib.config_from_text(base_text, base_dir or out_dir, base_where)
    here = ociolib.config_from_text(base_text, out_dir, base_where)
    version = ociolib.config_version(here)
    v1 = version[0] < 2
    if v1 and kind == "named-transform":
        raise LutError("named transforms need an OCIO 2 config (this one is ocio_profile_version "
                       f"{version[0]}); use --as look or colorspace", base_where)
    text = ConfigText(base_text, base_where)
    replace_index = _replace_index(here, text, kind, name, replace, base_where)

    ps, origin = choose_process_space(here, nlut, process_space, kind)
    reference = None
    if kind == "colorspace":
        reference = ociolib.reference_space(here)
        if reference is None:
            raise LutError("the config has no colour space equal to its scene reference (a "
                           "non-data space with no transforms), which a colour-space entry is "
                           "defined from; use --as look or --as named-transform", base_where)

    folder, sp_entries = lut_folder(here, out_dir, lut_dir)
    created_dir = _make_folder(folder)
    cube, written = None, False
    try:
        cube, written = write_cube(nlut, size, folder)
        src = cube.name
        desc = description or describe(nlut, size, ps, label or grade_label(nlut, name), kind)
        cats = ["file-io"] if not v1 and uses_categories(here, kind) else []
        block, flow = entry_text(kind, name, src, ps, desc, reference, v1, cats, nlut.interpolation)
        edit = EntryEdit(SECTIONS[kind], block, flow, sp_entries,
                         [e for e in here.getSearchPaths() if e.strip()], replace_index)
        old_item = apply_entry(text, edit)
        if sp_entries:
            notes.append(f"search path: added {', '.join(repr(e) for e in sp_entries)}")
        new_text = text.render()
        max_abs = verify(base_text, old_home, here, new_text, out, nlut, kind, name, ps, size,
                         sp_entries, old_item)
    except BaseException:
        remove_new_files(cube if written else None, created_dir)
        raise
    if version > ociolib.DEFAULT_TARGET:
        notes.append(f"the config is ocio_profile_version {ociolib.vstr(version)}: applications "
                     f"with an older OpenColorIO cannot load it")
    return Plan(new_text, cube, src, written, created_dir, ":".join(sp_entries) or None,
                replace_index is not None, ps, origin, max_abs, notes)


def remove_new_files(cube: Optional[Path], created_dir: Optional[Path]) -> None:
    """Undo an edit's files: the cube it wrote and the folder it created (if still empty)."""
    if cube is not None:
        cube.unlink(missing_ok=True)
    if created_dir is not None:
        with contextlib.suppress(OSError):
            created_dir.rmdir()


def add_grade(config: PathLike, grade: Any, name: str, *, output: Optional[PathLike] = None,
              kind: str = "look", process_space: Optional[str] = None, size: int = DEFAULT_SIZE,
              replace: bool = False, lut_dir: Optional[PathLike] = None,
              target: Optional[Tuple[int, int]] = ociolib.DEFAULT_TARGET,
              trusted_keys: Sequence = (), require_signature: bool = False,
              description: Optional[str] = None) -> AddResult:
    """Add ``grade`` (a .nlut path, bytes or NeuralLUT) to ``config`` (a file, or an ``ocio://``
    built-in written out to ``output``) as a ``kind`` entry named ``name``. See the module doc."""
    nlut = load_grade(grade, trusted_keys, require_signature)
    text, where, base_dir, builtin = base_text(config, target)
    if builtin and output is None:
        raise LutError("a built-in config is written out as a file: give -o/--output CONFIG.ocio",
                       str(config))
    out = Path(output) if output is not None else Path(config)
    if out.exists() and out.is_dir():
        raise LutError("output is a folder; give the config file to write", out)
    if not out.parent.exists():
        try:
            out.parent.mkdir(parents=True)
        except OSError as exc:
            raise LutError(f"cannot create the folder ({exc.strerror})", out.parent) from None
    probe_writable(out.parent)
    label = grade_label(nlut, Path(grade).stem if isinstance(grade, (str, os.PathLike)) else name)
    # what the config was when read: it is replaced only if it still is (no one else's edit lost)
    read_as = None if builtin or out.resolve() != Path(config).resolve() else \
        hashlib.sha256(text.encode("utf-8")).hexdigest()
    plan = plan_edit(text, where, base_dir, out, nlut, name, kind, process_space, size, replace,
                     lut_dir, description, label)
    try:
        backup = write_config(out, plan.text, read_as)
    except BaseException:
        remove_new_files(plan.cube if plan.cube_written else None, plan.created_dir)
        raise
    return AddResult(out, kind, name, plan.process_space, plan.origin, plan.cube, plan.cube_src,
                     plan.cube_written, size, backup, plan.replaced, where, plan.search_path_added,
                     plan.max_abs, plan.notes)

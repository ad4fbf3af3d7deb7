"""Add a compressed grade to an OCIO config as a look, a colour space or a named transform.

The grade is baked to a cube named by its content hash, written into a folder on the config's
search path, and the entry is inserted into the config's *text* (:mod:`.yamltext`): every existing
entry, comment and the file's order stay. Before anything replaces the config, the edited text is
parsed by OpenColorIO and checked: the other entries serialise exactly as before, every file that
resolved still resolves, the new entry's pixels equal the grade's in-memory processor, and a
config that validated still validates. The previous file is kept as a timestamped backup and the
new one is written atomically. Any failure leaves the config untouched.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write, read_bytes
from lutplug.hosts.ocio import ociolib
from lutplug.hosts.ocio.grades import (DEFAULT_SIZE, check_size, grade_hash, grade_label,
                                       grade_tags, load_grade, write_cube)
from lutplug.hosts.ocio.yamltext import ConfigText, scalar

#: --as value → the config's top-level list holding such entries.
SECTIONS = {"look": "looks", "colorspace": "colorspaces", "named-transform": "named_transforms"}
KIND_WORDS = {"look": "look", "colorspace": "colour space", "named-transform": "named transform"}
FAMILY = "lutplug"
MAX_CONFIG_BYTES = 64 << 20


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


# -- names and spaces --------------------------------------------------------------------------

def check_name(name: str, kind: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LutError(f"the {KIND_WORDS[kind]} name is empty")
    if name != name.strip():
        raise LutError(f"name {name!r} starts or ends with white space")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise LutError(f"name {name!r} contains control characters")
    if "$" in name or "%" in name:
        raise LutError(f"name {name!r} contains '$' or '%', which OCIO reads as a context variable")
    if kind == "look" and (re.search(r"[,:|]", name) or name[0] in "+-"):
        raise LutError(f"look name {name!r} cannot contain ',', ':' or '|' nor start with '+' or "
                       "'-': OCIO look lists use them (\"+a, -b\")")
    return name


def choose_process_space(config, nlut, requested: Optional[str], kind: str) -> Tuple[Optional[str], str]:
    """(process space, where it came from): --process-space, else the grade's input colour-space
    tag (by name, alias or role, else the config's space OCIO identifies as that built-in one),
    else the config's ``color_timing`` role. Data spaces are refused."""
    from lutplug.hosts.ocio.processing import check_process_space

    if requested:
        check_process_space(config, requested)
        return requested, "--process-space"
    tag, _ = grade_tags(nlut)
    need = kind != "named-transform"
    if tag:
        cs = ociolib.colorspace_or_none(config, tag)
        if cs is not None:
            check_process_space(config, tag, "the grade's input tag")
            return cs.getName(), f"the grade's input tag {tag!r}"
        found = ociolib.identify_builtin(config, tag)
        if found:
            check_process_space(config, found, f"the grade's input tag {tag!r} is identified as")
            return found, f"the grade's input tag {tag!r}, identified by OpenColorIO as {found!r}"
        if need:
            raise LutError(f"the grade is tagged input {tag!r}, which this config does not define "
                           "(no colour space, alias or role of that name, and OpenColorIO finds no "
                           "equivalent); pass --process-space")
        return None, f"none (the grade's input tag {tag!r} is not in this config)"
    if config.hasRole("color_timing"):
        cs = check_process_space(config, "color_timing", "role")
        return cs.getName(), "the config's 'color_timing' role (the grade has no input tag)"
    if need:
        raise LutError("the grade has no input colour-space tag and the config no 'color_timing' "
                       "role; pass --process-space")
    return None, "none"


def describe(nlut, size: int, process_space: Optional[str], label: str, kind: str) -> str:
    tag_in, tag_out = grade_tags(nlut)
    parts = [f"{label}: lutplug grade {grade_hash(nlut)[:16]}, baked to a {nlut.bake_size(size)}^3 cube"]
    if tag_in or tag_out:
        parts.append(f"input {tag_in or '?'}, output {tag_out or '?'}")
    if kind == "named-transform" and process_space:
        parts.append(f"apply to {process_space} values")
    return "; ".join(parts)


def entry_text(kind: str, name: str, src: str, process_space: Optional[str], description: str,
               reference: Optional[str], v1: bool, categories: Sequence[str] = (),
               interpolation: str = "tetrahedral") -> Tuple[List[str], str]:
    """The entry as block-style lines (first starts "- ") and as one flow-style item;
    ``interpolation``: the grade's reading of its cube (OCIO calls trilinear "linear")."""
    reading = "linear" if interpolation == "trilinear" else "tetrahedral"
    ft = f"!<FileTransform> {{src: {scalar(src)}, interpolation: {reading}}}"
    n, d = scalar(name), scalar(description)
    cat = ("[" + ", ".join(scalar(c) for c in categories) + "]") if categories else ""
    if kind == "look":
        ps = scalar(process_space)
        return ([ "- !<Look>", f"  name: {n}", f"  process_space: {ps}", f"  description: {d}",
                  f"  transform: {ft}"],
                f"!<Look> {{name: {n}, process_space: {ps}, description: {d}, transform: {ft}}}")
    if kind == "colorspace":
        key = "from_reference" if v1 else "from_scene_reference"
        cst = f"!<ColorSpaceTransform> {{src: {scalar(reference)}, dst: {scalar(process_space)}}}"
        return (["- !<ColorSpace>", f"  name: {n}", f"  family: {FAMILY}", '  equalitygroup: ""',
                 "  bitdepth: 32f", f"  description: {d}", "  isdata: false"]
                + ([f"  categories: {cat}"] if cat else [])
                + ["  allocation: uniform",
                   f"  {key}: !<GroupTransform>", "    children:", f"      - {cst}", f"      - {ft}"],
                f"!<ColorSpace> {{name: {n}, family: {FAMILY}, bitdepth: 32f, description: {d}, "
                f"isdata: false, {'categories: ' + cat + ', ' if cat else ''}allocation: uniform, "
                f"{key}: !<GroupTransform> {{children: [{cst}, {ft}]}}}}")
    nt = ([ "- !<NamedTransform>", f"  name: {n}", f"  family: {FAMILY}", f"  description: {d}"]
          + ([f"  categories: {cat}"] if cat else []) + [f"  transform: {ft}"])
    return nt, (f"!<NamedTransform> {{name: {n}, family: {FAMILY}, description: {d}, "
                f"{'categories: ' + cat + ', ' if cat else ''}transform: {ft}}}")


def uses_categories(config, kind: str) -> bool:
    """Whether the config's colour spaces (or named transforms) carry categories: ociocheck warns
    when some do and others do not, so a new entry then gets ``[file-io]``."""
    o = ociolib.ocio()
    if kind == "colorspace":
        items = config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_ALL, o.COLORSPACE_ACTIVE)
    elif kind == "named-transform":
        items = config.getNamedTransforms(o.NAMEDTRANSFORM_ACTIVE)
    else:
        return False
    return any(len(list(x.getCategories())) for x in items)


# -- entries in OCIO's order ---------------------------------------------------------------------

def entry_names(config, kind: str) -> List[str]:
    """Names of the entries of ``kind`` in the order of the config's list for that kind."""
    o = ociolib.ocio()
    if kind == "look":
        return list(config.getLookNames())
    if kind == "colorspace":
        if ociolib.config_version(config)[0] < 2:
            return [cs.getName() for cs in config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_ALL, o.COLORSPACE_ALL)]
        return [cs.getName() for cs in config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_SCENE, o.COLORSPACE_ALL)]
    return [nt.getName() for nt in config.getNamedTransforms(o.NAMEDTRANSFORM_ALL)]


def without_entry(config, kind: str, name: str):
    """A copy of ``config`` without the ``kind`` entry ``name`` (others in the same order)."""
    o = ociolib.ocio()
    c = o.Config.CreateFromStream(config.serialize())
    c.setWorkingDir(config.getWorkingDir())
    low = name.lower()
    if kind == "look":
        keep = [lk for lk in c.getLooks() if lk.getName().lower() != low]
        c.clearLooks()
        for lk in keep:
            c.addLook(lk)
    elif kind == "colorspace":
        if c.getColorSpace(name) is not None and c.getColorSpace(name).getName().lower() == low:
            c.removeColorSpace(name)
    else:
        keep = [nt for nt in c.getNamedTransforms(o.NAMEDTRANSFORM_ALL) if nt.getName().lower() != low]
        c.clearNamedTransforms()
        for nt in keep:
            c.addNamedTransform(nt)
    return c


def entry_processor(config, kind: str, name: str, process_space: Optional[str]):
    """The config's own processor for an entry, mapping process-space values through it."""
    o = ociolib.ocio()
    if kind == "look":
        return config.getProcessor(o.LookTransform(src=process_space, dst=process_space, looks=name))
    if kind == "colorspace":
        return config.getProcessor(process_space, name)
    return config.getProcessor(config.getNamedTransform(name).getTransform(o.TRANSFORM_DIR_FORWARD))


def sample_points(nlut, count: int = 4096, seed: int = 0) -> np.ndarray:
    """A 9³ lattice over the grade's input domain plus random points 5 % beyond it, float32."""
    from lutplug.core.lut import lattice

    dmin, dmax = (np.asarray(d, np.float64) for d in nlut.input_domain)
    span = dmax - dmin
    rnd = dmin - 0.05 * span + np.random.default_rng(seed).random((count, 3)) * 1.1 * span
    return np.concatenate([lattice(9, dmin, dmax), rnd]).astype(np.float32)


def apply_cpu(proc, rgb: np.ndarray) -> np.ndarray:
    buf = np.ascontiguousarray(rgb, dtype=np.float32).reshape(-1).copy()
    proc.getDefaultCPUProcessor().applyRGB(buf)
    return buf.reshape(rgb.shape)


# -- the edit -------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Plan:
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


def _probe_writable(folder: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lutplug-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise LutError(f"folder is not writable ({exc.strerror}); nothing was changed", folder) from None


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return True
    except ValueError:
        return False


def _lut_folder(config_here, out_dir: Path, lut_dir: Optional[PathLike]) -> Tuple[Path, List[str]]:
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


def plan_edit(base_text: str, base_where: str, base_dir: Optional[Path], out: Path, nlut, name: str,
              kind: str = "look", process_space: Optional[str] = None, size: int = DEFAULT_SIZE,
              replace: bool = False, lut_dir: Optional[PathLike] = None,
              description: Optional[str] = None, label: str = "") -> _Plan:
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
    section = SECTIONS[kind]

    # the name: free, or the same kind's entry to replace
    used = ociolib.names_in_use(here)
    key = ("look:" if kind == "look" else "") + name.lower()
    replace_index = None
    if key in used:
        holder = used[key]
        names = entry_names(here, kind)
        same = [i for i, n in enumerate(names) if n.lower() == name.lower()]
        if not same:
            raise LutError(f"name {name!r} is already used by {holder}; choose another name", base_where)
        if not replace:
            raise LutError(f"the config already has {holder}; pass --replace to replace it", base_where)
        replace_index = same[0]
        count = text.count_items(section)
        if count != len(names):
            raise LutError(f"cannot match the '{section}' list in the text ({count} items) with the "
                           f"{len(names)} entries OpenColorIO reads; not editing", base_where)
        if name not in text.item_text(section, replace_index) and scalar(name) not in text.item_text(section, replace_index):
            raise LutError(f"entry {replace_index + 1} of '{section}' does not read as {name!r}; "
                           "not editing", base_where)

    ps, origin = choose_process_space(here, nlut, process_space, kind)
    reference = None
    if kind == "colorspace":
        reference = ociolib.reference_space(here)
        if reference is None:
            raise LutError("the config has no colour space equal to its scene reference (a "
                           "non-data space with no transforms), which a colour-space entry is "
                           "defined from; use --as look or --as named-transform", base_where)

    folder, sp_entries = _lut_folder(here, out_dir, lut_dir)
    created_dir = None
    if not folder.exists():
        try:
            folder.mkdir(parents=True)
            created_dir = folder
        except FileExistsError:
            if not folder.is_dir():  # another process may have just made it: that one is fine
                raise LutError("cannot create the cube folder (a file has its name); nothing was "
                               "changed", folder) from None
        except OSError as exc:
            raise LutError(f"cannot create the cube folder ({exc.strerror}); nothing was changed",
                           folder) from None
    cube, written = None, False
    try:
        cube, written = write_cube(nlut, size, folder)
        src = cube.name
        desc = description or describe(nlut, size, ps, label or grade_label(nlut, name), kind)
        cats = ["file-io"] if not v1 and uses_categories(here, kind) else []
        block, flow = entry_text(kind, name, src, ps, desc, reference, v1, cats, nlut.interpolation)
        if sp_entries:
            kept = [e for e in here.getSearchPaths() if e.strip()]
            text.add_search_path(sp_entries, ":".join(kept + sp_entries), scalar, replace_empty=not kept)
            notes.append(f"search path: added {', '.join(repr(e) for e in sp_entries)}")
        if replace_index is not None:
            old_item = text.item_text(section, replace_index)
            text.replace_item(section, replace_index, block)
        else:
            old_item = ""
            text.append_item(section, block, flow)
        new_text = text.render()
        max_abs = verify(base_text, old_home, here, new_text, out, nlut, kind, name, ps, size,
                         sp_entries, old_item)
    except BaseException:
        _remove_new_files(cube if written else None, created_dir)
        raise
    if version > ociolib.DEFAULT_TARGET:
        notes.append(f"the config is ocio_profile_version {ociolib.vstr(version)}: applications "
                     f"with an older OpenColorIO cannot load it")
    return _Plan(new_text, cube, src, written, created_dir, ":".join(sp_entries) or None,
                 replace_index is not None,
                 ps, origin, max_abs, notes)


def _remove_new_files(cube: Optional[Path], created_dir: Optional[Path]) -> None:
    """Undo an edit's files: the cube it wrote and the folder it created (if still empty)."""
    if cube is not None:
        cube.unlink(missing_ok=True)
    if created_dir is not None:
        with contextlib.suppress(OSError):
            created_dir.rmdir()


def verify(base_text: str, old_home, old_here, new_text: str, out: Path, nlut, kind: str, name: str,
           process_space: Optional[str], size: int, sp_entries: List[str], old_item: str) -> float:
    """Check the edited config; raise :class:`LutError` (config untouched) when anything is off.
    Returns the largest difference between the entry and the in-memory grade."""
    from lutplug.hosts.ocio.processing import processor

    where = str(out)
    new = ociolib.config_from_text(new_text, out.parent, where)
    # 1. the new entry is there, under its name, of its kind
    if name.lower() not in [n.lower() for n in entry_names(new, kind)]:
        raise LutError(f"internal error: the edited config has no {KIND_WORDS[kind]} {name!r}; "
                       "nothing was changed", where)
    # 2. everything else is exactly as before
    before = without_entry(old_here, kind, name)
    after = without_entry(new, kind, name)
    if sp_entries:
        expected = [e for e in old_here.getSearchPaths() if e.strip()] + list(sp_entries)
        got = [e for e in new.getSearchPaths()]
        if got != expected:
            raise LutError(f"editing the search path gave {got}, expected {expected}; nothing was "
                           "changed", where)
        after.clearSearchPaths()
        for e in old_here.getSearchPaths():
            after.addSearchPath(e)
    if before.serialize() != after.serialize():
        import difflib

        diff = [ln for ln in difflib.unified_diff(before.serialize().splitlines(),
                                                  after.serialize().splitlines(), lineterm="", n=0)
                if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
        raise LutError("the edit would change other entries of the config "
                       f"({'; '.join(diff[:4])}); nothing was changed", where)
    # 3. comments: every comment line is still there, in order (but those of a replaced entry)
    old_comments = [c for c in ConfigText(base_text).comments()
                    if c not in {ln.strip() for ln in old_item.splitlines()}]
    new_comments = iter(ConfigText(new_text).comments())
    if not all(any(c == n for n in new_comments) for c in old_comments):
        raise LutError("the edit would lose or reorder comments; nothing was changed", where)
    # 4. every file that resolved where the config was still resolves where it is written
    now = ociolib.resolvable_files(new)
    lost = [src for src, path in ociolib.resolvable_files(without_entry(old_home, kind, name)).items()
            if path is not None and now.get(src) is None]
    if lost:
        raise LutError(f"written to {out.parent}, the config could no longer find "
                       f"{', '.join(lost[:5])} (its search path is relative to its folder); write "
                       "it beside the original, or copy those files along", where)
    # 5. the entry's pixels are the grade's
    try:
        got_proc = entry_processor(new, kind, name, process_space)
    except Exception as exc:  # noqa: BLE001
        raise LutError(f"OpenColorIO cannot use the new entry: {ociolib.oneline(exc)}; nothing "
                       "was changed", where) from None
    x = sample_points(nlut)
    want = apply_cpu(processor(nlut, size), x)
    got = apply_cpu(got_proc, x)
    max_abs = float(np.max(np.abs(got - want)))
    scale = max(1.0, float(np.max(np.abs(want))))
    tol = (5e-4 if kind == "colorspace" else 2e-5) * scale
    if not np.isfinite(max_abs) or max_abs > tol:
        raise LutError(f"the new entry does not reproduce the grade (max abs difference "
                       f"{max_abs:.3g} > {tol:.1g}); nothing was changed", where)
    # 6. a config that validated still validates
    try:
        old_here.validate()
        valid_before = True
    except Exception:  # noqa: BLE001
        valid_before = False
    if valid_before:
        try:
            new.validate()
        except Exception as exc:  # noqa: BLE001
            raise LutError(f"the edited config does not validate: {ociolib.oneline(exc)}; nothing "
                           "was changed", where) from None
    return max_abs


def read_config_text(path: Path) -> str:
    if path.suffix.lower() == ".ocioz":
        raise LutError("an .ocioz archive cannot be edited in place; extract it ('lutplug ocio "
                       "extract') and add to the extracted config, or build a pack with "
                       "'lutplug ocio pack'", path)
    data = read_bytes(path, MAX_CONFIG_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LutError(f"config is not UTF-8 text (byte {exc.start})", path) from None


def base_text(config: PathLike, target) -> Tuple[str, str, Optional[Path], bool]:
    """(text, where, folder or None, is built-in) of a config file or ``ocio://`` URI."""
    o = ociolib.ocio()
    if ociolib.is_uri(config):
        name, how = ociolib.resolve_builtin(str(config), target)
        return o.Config.CreateFromBuiltinConfig(name).serialize(), f"ocio://{name} ({how})", None, True
    path = Path(config)
    return read_config_text(path), str(path), path.parent.resolve(), False


def backup_path(path: Path) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    k = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{stamp}-{k}.bak")
        k += 1
    return candidate


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Optional[bytes]]:
    """Hold an exclusive lock on ``path`` (when it exists and the platform has flock) and yield
    its bytes as they are under the lock (None when it does not exist). Another lutplug process
    replacing the same file waits, and then sees this one's result: the lock is taken again
    whenever the file was replaced (renamed over) while waiting for it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, the hash check alone
        fcntl = None
    while True:
        try:
            fh = open(path, "rb")
        except FileNotFoundError:
            yield None
            return
        except OSError as exc:
            raise LutError(f"cannot read the config ({exc.strerror})", path) from None
        with fh:
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                try:
                    same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
                except FileNotFoundError:
                    same = False
                if not same:  # replaced while we waited: lock the new file
                    continue
            yield fh.read()
            return


def write_config(out: Path, text: str, read_as: Optional[str]) -> Optional[Path]:
    """Replace ``out`` by ``text`` atomically, keeping the old file as a timestamped backup.

    ``read_as``: SHA-256 of the bytes the edit was made from; when the file no longer holds them
    (someone saved it meanwhile) nothing is written. Returns the backup's path (None if ``out``
    did not exist)."""
    with _locked(out) as current:
        if read_as is not None and (current is None or hashlib.sha256(current).hexdigest() != read_as):
            raise LutError("the config changed on disk since lutplug read it (someone else saved "
                           "it meanwhile); nothing was written: run the command again", out)
        backup = None
        try:
            if current is not None:
                backup = backup_path(out)
                atomic_write(backup, current)
            atomic_write(out, text)
        except OSError as exc:
            raise LutError(f"cannot write the config ({exc.strerror}); it was left as it was",
                           out) from None
    return backup


def add_grade(config: PathLike, grade, name: str, *, output: Optional[PathLike] = None,
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
    _probe_writable(out.parent)
    label = grade_label(nlut, Path(grade).stem if isinstance(grade, (str, os.PathLike)) else name)
    # what the config was when read: it is replaced only if it still is (no one else's edit lost)
    read_as = None if builtin or out.resolve() != Path(config).resolve() else \
        hashlib.sha256(text.encode("utf-8")).hexdigest()
    plan = plan_edit(text, where, base_dir, out, nlut, name, kind, process_space, size, replace,
                     lut_dir, description, label)
    try:
        backup = write_config(out, plan.text, read_as)
    except BaseException:
        _remove_new_files(plan.cube if plan.cube_written else None, plan.created_dir)
        raise
    return AddResult(out, kind, name, plan.process_space, plan.origin, plan.cube, plan.cube_src,
                     plan.cube_written, size, backup, plan.replaced, where, plan.search_path_added,
                     plan.max_abs, plan.notes)

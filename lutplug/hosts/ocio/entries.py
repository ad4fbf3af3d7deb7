"""The entry ``lutplug ocio add`` writes, and reading entries back from an OCIO ``Config``.

Writing side: the entry's name (:func:`check_name`), its process space
(:func:`choose_process_space`), description (:func:`describe`) and YAML text
(:func:`entry_text`). Reading side: the entries of one kind in the config's order
(:func:`entry_names`), a config without one entry (:func:`without_entry`) and an entry's own
processor (:func:`entry_processor`) — what the edit's verification and the pack's archive check
compare.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence, Tuple

from lutplug.errors import LutError
from lutplug.hosts.ocio import ociolib
from lutplug.hosts.ocio.grades import grade_hash, grade_tags
from lutplug.hosts.ocio.yamltext import scalar

#: --as value → the config's top-level list holding such entries.
SECTIONS = {"look": "looks", "colorspace": "colorspaces", "named-transform": "named_transforms"}
KIND_WORDS = {"look": "look", "colorspace": "colour space", "named-transform": "named transform"}
FAMILY = "lutplug"


# -- names and spaces --------------------------------------------------------------------------

def check_name(name: str, kind: str) -> str:
    """``name`` when OCIO can hold it as a ``kind`` entry's name; :class:`LutError` otherwise."""
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


def choose_process_space(config: Any, nlut: Any, requested: Optional[str],
                         kind: str) -> Tuple[Optional[str], str]:
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


def describe(nlut: Any, size: int, process_space: Optional[str], label: str, kind: str) -> str:
    """The generated description: grade hash, cube size, colour-space tags."""
    tag_in, tag_out = grade_tags(nlut)
    parts = [f"{label}: lutplug grade {grade_hash(nlut)[:16]}, baked to a {nlut.bake_size(size)}^3 cube"]
    if tag_in or tag_out:
        parts.append(f"input {tag_in or '?'}, output {tag_out or '?'}")
    if kind == "named-transform" and process_space:
        parts.append(f"apply to {process_space} values")
    return "; ".join(parts)


def _required(value: Optional[str], what: str) -> str:
    if value is None:
        raise LutError(f"internal error: a {what} is needed for this entry")
    return value


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
        ps = scalar(_required(process_space, "process space"))
        return ([ "- !<Look>", f"  name: {n}", f"  process_space: {ps}", f"  description: {d}",
                  f"  transform: {ft}"],
                f"!<Look> {{name: {n}, process_space: {ps}, description: {d}, transform: {ft}}}")
    if kind == "colorspace":
        key = "from_reference" if v1 else "from_scene_reference"
        cst = (f"!<ColorSpaceTransform> {{src: {scalar(_required(reference, 'reference space'))}, "
               f"dst: {scalar(_required(process_space, 'process space'))}}}")
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


def uses_categories(config: Any, kind: str) -> bool:
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

def entry_names(config: Any, kind: str) -> List[str]:
    """Names of the entries of ``kind`` in the order of the config's list for that kind."""
    o = ociolib.ocio()
    if kind == "look":
        return list(config.getLookNames())
    if kind == "colorspace":
        if ociolib.config_version(config)[0] < 2:
            return [cs.getName() for cs in config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_ALL, o.COLORSPACE_ALL)]
        return [cs.getName() for cs in config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_SCENE, o.COLORSPACE_ALL)]
    return [nt.getName() for nt in config.getNamedTransforms(o.NAMEDTRANSFORM_ALL)]


def without_entry(config: Any, kind: str, name: str) -> Any:
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


def entry_processor(config: Any, kind: str, name: str, process_space: Optional[str]) -> Any:
    """The config's own processor for an entry, mapping process-space values through it."""
    o = ociolib.ocio()
    if kind == "look":
        return config.getProcessor(o.LookTransform(src=process_space, dst=process_space, looks=name))
    if kind == "colorspace":
        return config.getProcessor(process_space, name)
    return config.getProcessor(config.getNamedTransform(name).getTransform(o.TRANSFORM_DIR_FORWARD))

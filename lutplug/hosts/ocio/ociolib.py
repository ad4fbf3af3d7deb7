"""OpenColorIO helpers shared by the OCIO host: import, versions, built-in configs, loading a
config from a file or an ``ocio://`` URI, grades, reference and process colour spaces.

Imported lazily (by the commands and API functions that need it), never at ``lutplug`` start-up.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from lutplug.errors import LutError, PathLike

#: OpenColorIO version a written config must load in unless told otherwise: the VFX Reference
#: Platform CY2026 version (OCIO 2.5), which is also the OCIO the OpenImageIO wheel bundles.
#: ``ocio://studio-config-latest`` resolves to the newest built-in config this version reads.
DEFAULT_TARGET = (2, 5)
#: An .ocioz archive is opened by OCIO 2.2 and later, so a pack targets 2.2 by default.
PACK_TARGET = (2, 2)


def ocio():
    try:
        import PyOpenColorIO
    except ImportError:  # pragma: no cover - exercised only without the extra installed
        raise LutError("the OpenColorIO host needs OpenColorIO: pip install opencolorio") from None
    return PyOpenColorIO


def library_version() -> Tuple[int, int]:
    """(major, minor) of the OpenColorIO Python library in use."""
    return parse_version(ocio().__version__)


def parse_version(text: Union[str, Sequence[int]]) -> Tuple[int, int]:
    """"2.5" / "2.5.1" / (2, 5) → (2, 5)."""
    if not isinstance(text, str):
        major, minor = tuple(text)[:2]
        return int(major), int(minor)
    m = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+)*\s*", text)
    if not m:
        raise LutError(f"OCIO version must look like 2.5, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def vstr(version: Tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def config_version(config) -> Tuple[int, int]:
    return int(config.getMajorVersion()), int(config.getMinorVersion())


# -- built-in configs --------------------------------------------------------------------------

def _builtin_profiles() -> List[Tuple[str, Tuple[int, int]]]:
    """(name, profile version) of every built-in config, as the library lists them."""
    o = ocio()
    out = []
    for name in o.BuiltinConfigRegistry():
        m = re.search(r"_ocio-v(\d+)\.(\d+)$", name)
        if m:
            out.append((name, (int(m.group(1)), int(m.group(2)))))
        else:  # pragma: no cover - naming scheme changed: ask the config itself
            out.append((name, config_version(o.Config.CreateFromBuiltinConfig(name))))
    return out


def resolve_builtin(uri: str, target: Optional[Tuple[int, int]]) -> Tuple[str, str]:
    """``ocio://NAME`` → (built-in config name, how it was chosen).

    The ``-latest`` aliases and ``default`` pick the newest config of that family (studio / cg)
    whose profile version ``target`` can load (``target=None``: the library's own newest).
    An explicitly versioned name is used as is, but refused when ``target`` cannot load it.
    """
    o = ocio()
    name = uri[len("ocio://"):] if uri.startswith("ocio://") else uri
    profiles = _builtin_profiles()
    known = dict(profiles)
    if name in known:
        if target is not None and known[name] > target:
            raise LutError(f"built-in config {name} has profile {vstr(known[name])}, which OCIO "
                           f"{vstr(target)} cannot load; pick an older one or pass "
                           f"--ocio-version {vstr(known[name])}", uri)
        return name, "as named"
    try:
        resolved = o.ResolveConfigPath("ocio://" + name)
    except Exception as exc:  # noqa: BLE001 - OCIO raises its own Exception type
        raise LutError(f"unknown built-in config ({exc})", uri) from None
    resolved = resolved[len("ocio://"):]
    if resolved not in known:
        raise LutError(f"unknown built-in config; known: {', '.join(sorted(known))}", uri)
    if target is None or known[resolved] <= target:
        return resolved, f"{uri} in OCIO {o.__version__}"
    family = resolved.split("-v", 1)[0]  # "studio-config", "cg-config"
    usable = [(v, n) for n, v in profiles if n.startswith(family + "-v") and v <= target]
    if not usable:
        raise LutError(f"no built-in {family} is readable by OCIO {vstr(target)} "
                       f"(the oldest needs {vstr(min(v for n, v in profiles if n.startswith(family)))})",
                       uri)
    chosen = max(usable)[1]
    return chosen, (f"newest {family} readable by OCIO {vstr(target)} "
                    f"({uri} is {resolved} in OCIO {o.__version__}, profile {vstr(known[resolved])})")


def is_uri(text: Union[str, PathLike]) -> bool:
    return str(text).startswith("ocio://")


def config_from_text(text: str, working_dir: Optional[PathLike], where: PathLike):
    """Parse config text (as OCIO does when reading ``where``), working dir set for relative
    search paths; a parse failure is a :class:`LutError` naming ``where``."""
    o = ocio()
    try:
        config = o.Config.CreateFromStream(text)
    except Exception as exc:  # noqa: BLE001
        raise LutError(f"not a valid OCIO config: {_oneline(exc)}", where) from None
    if working_dir is not None:
        config.setWorkingDir(str(Path(working_dir).resolve()))
    return config


def _oneline(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def oneline(exc: BaseException) -> str:
    """An exception's message on one line (OCIO's messages span several)."""
    return _oneline(exc)


# -- walking a config --------------------------------------------------------------------------

def _children(transform) -> Iterator:
    o = ocio()
    if isinstance(transform, o.GroupTransform):
        yield from transform


def _walk(transform) -> Iterator:
    if transform is None:
        return
    yield transform
    for child in _children(transform):
        yield from _walk(child)


def all_transforms(config) -> Iterator:
    """Every transform the config defines (colour spaces, looks, named and view transforms)."""
    o = ocio()
    for cs in config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_ALL, o.COLORSPACE_ALL):
        for d in (o.COLORSPACE_DIR_TO_REFERENCE, o.COLORSPACE_DIR_FROM_REFERENCE):
            yield from _walk(cs.getTransform(d))
    for look in config.getLooks():
        yield from _walk(look.getTransform())
        yield from _walk(look.getInverseTransform())
    for nt in config.getNamedTransforms(o.NAMEDTRANSFORM_ALL):
        for d in (o.TRANSFORM_DIR_FORWARD, o.TRANSFORM_DIR_INVERSE):
            yield from _walk(nt.getTransform(d))
    for vt in config.getViewTransforms():
        for d in (o.VIEWTRANSFORM_DIR_TO_REFERENCE, o.VIEWTRANSFORM_DIR_FROM_REFERENCE):
            yield from _walk(vt.getTransform(d))


def file_sources(config) -> List[str]:
    """``src`` of every FileTransform in the config (each once, in order)."""
    o = ocio()
    seen: List[str] = []
    for t in all_transforms(config):
        if isinstance(t, o.FileTransform) and t.getSrc() not in seen:
            seen.append(t.getSrc())
    return seen


def resolvable_files(config) -> dict:
    """{src: resolved path or None} for every file the config refers to."""
    ctx = config.getCurrentContext()
    out = {}
    for src in file_sources(config):
        try:
            out[src] = ctx.resolveFileLocation(src)
        except Exception:  # noqa: BLE001 - OCIO's ExceptionMissingFile
            out[src] = None
    return out


def search_dirs(config) -> List[Path]:
    """The config's search path entries as absolute folders (context variables expanded),
    the working folder when the search path is empty."""
    ctx = config.getCurrentContext()
    work = Path(config.getWorkingDir() or ".")
    entries = [e for e in config.getSearchPaths()]
    if not entries or all(not e.strip() for e in entries):
        return [work.resolve()]
    out = []
    for e in entries:
        try:
            resolved = ctx.resolveStringVar(e)
        except Exception:  # noqa: BLE001
            resolved = e
        if "$" in resolved or "%" in resolved:
            continue  # an unresolved context variable: not a folder we can name
        p = Path(resolved.strip() or ".")
        out.append((p if p.is_absolute() else work / p).resolve())
    return out


# -- colour spaces -----------------------------------------------------------------------------

def colorspace_or_none(config, name: str):
    try:
        return config.getColorSpace(name)
    except Exception:  # noqa: BLE001
        return None


def reference_space(config) -> Optional[str]:
    """Name of a scene-referred colour space that *is* the scene reference (no transform, not
    data): ``aces_interchange`` first, then the first such space. None when there is none."""
    o = ocio()

    def identity(cs) -> bool:
        return (cs is not None and not cs.isData()
                and cs.getReferenceSpaceType() == o.REFERENCE_SPACE_SCENE
                and cs.getTransform(o.COLORSPACE_DIR_TO_REFERENCE) is None
                and cs.getTransform(o.COLORSPACE_DIR_FROM_REFERENCE) is None)

    if config.hasRole("aces_interchange"):
        cs = colorspace_or_none(config, "aces_interchange")
        if identity(cs):
            return cs.getName()
    for cs in config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_SCENE, o.COLORSPACE_ALL):
        if identity(cs):
            return cs.getName()
    return None


def names_in_use(config) -> dict:
    """{name (lower case): what holds it} for colour spaces, aliases, roles and named transforms
    (one namespace in OCIO 2), plus looks (their own namespace, key prefixed "look:")."""
    o = ocio()
    used = {}
    for cs in config.getColorSpaces(o.SEARCH_REFERENCE_SPACE_ALL, o.COLORSPACE_ALL):
        used[cs.getName().lower()] = f"colour space {cs.getName()!r}"
        for alias in cs.getAliases():
            used.setdefault(alias.lower(), f"an alias of colour space {cs.getName()!r}")
    for role in config.getRoleNames():
        used.setdefault(role.lower(), f"role {role!r}")
    for nt in config.getNamedTransforms(o.NAMEDTRANSFORM_ALL):
        used.setdefault(nt.getName().lower(), f"named transform {nt.getName()!r}")
        for alias in nt.getAliases():
            used.setdefault(alias.lower(), f"an alias of named transform {nt.getName()!r}")
    for look in config.getLookNames():
        used["look:" + look.lower()] = f"look {look!r}"
    return used


def identify_builtin(config, name: str) -> Optional[str]:
    """The config's colour space equivalent to built-in ``name`` (e.g. an "ACEScct" tag in a
    config that calls it "ACES - ACEScct"), found numerically by OCIO; None when unknown."""
    o = ocio()
    if not hasattr(o.Config, "IdentifyBuiltinColorSpace"):  # pragma: no cover - OCIO < 2.3
        return None
    try:
        builtin = o.Config.CreateFromBuiltinConfig("studio-config-latest")
        if builtin.getColorSpace(name) is None:
            return None
        found = o.Config.IdentifyBuiltinColorSpace(config, builtin, name)
    except Exception:  # noqa: BLE001 - no interchange role, no match, ...
        return None
    return found or None

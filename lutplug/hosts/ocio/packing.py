"""``lutplug ocio pack``: grades → an OCIO archive (.ocioz: the config plus the baked cubes) that
``ocioarchive --extract`` and OpenColorIO 2.2+ applications open directly."""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_path
from lutplug.hosts.ocio import ociolib
from lutplug.hosts.ocio.configfile import base_text
from lutplug.hosts.ocio.edit import plan_edit
from lutplug.hosts.ocio.entries import SECTIONS, entry_names, entry_processor
from lutplug.hosts.ocio.grades import DEFAULT_SIZE, grade_label, load_grade
from lutplug.hosts.ocio.verification import apply_cpu, sample_points

DEFAULT_BASE = "ocio://studio-config-latest"


@dataclasses.dataclass
class PackResult:
    output: Path
    base: str
    profile: str
    entries: List[Tuple[str, str, Optional[str]]]  # (name, cube file, process space)
    bytes: int
    max_abs: float


def _copy_search_folders(config, base_dir: Path, dest: Path) -> None:
    """Copy a file config's relative search-path folders (what its FileTransforms use) into
    ``dest``; an absolute or escaping entry makes the config unarchivable (OCIO's rule)."""
    for entry in config.getSearchPaths():
        e = entry.strip()
        if not e:
            e = "."
        p = Path(e)
        if p.is_absolute() or ".." in p.parts or "$" in e or "%" in e:
            raise LutError(f"search path entry {entry!r} is absolute, leaves the config's folder "
                           "or uses a context variable: OCIO cannot archive such a config", base_dir)
        src = (base_dir / p).resolve()
        if not src.is_dir():
            continue
        target = dest / p
        if p == Path("."):
            for f in src.iterdir():
                if f.is_file() and f.suffix.lower() not in (".ocio", ".ocioz", ".bak"):
                    shutil.copy2(f, dest / f.name)
        else:
            shutil.copytree(src, target, dirs_exist_ok=True)


def pack(grades: Sequence, output: PathLike, *, names: Optional[Sequence[str]] = None,
         base: PathLike = DEFAULT_BASE, kind: str = "look", process_space: Optional[str] = None,
         size: int = DEFAULT_SIZE, target: Optional[Tuple[int, int]] = ociolib.PACK_TARGET,
         trusted_keys: Sequence = (), require_signature: bool = False) -> PackResult:
    """Write an .ocioz holding ``base`` (a built-in, by default the newest studio config that
    OCIO ``target`` reads, or a config file) plus one ``kind`` entry per grade, named by
    ``names`` (default: each file's name without .nlut)."""
    o = ociolib.ocio()
    out = Path(output)
    if out.suffix.lower() != ".ocioz":
        raise LutError("an OCIO archive's name must end in .ocioz", out)
    if not grades:
        raise LutError("give at least one .nlut to pack")
    loaded = [load_grade(g, trusted_keys, require_signature) for g in grades]
    if names is None:
        names = [Path(g).stem if not hasattr(g, "bake") else grade_label(g) for g in grades]
    names = list(names)
    if len(names) != len(loaded):
        raise LutError(f"{len(loaded)} grades but {len(names)} names")
    seen = {}
    for n in names:
        if n.lower() in seen:
            raise LutError(f"two grades would be named {n!r}; rename a file or give --name for each")
        seen[n.lower()] = True
    text, where, base_dir, builtin = base_text(base, target)
    if not out.parent.is_dir():
        raise LutError("folder does not exist", out.parent)
    with tempfile.TemporaryDirectory(prefix="lutplug-pack-") as tmp:
        work = Path(tmp)
        cfg_path = work / "config.ocio"
        if base_dir is not None:  # a config file (a built-in has no folder of its own)
            _copy_search_folders(ociolib.config_from_text(text, base_dir, where), base_dir, work)
        entries = []
        for nlut, name, grade in zip(loaded, names, grades):
            label = grade_label(nlut, Path(grade).stem if not hasattr(grade, "bake") else name)
            plan = plan_edit(text, where, work, cfg_path, nlut, name, kind, process_space, size,
                             False, None, None, label)
            text, where = plan.text, str(cfg_path)
            cfg_path.write_text(text, encoding="utf-8")
            entries.append((name, plan.cube_src, plan.process_space))
        config = o.Config.CreateFromFile(str(cfg_path))
        if not config.isArchivable():
            raise LutError("OpenColorIO says the packed config is not archivable (absolute or "
                           "context-variable search paths or file references)", where)
        profile = ociolib.config_version(config)
        if target is not None and profile > target:
            raise LutError(f"the packed config has profile {ociolib.vstr(profile)}, newer than "
                           f"OCIO {ociolib.vstr(target)} reads", where)
        try:
            with atomic_path(out, suffix=".ocioz") as tmp_out:
                config.archive(str(tmp_out))
                _fix_config_mode(tmp_out)
                max_abs = _check_archive(tmp_out, loaded, names, kind, entries, size)
        except OSError as exc:
            raise LutError(f"cannot write the archive ({exc.strerror})", out) from None
    return PackResult(out, where if not builtin else base_text_label(base, target), ociolib.vstr(profile),
                      entries, out.stat().st_size, max_abs)


def _fix_config_mode(path: Path) -> None:
    """OpenColorIO's archiver stores ``config.ocio`` with Unix mode 0, so ``ocioarchive
    --extract`` (run by anyone but root) writes a config nobody can read. Give that entry the
    usual rw-r--r-- in the zip's central directory (the only place the mode lives)."""
    import struct

    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    if end < 0:
        raise LutError("OpenColorIO wrote an archive without a zip directory", path)
    count, size, offset = struct.unpack_from("<HII", data, end + 10)
    pos = offset
    for _ in range(count):
        if data[pos:pos + 4] != b"PK\x01\x02":
            raise LutError("unexpected zip directory in the archive OpenColorIO wrote", path)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        name = bytes(data[pos + 46:pos + 46 + name_len])
        made_by_os = data[pos + 5]
        (attrs,) = struct.unpack_from("<I", data, pos + 38)
        if name == b"config.ocio" and made_by_os == 3 and (attrs >> 16) & 0o777 == 0:
            struct.pack_into("<I", data, pos + 38, (0o100644 << 16) | (attrs & 0xFFFF))
        pos += 46 + name_len + extra_len + comment_len
    with open(path, "wb") as fh:
        fh.write(data)


def base_text_label(base, target) -> str:
    name, how = ociolib.resolve_builtin(str(base), target)
    return f"ocio://{name} ({how})"


def _check_archive(path: Path, grades, names, kind: str, entries, size: int) -> float:
    """Open the written archive with OpenColorIO and check every entry reproduces its grade."""
    from lutplug.hosts.ocio.processing import processor

    o = ociolib.ocio()
    o.ClearAllCaches()
    try:
        config = o.Config.CreateFromFile(str(path))
    except Exception as exc:  # noqa: BLE001
        raise LutError(f"OpenColorIO cannot open the archive it wrote: {ociolib.oneline(exc)}",
                       path) from None
    have = [n.lower() for n in entry_names(config, kind)]
    worst = 0.0
    for nlut, name, (_, _, ps) in zip(grades, names, entries):
        if name.lower() not in have:
            raise LutError(f"the archive lacks {SECTIONS[kind]} entry {name!r}", path)
        x = sample_points(nlut, 1024)
        got = apply_cpu(entry_processor(config, kind, name, ps), x)
        want = apply_cpu(processor(nlut, size), x)
        diff = float(np.max(np.abs(got - want)))
        if not diff <= 5e-4 * max(1.0, float(np.max(np.abs(want)))):
            raise LutError(f"entry {name!r} in the archive does not reproduce its grade "
                           f"(max abs {diff:.3g})", path)
        worst = max(worst, diff)
    return worst

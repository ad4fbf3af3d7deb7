"""Install / uninstall the GIMP 3 filter into a GIMP profile.

``install`` writes one self-contained folder, ``PROFILE/plug-ins/lutplug-apply/``::

    lutplug-apply.py      the plug-in (executable; GIMP 3 wants plug-ins/NAME/NAME.py)
    lib/lutplug/...       a copy of exactly the lutplug modules it needs (numpy-only code)
    vendor/...            numpy + cryptography (+ cffi, pycparser) unpacked from wheels built
                          for GIMP's Python (CPython 3.13 on current GIMP 3 builds)
    settings.json         signature policy (trusted keys in keys/, require a signature)
    keys/*.pub            trusted public keys (--trust)
    MANIFEST.json         every file written, with its SHA-256: what ``uninstall`` removes

That folder alone, copied into any GIMP 3 profile of the same platform, works. Wheels come from
PyPI through ``pip download`` (said so before it happens, and kept in a cache folder for later
offline installs), or offline from a folder of wheels (``wheels=DIR``: ``pip --no-index
--find-links DIR``). The folder is built beside its final place and swapped in, so a failed
install never leaves half a plug-in; files a user added to an earlier installation are kept.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from lutplug.errors import LutError
from lutplug.fileio import archive_member_path, exchange
from lutplug.hosts.gimp import PLUGIN_NAME, PROC_NAME

MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = "lutplug-gimp-plugin/1"
#: What GIMP's Python needs besides the standard library (cryptography: signature checks).
REQUIREMENTS = ("numpy", "cryptography")
DEFAULT_PYTHON = "3.13"
#: lutplug modules the plug-in imports (relative to the lutplug package). core/formats/*.py are
#: all needed: the format registry imports them by name to detect a file's format.
VENDORED_MODULES = (
    "__init__.py", "errors.py", "fileio.py",
    "core/__init__.py", "core/lut.py", "core/interpolate.py", "core/formats/*.py",
    "codec/nlut.py", "codec/model.py", "codec/quantize.py", "codec/container.py",
    "codec/tensorfile.py", "codec/signing.py", "codec/trust.py",
    "evaluate/__init__.py", "evaluate/load.py",
    "hosts/__init__.py", "hosts/gimp/__init__.py", "hosts/gimp/engine.py",
)
PLUGIN_SOURCE = Path(__file__).resolve().parent / "plugin" / "lutplug_apply.py"
_BYTECODE = ("__pycache__",)

Echo = Callable[[str], None]


# ------------------------------------------------------------------------------ profiles --

def profile_candidates(environ=None, home: Optional[Path] = None,
                       system: Optional[str] = None) -> List[Path]:
    """Where GIMP 3 keeps its profile on this system, most specific first ($GIMP3_DIRECTORY,
    then the native, Flatpak and Snap locations); not all of them exist."""
    env = os.environ if environ is None else environ
    home = Path(home) if home is not None else Path.home()
    system = system or platform.system()
    if env.get("GIMP3_DIRECTORY"):
        return [Path(env["GIMP3_DIRECTORY"]).expanduser()]
    bases: List[Path] = []
    if system == "Windows":
        appdata = env.get("APPDATA")
        bases.append(Path(appdata) / "GIMP" if appdata else home / "AppData" / "Roaming" / "GIMP")
    elif system == "Darwin":
        bases.append(home / "Library" / "Application Support" / "GIMP")
    else:
        xdg = env.get("XDG_CONFIG_HOME")
        bases.append((Path(xdg) if xdg else home / ".config") / "GIMP")
        bases.append(home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP")
        bases.append(home / "snap" / "gimp" / "current" / ".config" / "GIMP")
    out = []
    for base in bases:
        versions = sorted((p for p in base.glob("3.*") if p.is_dir() and re.fullmatch(r"3\.\d+", p.name)),
                          key=lambda p: int(p.name.split(".")[1]), reverse=True)
        out += versions or [base / "3.0"]
    return out


def find_profile(environ=None, home: Optional[Path] = None, system: Optional[str] = None) -> Path:
    """The user's GIMP 3 profile folder. Raises LutError when there is none, or when several
    GIMP installations (native, Flatpak, Snap) each have one and --gimp-dir must choose."""
    cands = profile_candidates(environ, home, system)
    env = os.environ if environ is None else environ
    if env.get("GIMP3_DIRECTORY"):
        return cands[0]
    existing = [p for p in cands if p.is_dir()]
    if not existing:
        raise LutError("no GIMP 3 profile found (looked in " + ", ".join(map(str, cands))
                       + "): start GIMP 3 once so it creates one, or give --gimp-dir")
    roots = {}
    for p in existing:  # newest 3.x per installation
        roots.setdefault(p.parent, p)
    if len(roots) > 1:
        raise LutError("several GIMP 3 profiles found (" + ", ".join(map(str, roots.values()))
                       + "): choose one with --gimp-dir")
    return next(iter(roots.values()))


def plugin_dir(profile: Path) -> Path:
    return Path(profile) / "plug-ins" / PLUGIN_NAME


# --------------------------------------------------------------------- GIMP's Python --

@dataclasses.dataclass
class Target:
    """The Python that GIMP runs plug-ins with: version and wheel platform tags."""

    python_version: str
    platforms: List[str]
    how: str  # how it was determined (shown to the user)

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    def describe(self) -> str:
        """e.g. "CPython 3.13, Linux x86_64 (manylinux, glibc <= 2.41)"."""
        first = self.platforms[0] if self.platforms else "?"
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", first)
        if m:
            where = f"Linux {m.group(3)} (manylinux, glibc <= {m.group(1)}.{m.group(2)})"
        elif first.startswith("win"):
            where = f"Windows ({first})"
        elif first.startswith("macosx"):
            where = f"macOS ({first.split('_', 3)[-1]})"
        else:
            where = first
        return f"CPython {self.python_version}, {where}"


def _machine() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(m, m)


def platform_tags(system: Optional[str] = None, machine: Optional[str] = None,
                  glibc: Optional[str] = None) -> List[str]:
    """Wheel platform tags for GIMP's Python on ``system``/``machine`` (defaults: this one)."""
    system = system or platform.system()
    machine = machine or _machine()
    if system == "Windows":
        return ["win_arm64" if machine == "aarch64" else "win_amd64"]
    if system == "Darwin":
        arch = "arm64" if machine in ("arm64", "aarch64") else "x86_64"
        vers = [(10, m) for m in range(9, 16)] + [(v, 0) for v in range(11, 16)]
        return [f"macosx_{a}_{b}_{arch}" for a, b in reversed(vers)] + \
               [f"macosx_{a}_{b}_universal2" for a, b in reversed(vers)]
    if glibc is None:
        lib, ver = platform.libc_ver()
        glibc = ver if lib == "glibc" and ver else "2.28"
    minor = int(glibc.split(".")[1])
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 16, -1)]
    if machine in ("x86_64", "aarch64", "i686"):
        tags.append(f"manylinux2014_{machine}")
    return tags


_INTERP_GLOBS = ("/usr/lib*/gimp/3.*/interpreters/*.interp",
                 "/usr/lib/*/gimp/3.*/interpreters/*.interp",
                 "/usr/local/lib*/gimp/3.*/interpreters/*.interp")


def gimp_python() -> Optional[str]:
    """The interpreter a locally installed (distribution) GIMP 3 runs Python plug-ins with, or
    None when no such GIMP is found (Flatpak, Snap, Windows and macOS bundle their own)."""
    import glob

    for pattern in _INTERP_GLOBS:
        for interp in glob.glob(pattern):
            try:
                text = Path(interp).read_text(errors="replace")
            except OSError:
                continue
            m = re.search(r"^python3?=(\S+)", text, re.M)
            if m and os.access(m.group(1), os.X_OK):
                return m.group(1)
    for exe in ("gimp-3.0", "gimp-console-3.0", "gimp-3", "gimp-console-3"):
        if shutil.which(exe) and os.access("/usr/bin/python3", os.X_OK):
            return "/usr/bin/python3"  # plug-ins run through `#!/usr/bin/env python3`
    return None


def detect_target(python_version: Optional[str] = None,
                  platforms: Optional[Sequence[str]] = None,
                  profile: Optional[Path] = None) -> Target:
    """GIMP's Python version and platform tags: given, asked of the local GIMP's interpreter,
    or the default (3.13, this machine's platform)."""
    if python_version and platforms:
        return Target(python_version, list(platforms), "as given")
    how = "as given"
    glibc = None
    if not python_version:
        exe = None
        if profile is None or not any(s in str(profile) for s in ("/.var/app/", "/snap/")):
            exe = gimp_python()
        if exe:
            try:
                out = subprocess.run(
                    [exe, "-c", "import sys, platform; print('%d.%d' % sys.version_info[:2]); "
                                "print(platform.libc_ver()[1])"],
                    capture_output=True, text=True, timeout=30, check=True).stdout.split()
                python_version = out[0]
                glibc = out[1] if len(out) > 1 else None
                how = f"GIMP's Python {exe}"
            except (OSError, subprocess.SubprocessError, IndexError):
                exe = None
        if not python_version:
            python_version = DEFAULT_PYTHON
            how = (f"default: Python {DEFAULT_PYTHON}, as current GIMP 3 builds ship (no local "
                   "GIMP interpreter found; pass --python-version if yours differs)")
            if profile is not None and ("/.var/app/" in str(profile) or "/snap/" in str(profile)):
                how += ("; a Flatpak/Snap GIMP runs its own Python: check it with e.g. `flatpak "
                        "run --command=python3 org.gimp.GIMP --version`")
    if not re.fullmatch(r"3\.\d+", python_version):
        raise LutError(f"--python-version must look like 3.13, got {python_version!r}")
    return Target(python_version, list(platforms) if platforms else platform_tags(glibc=glibc), how)


# ------------------------------------------------------------------------------- wheels --

def wheel_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lutplug" / "gimp-wheels"


def pip_command(dest: Path, target: Target, wheels: Optional[Path],
                requirements: Sequence[str] = REQUIREMENTS) -> List[str]:
    """``pip download`` of binary wheels for ``target`` into ``dest``; offline from ``wheels``."""
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
           "--dest", str(dest), "--only-binary=:all:", "--implementation", "cp",
           "--python-version", target.python_version, "--abi", target.abi, "--abi", "abi3",
           "--abi", "none"]
    for tag in target.platforms:
        cmd += ["--platform", tag]
    if wheels is not None:
        cmd += ["--no-index", "--find-links", str(wheels)]
    return cmd + list(requirements)


def fetch_wheels(dest: Path, target: Target, wheels: Optional[Path], echo: Echo,
                 keep_in: Optional[Path] = None) -> List[Path]:
    """Wheels for ``target`` in ``dest`` (downloaded, or copied from ``wheels``)."""
    if wheels is not None:
        wheels = Path(wheels)
        if not wheels.is_dir():
            raise LutError("wheel folder does not exist", wheels)
        echo(f"using wheels from {wheels} (offline): {', '.join(REQUIREMENTS)} and their "
             f"dependencies for {target.describe()}")
    else:
        echo(f"downloading from PyPI with pip: {', '.join(REQUIREMENTS)} (+ cffi, pycparser) "
             f"binary wheels for {target.describe()} (about 20 MB)")
    proc = subprocess.run(pip_command(dest, target, wheels), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        where = f"in {wheels}" if wheels is not None else "on PyPI (is the network reachable?)"
        raise LutError(f"pip could not get wheels for {target.describe()} {where}:\n{tail}")
    got = sorted(Path(dest).glob("*.whl"))
    names = {_wheel_name(w) for w in got}
    missing = [r for r in REQUIREMENTS if r not in names]
    if missing:
        raise LutError(f"no wheel for {', '.join(missing)} was found")
    for w in got:
        echo(f"  {w.name} ({w.stat().st_size / 1e6:.1f} MB)")
    if wheels is None and keep_in is not None:
        try:
            keep_in.mkdir(parents=True, exist_ok=True)
            for w in got:
                if not (keep_in / w.name).exists():
                    shutil.copy2(w, keep_in / w.name)
            echo(f"  (kept in {keep_in}; install offline later with --wheels {keep_in})")
        except OSError as exc:
            echo(f"  (could not keep the wheels in {keep_in}: {exc.strerror})")
    return got


def _wheel_name(path: Path) -> str:
    return re.sub(r"[-_.]+", "-", path.name.split("-")[0]).lower()


def unpack_wheel(wheel: Path, dest: Path) -> List[str]:
    """Install a wheel's importable files into ``dest`` (what ``pip install --target`` does for
    pure and platform libraries; scripts, headers and data files are left out). Returns the
    relative paths written."""
    written = []
    dest = Path(dest)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename
            parts = name.split("/")
            if parts[0].endswith(".data"):
                if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
                    parts = parts[2:]
                else:
                    continue
            # no absolute path, '..', link or device file (zip-slip)
            rel = archive_member_path("/".join(parts), info.external_attr >> 16
                                      if info.create_system == 3 else 0, wheel)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, 0o755 if mode & 0o111 else 0o644)
            written.append(rel)
    return written


# ------------------------------------------------------------------------------ install --

@dataclasses.dataclass
class InstallResult:
    folder: Path
    files: int
    bytes: int
    python_version: str
    wheels: List[str]
    kept: List[str]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_root() -> Path:
    import lutplug

    return Path(lutplug.__file__).resolve().parent


def vendored_sources(root: Optional[Path] = None) -> List[Tuple[Path, str]]:
    """(source file, path relative to the lutplug package) of every module the plug-in needs."""
    root = root or package_root()
    out = []
    for pattern in VENDORED_MODULES:
        matches = sorted(root.glob(pattern))
        if not matches:
            raise LutError(f"lutplug module {pattern} is missing from {root}")
        out += [(m, m.relative_to(root).as_posix()) for m in matches]
    return out


def read_manifest(folder: Path) -> Optional[dict]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LutError(f"install manifest is unreadable ({exc})", path) from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise LutError("not a lutplug install manifest", path)
    return data


def _foreign_files(folder: Path, manifest: dict) -> List[str]:
    """Files in an installed folder that the installation did not write (bytecode excluded)."""
    ours = set(manifest.get("files", {}))
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if (p.is_dir() or rel in ours or rel == MANIFEST
                or any(part in _BYTECODE for part in p.parts)):
            continue
        out.append(rel)
    return out


def install(gimp_dir: Optional[os.PathLike] = None, wheels: Optional[os.PathLike] = None,
            no_wheels: bool = False, python_version: Optional[str] = None,
            platforms: Optional[Sequence[str]] = None, trust: Sequence[os.PathLike] = (),
            require_signature: bool = False, force: bool = False,
            echo: Echo = print, cache: Optional[Path] = None) -> InstallResult:
    """Write PROFILE/plug-ins/lutplug-apply/ (see the module docstring)."""
    from lutplug import __version__

    profile = Path(gimp_dir).expanduser() if gimp_dir else find_profile()
    if not profile.is_dir():
        # Not created here: GIMP only sets up a profile folder that does not exist yet.
        raise LutError("GIMP profile folder does not exist: start GIMP 3 once so it creates it "
                       "(or give the right --gimp-dir)", profile)
    folder = plugin_dir(profile)
    old = read_manifest(folder) if folder.exists() else None
    if folder.exists() and old is None and not force:
        raise LutError("a plug-in folder that lutplug did not install is already there: move it "
                       "away, or pass --force to replace it (it is kept as a backup)", folder)
    target = detect_target(python_version, platforms, profile)
    echo(f"installing the lutplug GIMP filter into {folder}")
    echo(f"  GIMP's Python: {target.python_version} ({target.how})")
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}.new-", dir=folder.parent))
    try:
        files = _build(stage, target, wheels, no_wheels, trust, require_signature, echo,
                       cache if cache is not None else wheel_cache())
        kept = []
        if old is not None:  # keep what the user added to the previous installation
            for rel in _foreign_files(folder, old):
                dst = stage / rel
                if rel in files or dst.exists():
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(folder / rel, dst)
                kept.append(rel)
        wheel_names = sorted(files.pop("__wheels__"))
        parents = {Path(rel).parent.as_posix() for rel in files} - {"."}
        manifest = {
            "format": MANIFEST_FORMAT, "plugin": PLUGIN_NAME, "procedure": PROC_NAME,
            "lutplug": __version__,
            "installed": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            "python_version": target.python_version, "platforms": target.platforms,
            "wheels": wheel_names,
            # files carried over from an earlier installation are not ours: not listed
            "files": {rel: _sha256(stage / rel) for rel in sorted(files)},
            "dirs": sorted(_all_parents(parents)),
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.chmod(stage, 0o755)
        _swap_in(stage, folder, old is None and folder.exists(), echo)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    total = sum((folder / r).stat().st_size for r in manifest["files"])
    echo(f"installed {len(manifest['files'])} files ({total / 1e6:.1f} MB): restart GIMP, then "
         f"Filters > Colors > Apply Compressed LUT... (PDB: {PROC_NAME})")
    if kept:
        echo(f"  kept {len(kept)} file(s) you had added: {', '.join(kept[:5])}")
    return InstallResult(folder, len(manifest["files"]), total, target.python_version,
                         manifest["wheels"], kept)


def _all_parents(dirs: Iterable[str]) -> set:
    out = set()
    for d in dirs:
        parts = d.split("/")
        for k in range(1, len(parts) + 1):
            out.add("/".join(parts[:k]))
    return out


def _build(stage: Path, target: Target, wheels, no_wheels: bool, trust, require_signature: bool,
           echo: Echo, cache: Path) -> Dict[str, bool]:
    """Fill ``stage``; returns {relative path: True} of every file written (plus the wheel names
    under the "__wheels__" key)."""
    files: Dict[str, object] = {}
    main = stage / f"{PLUGIN_NAME}.py"
    shutil.copyfile(PLUGIN_SOURCE, main)
    os.chmod(main, 0o755)
    files[main.name] = True
    for src, rel in vendored_sources():
        dst = stage / "lib" / "lutplug" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)
        files[f"lib/lutplug/{rel}"] = True
    names: List[str] = []
    if no_wheels:
        echo("  no wheels: GIMP's Python must provide numpy (and cryptography for signatures)")
    else:
        with tempfile.TemporaryDirectory(prefix="lutplug-wheels-") as tmp:
            for whl in fetch_wheels(Path(tmp), target, Path(wheels) if wheels else None, echo,
                                    keep_in=cache):
                for rel in unpack_wheel(whl, stage / "vendor"):
                    files[f"vendor/{rel}"] = True
                names.append(whl.name)
    keys = []
    for i, key in enumerate(trust):
        key = Path(key)
        data = key.read_bytes() if key.is_file() else None
        if not data or b"PUBLIC KEY" not in data:
            raise LutError("not a PEM public key file", key)
        rel = f"keys/{i:02d}-{re.sub(r'[^A-Za-z0-9._-]', '_', key.name)}"
        (stage / "keys").mkdir(exist_ok=True)
        (stage / rel).write_bytes(data)
        files[rel] = True
        keys.append(rel)
    settings = {"trusted_keys": keys, "require_signature": bool(require_signature)}
    (stage / "settings.json").write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
    files["settings.json"] = True
    if keys or require_signature:
        echo(f"  signature policy: {len(keys)} trusted key(s), "
             f"{'unsigned files refused' if require_signature else 'unsigned files accepted'}")
    files["__wheels__"] = names
    return files


def _swap_in(stage: Path, folder: Path, foreign: bool, echo: Echo) -> None:
    if folder.exists():
        if foreign:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            backup = folder.with_name(f"{folder.name}.backup-{stamp}")
            os.replace(folder, backup)
            echo(f"  the previous folder (not installed by lutplug) was moved to {backup}")
        else:
            if exchange(stage, folder):  # one atomic step: GIMP never sees a missing folder
                shutil.rmtree(stage, ignore_errors=True)
                return
            old = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}.old-", dir=folder.parent))
            os.rmdir(old)
            os.replace(folder, old)
            os.replace(stage, folder)
            shutil.rmtree(old, ignore_errors=True)
            return
    os.replace(stage, folder)


# ---------------------------------------------------------------------------- uninstall --

@dataclasses.dataclass
class UninstallResult:
    folder: Path
    removed: int
    modified: List[str]
    left: List[str]


def uninstall(gimp_dir: Optional[os.PathLike] = None, echo: Echo = print) -> UninstallResult:
    """Remove exactly what ``install`` wrote (the manifest's files, the bytecode Python made
    beside them, the folders that end up empty); anything else in the folder is left."""
    profile = Path(gimp_dir).expanduser() if gimp_dir else find_profile()
    folder = plugin_dir(profile)
    if not folder.exists():
        raise LutError("the lutplug GIMP filter is not installed here", folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise LutError(f"no {MANIFEST}: this folder was not installed by lutplug; nothing removed",
                       folder)
    removed, modified = 0, []
    for rel, digest in manifest["files"].items():
        p = folder / rel
        if not p.is_file():
            continue
        if _sha256(p) != digest:
            modified.append(rel)
        p.unlink()
        removed += 1
    dirs = sorted(set(manifest.get("dirs", [])), key=lambda d: d.count("/"), reverse=True)
    for d in dirs + ["."]:  # bytecode written by GIMP's Python next to our modules
        base = folder / d
        for cache in list(base.glob("__pycache__")):
            if cache.is_dir():
                for f in cache.iterdir():
                    if f.is_file() and f.suffix == ".pyc":
                        f.unlink()
                        removed += 1
                _rmdir_if_empty(cache)
    for d in dirs:
        _rmdir_if_empty(folder / d)
    (folder / MANIFEST).unlink()
    removed += 1
    left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    _rmdir_if_empty(folder)
    echo(f"removed {removed} files installed by lutplug from {folder}")
    if modified:
        echo(f"  ({len(modified)} of them had been changed since: {', '.join(modified[:5])})")
    if left:
        echo(f"  left {len(left)} file(s) lutplug did not install: {', '.join(left[:5])}")
    return UninstallResult(folder, removed, modified, left)


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


# ------------------------------------------------------------------------------- status --

def status(gimp_dir: Optional[os.PathLike] = None) -> dict:
    """What is installed where, and whether it is up to date with this lutplug."""
    from lutplug import __version__

    profile = Path(gimp_dir).expanduser() if gimp_dir else find_profile()
    folder = plugin_dir(profile)
    out = {"profile": str(profile), "folder": str(folder), "installed": False}
    manifest = read_manifest(folder) if folder.exists() else None
    if manifest is None:
        out["foreign_folder"] = folder.exists()
        return out
    changed = [rel for rel, d in manifest["files"].items()
               if not (folder / rel).is_file() or _sha256(folder / rel) != d]
    current = {f"lib/lutplug/{rel}": _sha256(src) for src, rel in vendored_sources()}
    current[f"{PLUGIN_NAME}.py"] = _sha256(PLUGIN_SOURCE)
    stale = sorted(rel for rel, d in current.items()
                   if not (folder / rel).is_file() or _sha256(folder / rel) != d)
    out.update(installed=True, lutplug=manifest.get("lutplug"), when=manifest.get("installed"),
               python_version=manifest.get("python_version"), wheels=manifest.get("wheels", []),
               files=len(manifest["files"]), changed_since_install=changed,
               differs_from_this_lutplug=stale, this_lutplug=__version__)
    return out

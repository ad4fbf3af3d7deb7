"""Where GIMP 3 keeps the user's profile (native, Flatpak, Snap; Linux, Windows, macOS), and the
filter's folder in it."""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from lutplug.errors import LutError
from lutplug.hosts.gimp import PLUGIN_NAME


def profile_candidates(environ: Optional[Mapping[str, str]] = None, home: Optional[Path] = None,
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
        versions = sorted((p for p in base.glob("3.*")
                           if p.is_dir() and re.fullmatch(r"3\.\d+", p.name)),
                          key=lambda p: int(p.name.split(".")[1]), reverse=True)
        out += versions or [base / "3.0"]
    return out


def find_profile(environ: Optional[Mapping[str, str]] = None, home: Optional[Path] = None,
                 system: Optional[str] = None) -> Path:
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
    roots: Dict[Path, Path] = {}
    for p in existing:  # newest 3.x per installation
        roots.setdefault(p.parent, p)
    if len(roots) > 1:
        raise LutError("several GIMP 3 profiles found (" + ", ".join(map(str, roots.values()))
                       + "): choose one with --gimp-dir")
    return next(iter(roots.values()))


def plugin_dir(profile: Path) -> Path:
    """The filter's folder in a GIMP profile (GIMP 3 wants plug-ins/NAME/NAME.py)."""
    return Path(profile) / "plug-ins" / PLUGIN_NAME

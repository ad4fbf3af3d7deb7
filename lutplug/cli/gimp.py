"""``lutplug gimp …``: install, uninstall and inspect the GIMP 3 filter.

Imports only click at module import (the main CLI loads this module at start-up).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Tuple

import click

_GIMP_DIR_HELP = ("GIMP 3 profile folder (e.g. ~/.config/GIMP/3.0). Default: $GIMP3_DIRECTORY, "
                  "else the profile found on this system.")


@click.group(name="gimp")
def group() -> None:
    """The GIMP 3 filter "Filters > Colors > Apply Compressed LUT…" (PDB plug-in-lutplug-apply)."""


@group.command()
@click.option("--gimp-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help=_GIMP_DIR_HELP)
@click.option("--wheels", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Install offline from this folder of wheels (see `lutplug gimp download-wheels`; "
                   "earlier downloads are kept in ~/.cache/lutplug/gimp-wheels).")
@click.option("--no-wheels", is_flag=True,
              help="Vendor no wheels: GIMP's Python must already have numpy (and cryptography).")
@click.option("--python-version", default=None, metavar="X.Y",
              help="GIMP's Python version (default: asked of the local GIMP's interpreter, else 3.13).")
@click.option("--platform", "platforms", multiple=True, metavar="TAG",
              help="Wheel platform tag(s) of GIMP's machine (default: this machine's).")
@click.option("--trust", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Trusted public key (PEM); a signed .nlut must be signed by one of them. Repeatable.")
@click.option("--require-signature", is_flag=True, help="Refuse unsigned .nlut files.")
@click.option("--force", is_flag=True,
              help="Replace a plug-in folder of the same name that lutplug did not install "
                   "(it is moved to a backup).")
def install(gimp_dir: Optional[Path], wheels: Optional[Path], no_wheels: bool,
            python_version: Optional[str], platforms: Tuple[str, ...], trust: Tuple[Path, ...],
            require_signature: bool, force: bool) -> None:
    """Install the filter into a GIMP 3 profile (one self-contained plug-in folder)."""
    from lutplug.hosts.gimp.install import install as run_install

    if wheels is not None and no_wheels:
        raise click.UsageError("--wheels and --no-wheels exclude each other")
    run_install(gimp_dir, wheels=wheels, no_wheels=no_wheels, python_version=python_version,
                platforms=platforms or None, trust=trust, require_signature=require_signature,
                force=force, echo=click.echo)


@group.command()
@click.option("--gimp-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help=_GIMP_DIR_HELP)
def uninstall(gimp_dir: Optional[Path]) -> None:
    """Remove exactly the files `lutplug gimp install` wrote."""
    from lutplug.hosts.gimp.installed import uninstall as run_uninstall

    run_uninstall(gimp_dir, echo=click.echo)


@group.command()
@click.option("--gimp-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help=_GIMP_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(gimp_dir: Optional[Path], as_json: bool) -> None:
    """Where the filter is installed, for which Python, and whether it is up to date."""
    from lutplug.hosts.gimp.installed import status as run_status

    st = run_status(gimp_dir)
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(f"profile    {st['profile']}")
    if not st["installed"]:
        extra = " (a folder of that name exists, not installed by lutplug)" if st.get("foreign_folder") else ""
        click.echo(f"filter     not installed{extra}")
        return
    click.echo(f"filter     {st['folder']}")
    click.echo(f"installed  {st['when']} by lutplug {st['lutplug']}, {st['files']} files, "
               f"for Python {st['python_version']}")
    click.echo(f"wheels     {', '.join(st['wheels']) or 'none (GIMP’s own packages)'}")
    if st["changed_since_install"]:
        click.echo(f"changed    {len(st['changed_since_install'])} file(s) since install: "
                   f"{', '.join(st['changed_since_install'][:5])}")
    if st["differs_from_this_lutplug"]:
        click.echo(f"outdated   {len(st['differs_from_this_lutplug'])} module(s) differ from this "
                   f"lutplug {st['this_lutplug']}: run `lutplug gimp install` again")
    else:
        click.echo("up to date with this lutplug")


@group.command(name="download-wheels")
@click.option("-d", "--dest", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to put the wheels in (then: lutplug gimp install --wheels DEST).")
@click.option("--python-version", default=None, metavar="X.Y",
              help="GIMP's Python version (default: the local GIMP's, else 3.13).")
@click.option("--platform", "platforms", multiple=True, metavar="TAG",
              help="Wheel platform tag(s) (default: this machine's).")
def download_wheels(dest: Path, python_version: Optional[str], platforms: Tuple[str, ...]) -> None:
    """Download the wheels the filter vendors, for an offline install later."""
    import shutil
    import tempfile

    from lutplug.hosts.gimp.target import detect_target
    from lutplug.hosts.gimp.wheels import fetch_wheels

    target = detect_target(python_version, platforms or None)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lutplug-wheels-") as tmp:
        got = fetch_wheels(Path(tmp), target, None, click.echo)
        for w in got:
            shutil.copy2(w, dest / w.name)
    click.echo(f"{len(got)} wheels in {dest}: lutplug gimp install --wheels {dest}")

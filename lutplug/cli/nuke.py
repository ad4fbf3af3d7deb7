"""``lutplug nuke ...``: standalone LutPlug gizmos and pasteable nodes (no lutplug needed in Nuke).

Imports nothing heavy at import time (the main CLI registers this group on start-up).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

import click

if TYPE_CHECKING:
    from lutplug.hosts.nuke.source import LoadedSource

CUBE_SIZE_CHOICES = ("auto", "17", "33", "65", "129")


@click.group("nuke")
def group() -> None:
    """Nuke: bake a .nlut (or any LUT) into a standalone LutPlug gizmo or pasteable node."""


def _load(file: Path, cube_size: str, cube_dir: Path, stem: str, pubkey: Tuple[Path, ...],
          require_signature: bool) -> "LoadedSource":
    """Load FILE and bake its cube beside the output; bad input raises LutError (exit 2). Trust:
    the environment's policy plus ``--pubkey`` keys and ``--require-signature``."""
    from lutplug.codec import trust
    from lutplug.errors import LutError
    from lutplug.hosts.nuke.source import load_source

    policy = trust.pem_keys(list(pubkey), require_signature, "--pubkey / --require-signature")
    loaded = load_source(str(file), cube_size, policy=policy, cube_dir=cube_dir, cube_stem=stem)
    if not loaded.ok:
        raise LutError(loaded.error)
    return loaded


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--require-signature", is_flag=True,
                     help="Refuse a .nlut that is not signed (by one of --pubkey when given).")(f)
    f = click.option("--pubkey", type=click.Path(path_type=Path), multiple=True,
                     help="Trusted Ed25519 public key (repeatable), added to the environment's "
                          "trust policy ($LUTPLUG_TRUST...): the .nlut must be signed by one.")(f)
    f = click.option("--cube-path", default=None,
                     help="What the dense-cube engine's OCIOFileTransform reads (a path the farm "
                          "sees, or a TCL expression). Default: see the command's help.")(f)
    f = click.option("--cube-size", type=click.Choice(CUBE_SIZE_CHOICES), default="auto",
                     show_default=True, help="Baked cube size (auto: 65 for a .nlut, the LUT's grid).")(f)
    f = click.option("-o", "--output", type=click.Path(path_type=Path), required=True)(f)
    return click.argument("file", type=click.Path(path_type=Path))(f)


def _summary(out: Path, loaded: "LoadedSource", cube_ref: str) -> None:
    engines = "BlinkScript (GPU MLP) + dense cube" if loaded.has_mlp else "dense cube"
    click.echo(f"wrote {out} ({engines})")
    click.echo(f"  cube    {loaded.cube_path} ({loaded.cube_size}^3)")
    click.echo(f"  reads   {cube_ref}")


def plugin_path_lookup(name: str) -> str:
    """TCL for a gizmo's cube file: the first ``name`` found in a folder of Nuke's plug-in path
    (where the gizmo itself is found), evaluated by Nuke's own Python at render time."""
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise ValueError(f"cube file name {name!r} must be a plain file name")
    return ("[python {next((d + '/" + name + "' for d in nuke.pluginPath() if "
            "__import__('os').path.isfile(d + '/" + name + "')), '" + name + "')}]")


@group.command()
@_common
def gizmo(file: Path, output: Path, cube_size: str, cube_path: Optional[str], pubkey: Tuple[Path, ...],
          require_signature: bool) -> None:
    """Write FILE as a standalone gizmo (node class = the gizmo's name) plus its baked cube beside
    it. Put both in a folder of NUKE_PATH (the farm's too): the dense-cube engine finds the cube on
    the plug-in path unless --cube-path says otherwise; the GPU engine needs no file at all."""
    from lutplug.errors import LutError
    from lutplug.fileio import atomic_write
    from lutplug.hosts.nuke.graph import build_group
    from lutplug.hosts.nuke.nk import gizmo_text

    if output.suffix.lower() != ".gizmo":
        raise click.BadParameter("the output must end in .gizmo", param_hint="-o")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", output.stem):
        raise LutError("a gizmo's name is its node class: use letters, digits and _ "
                       "(and no leading digit)", output)
    loaded = _load(file, cube_size, output.parent, output.stem, pubkey, require_signature)
    ref = cube_path or plugin_path_lookup(Path(loaded.cube_path).name)
    atomic_write(output, gizmo_text(build_group(loaded, "standalone", cube_file=ref, name=output.stem)))
    _summary(output, loaded, ref)


@group.command()
@_common
def script(file: Path, output: Path, cube_size: str, cube_path: Optional[str], pubkey: Tuple[Path, ...],
           require_signature: bool) -> None:
    """Write FILE as a pasteable LutPlug node (.nk: paste into the node graph or File > Import
    Script) plus its baked cube beside it; the node reads the cube by its absolute path unless
    --cube-path says otherwise."""
    from lutplug.fileio import atomic_write
    from lutplug.hosts.nuke.graph import build_group
    from lutplug.hosts.nuke.nk import script_text

    loaded = _load(file, cube_size, output.parent, output.stem, pubkey, require_signature)
    ref = cube_path or loaded.cube_path
    name = re.sub(r"[^A-Za-z0-9_]", "_", output.stem) or "LutPlug1"
    if name[0].isdigit():
        name = "LutPlug_" + name
    atomic_write(output, script_text(build_group(loaded, "standalone", cube_file=ref, name=name)))
    _summary(output, loaded, ref)

"""``lutplug ocio …``: add grades to OCIO configs, pack them as .ocioz archives, emit GPU shaders.

Registered by :mod:`lutplug.cli` (which turns :class:`~lutplug.errors.LutError` into exit code 2).
Imports nothing heavy at import time: OpenColorIO is loaded by the commands.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from lutplug.cli.common import trust_options

_KINDS = ["look", "colorspace", "named-transform"]
_LANGS = ["glsl_4.0", "glsl_es_3.0", "hlsl", "msl"]
#: --check tolerances (max abs, GPU vs CPU) for the cube texture path and the network path
CHECK_TOLERANCE = {"cube": 1e-3, "mlp": 1e-4}


def _target(text: str):
    from lutplug.hosts.ocio import ociolib

    return None if text.strip().lower() == "latest" else ociolib.parse_version(text)




def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} KB"


@click.group(name="ocio")
def group() -> None:
    """OpenColorIO: grades as config entries, .ocioz look packs, GPU shaders."""


@group.command("add")
@click.argument("config")
@click.argument("grade", type=click.Path(path_type=Path))
@click.option("--look", "--name", "name", required=True,
              help="Name of the new entry (a look unless --as says otherwise).")
@click.option("--as", "kind", type=click.Choice(_KINDS), default="look", show_default=True,
              help="Kind of entry to add.")
@click.option("--process-space", default=None,
              help="Colour space (name, alias or role) the grade expects. Default: the grade's "
                   "input tag, else the config's color_timing role.")
@click.option("--size", type=click.IntRange(2, 129), default=65, show_default=True,
              help="Cube size the grade is baked to (33 or 65 usual).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the edited config here instead of in place (required for ocio:// bases).")
@click.option("--replace", is_flag=True, help="Replace an existing entry of the same kind and name.")
@click.option("--lut-dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the baked cube (default: the config's first search-path folder "
                   "inside its folder, else luts/); added to the search path when needed.")
@click.option("--ocio-version", default="2.5", show_default=True,
              help="Oldest OpenColorIO that must read the result: an ocio://…-latest base "
                   "resolves to the newest built-in config it reads ('latest': this library's).")
@click.option("--pubkey", type=click.Path(path_type=Path), default=None,
              help="Refuse a grade that is not signed by this Ed25519 public key.")
@click.option("--description", default=None, help="Description of the entry (default: generated).")
def add(config: str, grade: Path, name: str, kind: str, process_space: Optional[str], size: int,
        output: Optional[Path], replace: bool, lut_dir: Optional[Path], ocio_version: str,
        pubkey: Optional[Path], description: Optional[str]) -> None:
    """Add GRADE (.nlut) to CONFIG (a .ocio file, or ocio://studio-config-latest and the like
    written out with -o) as a look, colour space or named transform.

    The grade is baked to a cube named by its content hash in the config's search path; the
    entry is inserted into the config's text (every other entry, comment and the order kept),
    checked with OpenColorIO, and the previous file kept as CONFIG.<time>.bak."""
    from lutplug.hosts.ocio.edit import add_grade

    trusted, required = trust_options(pubkey)
    r = add_grade(config, grade, name, output=output, kind=kind, process_space=process_space,
                  size=size, replace=replace, lut_dir=lut_dir, target=_target(ocio_version),
                  trusted_keys=trusted, require_signature=required, description=description)
    word = {"look": "look", "colorspace": "colour space", "named-transform": "named transform"}[kind]
    click.echo(f"{'replaced' if r.replaced else 'added'} {word} {r.name!r} in {r.config}")
    click.echo(f"  base           {r.base}")
    if r.process_space:
        click.echo(f"  process space  {r.process_space} (from {r.process_space_origin})")
    click.echo(f"  cube           {r.cube} ({r.size}^3, {_mb(r.cube.stat().st_size)}, "
               f"{'new' if r.cube_written else 'already there'})")
    for note in r.notes:
        click.echo(f"  note           {note}")
    click.echo(f"  verified       OpenColorIO reads the entry as the grade (max abs {r.max_abs:.2g}); "
               "other entries unchanged")
    if r.backup:
        click.echo(f"  backup         {r.backup}")


@group.command("pack")
@click.argument("grades", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The archive to write (.ocioz).")
@click.option("--name", "names", multiple=True,
              help="Entry name, once per grade in order (default: each file name without .nlut).")
@click.option("--base", default="ocio://studio-config-latest", show_default=True,
              help="Config the entries are added to: a built-in (ocio://…) or an archivable .ocio.")
@click.option("--as", "kind", type=click.Choice(_KINDS), default="look", show_default=True)
@click.option("--process-space", default=None, help="As for 'add' (default: each grade's input tag).")
@click.option("--size", type=click.IntRange(2, 129), default=65, show_default=True)
@click.option("--ocio-version", default="2.2", show_default=True,
              help="Oldest OpenColorIO that must open the archive (archives need 2.2+).")
@click.option("--pubkey", type=click.Path(path_type=Path), default=None,
              help="Refuse grades not signed by this Ed25519 public key.")
def pack_cmd(grades, output: Path, names, base: str, kind: str, process_space: Optional[str], size: int,
             ocio_version: str, pubkey: Optional[Path]) -> None:
    """Pack GRADES (.nlut) into an OCIO archive: a config holding one entry per grade plus the
    baked cubes, which `ocioarchive --extract` and OpenColorIO 2.2+ applications open."""
    from lutplug.hosts.ocio.packing import pack

    if names and len(names) != len(grades):
        raise click.UsageError(f"give --name once per grade ({len(grades)}), or not at all")
    trusted, required = trust_options(pubkey)
    r = pack(list(grades), output, names=list(names) or None, base=base, kind=kind,
             process_space=process_space, size=size, target=_target(ocio_version),
             trusted_keys=trusted, require_signature=required)
    click.echo(f"wrote {r.output} ({_mb(r.bytes)}; config profile {r.profile}; base {r.base})")
    for name, cube, ps in r.entries:
        click.echo(f"  {kind} {name!r}: {cube}" + (f", process space {ps}" if ps else ""))
    click.echo(f"  verified: OpenColorIO opens the archive and each entry reproduces its grade "
               f"(max abs {r.max_abs:.2g})")



@group.command("extract")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Folder to extract into (created; must be empty if it exists).")
def extract_cmd(archive: Path, output: Path) -> None:
    """Extract an .ocioz archive (a zip) safely: members with absolute paths or '..', links,
    device files, duplicates or implausible sizes are refused, and the folder appears only once
    every file is written."""
    from lutplug.fileio import extract_zip

    if archive.suffix.lower() != ".ocioz":
        raise click.UsageError("expected an .ocioz archive")
    files = extract_zip(archive, output)
    click.echo(f"extracted {len(files)} files into {output}")


@group.command("shader")
@click.argument("grade", type=click.Path(path_type=Path))
@click.option("--language", type=click.Choice(_LANGS), required=True)
@click.option("--engine", type=click.Choice(["cube", "mlp"]), default="cube", show_default=True,
              help="cube: OpenColorIO's shader for the baked cube (with textures); mlp: the "
                   "network itself, no textures.")
@click.option("--size", type=click.IntRange(2, 129), default=65, show_default=True,
              help="Cube size for --engine cube.")
@click.option("--function-name", default="OCIOMain", show_default=True,
              help="Name of the generated vec4 NAME(vec4 inPixel) function.")
@click.option("--texture-1d", is_flag=True,
              help="Let OpenColorIO use 1D textures for the shaper (default: 2D, which every API has).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Shader file to write (textures and a .json manifest beside it); default: "
                   "print the shader (mlp only).")
@click.option("--check", is_flag=True,
              help="Run the shader on the GPU through headless OpenGL (GLSL; HLSL via glslang and "
                   "SPIRV-Cross) and compare with the CPU.")
@click.option("--pubkey", type=click.Path(path_type=Path), default=None)
def shader_cmd(grade: Path, language: str, engine: str, size: int, function_name: str,
               texture_1d: bool, output: Optional[Path], check: bool, pubkey: Optional[Path]) -> None:
    """Emit a GPU shader for GRADE: a function vec4 OCIOMain(vec4 inPixel) (float4 in HLSL and
    Metal) that grades one pixel, either through the baked cube (OpenColorIO's shader) or by
    evaluating the network directly."""
    from lutplug.hosts.ocio import shaders
    from lutplug.hosts.ocio.grades import load_grade

    trusted, required = trust_options(pubkey)
    nlut = load_grade(grade, trusted, required)
    bundle = shaders.shader(nlut, language, engine, size, function_name, texture_1d)
    if output is None:
        if bundle.textures:
            raise click.UsageError("the cube shader needs its textures written too: give -o FILE")
        click.echo(shaders.header(bundle) + bundle.text, nl=False)
    else:
        files = shaders.write_bundle(bundle, output)
        click.echo(f"wrote {output} ({language}, {engine}, {bundle.signature}"
                   + (f", {len(bundle.textures)} texture(s) + manifest" if bundle.textures else "")
                   + ")", err=output is None)
        for f in files[1:]:
            click.echo(f"  {f}")
    if check:
        from lutplug.hosts.ocio import glcheck

        diff = glcheck.check(bundle, nlut)
        tol = CHECK_TOLERANCE[engine]
        click.echo(f"check: GPU vs CPU max abs {diff:.3g} (limit {tol:g})", err=output is None)
        if not diff <= tol:
            click.echo(f"lutplug: failed: the {language} {engine} shader differs from the CPU by "
                       f"{diff:.3g}", err=True)
            raise SystemExit(1)


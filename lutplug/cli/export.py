"""``lutplug export``: a .nlut's network as a GLSL shader or an ONNX model."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from lutplug.cli.common import DISPLAY, for_display
from lutplug.errors import LutError


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--glsl", type=click.Path(path_type=Path), default=None, help="Write a GLSL shader.")
@click.option("--stage", type=click.Choice(["compute", "fragment", "function"]), default="compute",
              show_default=True, help="GLSL shader kind.")
@click.option("--glsl-version", type=click.Choice(["glsl_4.5", "glsl_4.0", "glsl_es_3.0"]),
              default="glsl_4.5", show_default=True)
@click.option("--onnx", type=click.Path(path_type=Path), default=None, help="Write an ONNX model.")
@DISPLAY
def export(file: Path, glsl: Optional[Path], stage: str, glsl_version: str, onnx: Optional[Path],
           display: Optional[str]) -> None:
    """Export a .nlut's network as a GLSL shader and/or an ONNX model."""
    from lutplug.codec.nlut import load_nlut
    from lutplug.fileio import atomic_write

    if glsl is None and onnx is None:
        raise click.UsageError("give --glsl and/or --onnx")
    if display and onnx is not None:
        raise click.UsageError("--display applies to --glsl (OCIO's shader code); the ONNX model "
                               "holds the network only")
    nlut = load_nlut(file)
    if glsl is not None:
        from lutplug.codec import glsl as glsl_mod

        try:
            if stage == "compute":
                text = glsl_mod.compute_shader(nlut, glsl_version)
            elif stage == "fragment":
                text = glsl_mod.fragment_shader(nlut, glsl_version)
            else:
                text = glsl_mod.function_source(nlut)
        except ValueError as exc:  # a network no shader can run
            raise LutError(str(exc), file) from None
        if display:
            from lutplug.evaluate.display import glsl_display

            text = glsl_display(text, for_display(nlut, display), glsl_version)
        atomic_write(glsl, text)
        click.echo(f"wrote {glsl} ({stage} shader, {glsl_version}, {len(text)} characters)")
    if onnx is not None:
        from lutplug.codec.onnx_export import export_onnx

        export_onnx(nlut, onnx)
        click.echo(f"wrote {onnx} ({onnx.stat().st_size} bytes)")


COMMANDS = [export]

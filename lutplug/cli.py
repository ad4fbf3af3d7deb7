"""The ``lutplug`` command: parse, call the library, print, exit.

Exit codes: 0 ok, 1 failure, 2 bad input or usage (the message names the file and what is wrong).
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Optional

import click
import numpy as np

from lutplug import __version__
from lutplug.errors import LutError

EXIT_FAILURE, EXIT_BAD_INPUT = 1, 2


class _Group(click.Group):
    """Turns LutError into a one-line message and exit code 2, other errors into exit 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LutError as exc:
            click.echo(f"lutplug: error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", EXIT_BAD_INPUT))
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("lutplug: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            click.echo(f"lutplug: failed: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_FAILURE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lutplug")
def main() -> None:
    """Compress colour LUTs into tiny neural networks and ship them."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _describe(path: Path) -> dict:
    from lutplug.core.formats import detect_format, read_lut
    from lutplug.core.lut import LUT3D

    lut = read_lut(path)
    d: dict = {"file": str(path), "format": detect_format(path), "bytes": path.stat().st_size,
               "sha256": _sha256(path), "kind": type(lut).__name__, "title": lut.title,
               "size": lut.size, "domain_min": lut.domain_min.tolist(),
               "domain_max": lut.domain_max.tolist(),
               "output_min": lut.table.reshape(-1, 3).min(0).tolist(),
               "output_max": lut.table.reshape(-1, 3).max(0).tolist(),
               "comments": list(lut.comments)}
    if isinstance(lut, LUT3D):
        d["shaper"] = None if lut.shaper is None else {
            "size": lut.shaper.size, "domain_min": lut.shaper.domain_min.tolist(),
            "domain_max": lut.shaper.domain_max.tolist()}
    return d


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(file: Path, as_json: bool) -> None:
    """Describe a LUT file: format, grid, domain, shaper, value range, hash."""
    d = _describe(file)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"{d['file']}")
    click.echo(f"  format     {d['format']} ({d['kind']}, {d['bytes']} bytes)")
    grid = f"{d['size']}^3" if d["kind"] == "LUT3D" else f"{d['size']} entries"
    click.echo(f"  grid       {grid}")
    click.echo(f"  domain     {_fmt3(d['domain_min'])} .. {_fmt3(d['domain_max'])}")
    if d.get("shaper"):
        s = d["shaper"]
        click.echo(f"  shaper     1D, {s['size']} entries, {_fmt3(s['domain_min'])} .. "
                   f"{_fmt3(s['domain_max'])}")
    click.echo(f"  outputs    {_fmt3(d['output_min'])} .. {_fmt3(d['output_max'])}")
    if d["title"]:
        click.echo(f"  title      {d['title']}")
    for c in d["comments"][:8]:
        click.echo(f"  #          {c}")
    click.echo(f"  sha256     {d['sha256']}")


def _fmt3(v) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in v) + ")"


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Output LUT (.cube, .spi3d, .clf, .png Hald); format from the extension.")
@click.option("--size", type=click.IntRange(2, 256), default=None,
              help="Cube size of the output (default: the source's).")
@click.option("--format", "fmt", default=None, help="Force the output format.")
def bake(source: Path, output: Path, size: Optional[int], fmt: Optional[str]) -> None:
    """Convert any LUT to any written format and size."""
    from lutplug.core.formats import write_lut
    from lutplug.evaluate.load import load_lut3d
    from lutplug.evaluate.bake import flatten

    lut = load_lut3d(source)
    target = size or lut.size
    baked = lut if target == lut.size else lut.resample(target)
    try:
        write_lut(baked, output, fmt)
    except LutError as exc:
        if baked.shaper is None or "shaper" not in str(exc):
            raise
        baked = flatten(lut, target)  # the destination cannot hold a shaper: bake it in
        write_lut(baked, output, fmt)
        click.echo(f"note: {output.suffix} holds no shaper; the shaper was baked into the "
                   f"{target}^3 lattice", err=True)
    click.echo(f"wrote {output} ({baked.size}^3, {output.stat().st_size} bytes)")


@main.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--lut", "lut_path", type=click.Path(path_type=Path), required=True,
              help="Any LUT file lutplug reads.")
@click.option("--mix", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Strength: 0 = original, 1 = full grade.")
def apply(image: Path, output: Path, lut_path: Path, mix: float) -> None:
    """Apply a LUT to an image (EXR, PNG, TIFF, DPX, JPEG), keeping its bit depth."""
    from lutplug.evaluate.load import load_lut3d
    from lutplug.evaluate.ocio_cpu import apply_image
    from lutplug.imageio import read_image, write_image

    lut = load_lut3d(lut_path)
    pixels, meta = read_image(image)
    if pixels.shape[2] not in (3, 4):
        raise LutError(f"image has {pixels.shape[2]} channels; RGB or RGBA expected", image)
    t0 = time.perf_counter()
    graded = apply_image(lut, pixels, mix=mix)
    dt = time.perf_counter() - t0
    write_image(output, graded, like=meta)
    click.echo(f"wrote {output} ({meta.width}x{meta.height}, {meta.pixel_type}, "
               f"applied in {dt * 1000:.0f} ms)")


@main.command(name="eval")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("candidate", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--heatmap", type=click.Path(path_type=Path), default=None,
              help="Write a ΔE00 heat map of R×G slices of the domain (PNG).")
@click.option("--image", type=click.Path(path_type=Path), default=None,
              help="Also report ΔE00 on this image (and add its heat map with --heatmap).")
@click.option("--points", type=click.IntRange(0, 10_000_000), default=200_000, show_default=True,
              help="Seeded random points added to the lattice nodes.")
@click.option("--seed", type=int, default=0, show_default=True)
def evaluate(reference: Path, candidate: Path, as_json: bool, heatmap: Optional[Path],
             image: Optional[Path], points: int, seed: int) -> None:
    """Report how close CANDIDATE is to REFERENCE (ΔE00 mean/p95/p99/max, PSNR)."""
    from lutplug.evaluate.load import load_lut3d
    from lutplug.metrics import QUALITY_TARGETS, compare_outputs, quality_report

    ref, cand = load_lut3d(reference), load_lut3d(candidate)
    report = quality_report(ref, cand, n_random=points, seed=seed)
    result = {"reference": str(reference), "candidate": str(candidate), **report.as_dict(),
              "meets": {k: report.meets(t) for k, t in QUALITY_TARGETS.items()}}
    graded = None
    if image is not None:
        from lutplug.evaluate.ocio_cpu import apply_image
        from lutplug.imageio import read_image

        pixels, _ = read_image(image)
        pixels = pixels[..., :3] if pixels.shape[2] >= 3 else np.repeat(pixels[..., :1], 3, 2)
        graded = apply_image(ref, pixels), apply_image(cand, pixels)
        result["image"] = {"file": str(image), **compare_outputs(*graded).as_dict()}
    if heatmap is not None:
        _write_heatmaps(ref, cand, heatmap, graded)
        result["heatmap"] = str(heatmap)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{candidate} against {reference}")
    click.echo(f"  domain  {report.summary()}")
    if "image" in result:
        from lutplug.metrics import QualityReport

        img = QualityReport(**{k: result["image"][k] for k in report.as_dict()})
        click.echo(f"  image   {img.summary()}")
    met = [k for k, ok in result["meets"].items() if ok]
    click.echo(f"  meets   {', '.join(met) if met else 'none of the quality targets'}")
    if heatmap is not None:
        click.echo(f"  heat map written to {heatmap}")


def _write_heatmaps(ref, cand, path: Path, graded=None) -> None:
    from lutplug.heatmap import image_delta_e, lut_slice_delta_e, save_heatmap

    de = lut_slice_delta_e(ref, cand)
    save_heatmap(de, path, title="dE00 over R x G at B = 0, .25, .5, .75, 1")
    if graded is not None:
        img_path = path.with_name(path.stem + "-image" + path.suffix)
        save_heatmap(image_delta_e(*graded), img_path, title="dE00 on the image")


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("lutplug-demo"),
              show_default=True, help="Folder for the demo's outputs.")
def demo(output: Path) -> None:
    """Run the main job on bundled example data and print a readable report."""
    from lutplug.demo import run_demo

    run_demo(output, echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    main()

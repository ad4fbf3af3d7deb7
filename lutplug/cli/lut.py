"""``lutplug info | bake | apply | eval``: any LUT or .nlut described, converted, applied to an
image, compared."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Optional

import click
import numpy as np

from lutplug.cli.common import DISPLAY, fmt3, for_display, has_cuda, trust_options
from lutplug.errors import LutError


def describe_lut(path: Path) -> dict:
    """``lutplug info --json`` of a LUT file (not a .nlut)."""
    from lutplug.core.formats import detect_format, read_lut
    from lutplug.core.lut import LUT3D
    from lutplug.fileio import read_source

    src = read_source(path)
    lut = read_lut(src)
    d: dict = {"file": str(path), "format": detect_format(src), "bytes": len(src.data),
               "sha256": hashlib.sha256(src.data).hexdigest(), "kind": type(lut).__name__,
               "title": lut.title, "size": lut.size, "domain_min": lut.domain_min.tolist(),
               "domain_max": lut.domain_max.tolist(),
               "output_min": lut.table.reshape(-1, 3).min(0).tolist(),
               "output_max": lut.table.reshape(-1, 3).max(0).tolist(),
               "comments": list(lut.comments)}
    if isinstance(lut, LUT3D):
        d["shaper"] = None if lut.shaper is None else {
            "size": lut.shaper.size, "domain_min": lut.shaper.domain_min.tolist(),
            "domain_max": lut.shaper.domain_max.tolist()}
    return d


def _print_lut_info(d: dict) -> None:
    click.echo(f"{d['file']}")
    click.echo(f"  format     {d['format']} ({d['kind']}, {d['bytes']} bytes)")
    grid = f"{d['size']}^3" if d["kind"] == "LUT3D" else f"{d['size']} entries"
    click.echo(f"  grid       {grid}")
    click.echo(f"  domain     {fmt3(d['domain_min'])} .. {fmt3(d['domain_max'])}")
    if d.get("shaper"):
        s = d["shaper"]
        click.echo(f"  shaper     1D, {s['size']} entries, {fmt3(s['domain_min'])} .. "
                   f"{fmt3(s['domain_max'])}")
    click.echo(f"  outputs    {fmt3(d['output_min'])} .. {fmt3(d['output_max'])}")
    if d["title"]:
        click.echo(f"  title      {d['title']}")
    for c in d["comments"][:8]:
        click.echo(f"  #          {c}")
    click.echo(f"  sha256     {d['sha256']}")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(file: Path, as_json: bool) -> None:
    """Describe a LUT file: format, grid, domain, shaper, value range, hash."""
    from lutplug.codec.nlut import is_nlut_path, open_nlut

    if is_nlut_path(file):
        opened = open_nlut(file, from_environment=False)  # describes; `verify` judges trust
        if as_json:
            click.echo(json.dumps(opened.as_dict(), indent=2))
            return
        click.echo(str(file))
        for line in opened.summary_lines():
            click.echo(f"  {line}")
        return
    d = describe_lut(file)
    if as_json:
        click.echo(json.dumps(d, indent=2))
    else:
        _print_lut_info(d)


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Output LUT (.cube, .spi3d, .clf, .png Hald); format from the extension.")
@click.option("--size", type=click.IntRange(2, 256), default=None,
              help="Cube size of the output (default: the source's).")
@click.option("--format", "fmt", default=None, help="Force the output format.")
@DISPLAY
def bake(source: Path, output: Path, size: Optional[int], fmt: Optional[str],
         display: Optional[str]) -> None:
    """Convert any LUT or .nlut to any written format and size."""
    from lutplug.core.formats import read_lut, write_lut
    from lutplug.evaluate.bake import flatten
    from lutplug.evaluate.load import load_transform, to_cube

    transform = for_display(load_transform(source), display)
    t0 = time.perf_counter()
    baked = to_cube(transform, size)
    dt = time.perf_counter() - t0
    try:
        write_lut(baked, output, fmt)
    except LutError as exc:
        if baked.shaper is None or "shaper" not in str(exc):
            raise
        baked = flatten(transform, baked.size)  # the destination cannot hold a shaper: bake it in
        write_lut(baked, output, fmt)
        click.echo(f"note: {output.suffix} holds no shaper; the shaper was baked into the "
                   f"{baked.size}^3 lattice", err=True)
    if baked.interpolation != "tetrahedral" and \
            getattr(read_lut(output), "interpolation", "") != baked.interpolation:
        click.echo(f"note: this LUT is meant to be read with {baked.interpolation} interpolation, "
                   f"which {output.suffix or 'this format'} cannot say (.clf can)", err=True)
    click.echo(f"wrote {output} ({baked.size}^3, {output.stat().st_size} bytes; "
               f"evaluated in {dt * 1000:.1f} ms)")


@click.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--lut", "lut_path", type=click.Path(path_type=Path), required=True,
              help="Any LUT file lutplug reads, or a .nlut.")
@click.option("--mix", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Strength: 0 = original, 1 = full grade.")
@click.option("--engine", type=click.Choice(["auto", "mlp", "cube"]), default="auto", show_default=True,
              help="For a .nlut: run the network (mlp: torch, CUDA when present) or bake a 65^3 "
                   "cube and apply it through OpenColorIO (cube). auto = mlp on a GPU, else cube.")
@click.option("--pubkey", type=click.Path(path_type=Path), default=None,
              help="Refuse a .nlut that is not signed by this key.")
@DISPLAY
def apply(image: Path, output: Path, lut_path: Path, mix: float, engine: str,
          pubkey: Optional[Path], display: Optional[str]) -> None:
    """Apply a LUT or .nlut to an image (EXR, PNG, TIFF, DPX, JPEG), keeping its bit depth."""
    from lutplug.evaluate.load import load_transform, to_cube
    from lutplug.evaluate.ocio_cpu import apply_image
    from lutplug.imageio import read_image, write_image

    transform: Any = load_transform(lut_path, *trust_options(pubkey))
    pixels, meta = read_image(image)
    if pixels.shape[2] not in (3, 4):
        raise LutError(f"image has {pixels.shape[2]} channels; RGB or RGBA expected", image)
    t0 = time.perf_counter()
    if not hasattr(transform, "bake") or engine == "cube" or (engine == "auto" and not has_cuda()):
        used = "OpenColorIO dense cube"
        size = transform.bake_size(65) if hasattr(transform, "bake_size") else None  # a LUT: as it is
        graded = apply_image(to_cube(transform, size), pixels, mix=mix)
    else:
        from lutplug.codec.torch_eval import apply_image_torch

        used = "network (torch)"
        graded = apply_image_torch(transform, pixels, mix=mix)
    if display:  # the display conversion runs on the graded pixels, exactly (no cube in between)
        from lutplug.evaluate.display import convert

        graded = convert(graded, for_display(transform, display).processor)
    dt = time.perf_counter() - t0
    write_image(output, graded, like=meta)
    click.echo(f"wrote {output} ({meta.width}x{meta.height}, {meta.pixel_type}, "
               f"{used}, {dt * 1000:.0f} ms)")


@click.command(name="eval")
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
    """Report how close CANDIDATE is to REFERENCE (ΔE00 mean/p95/p99/max, PSNR); either may be
    a .nlut."""
    from lutplug.evaluate.load import load_transform
    from lutplug.metrics import QUALITY_TARGETS, QualityReport, compare_outputs, quality_report

    ref, cand = load_transform(reference), load_transform(candidate)
    report = quality_report(ref, cand, n_random=points, seed=seed)
    meets = {k: report.meets(t) for k, t in QUALITY_TARGETS.items()}
    result: dict = {"reference": str(reference), "candidate": str(candidate), **report.as_dict(),
                    "meets": meets}
    graded = None
    if image is not None:
        from lutplug.evaluate.ocio_cpu import apply_image
        from lutplug.imageio import read_image

        pixels, _ = read_image(image)
        pixels = pixels[..., :3] if pixels.shape[2] >= 3 else np.repeat(pixels[..., :1], 3, 2)
        graded = tuple(t.apply(pixels) if hasattr(t, "bake") else apply_image(t, pixels)
                       for t in (ref, cand))
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
        img = QualityReport(**{k: result["image"][k] for k in report.as_dict()})
        click.echo(f"  image   {img.summary()}")
    met = [k for k, ok in meets.items() if ok]
    click.echo(f"  meets   {', '.join(met) if met else 'none of the quality targets'}")
    if heatmap is not None:
        click.echo(f"  heat map written to {heatmap}")


def _write_heatmaps(ref: Any, cand: Any, path: Path, graded: Optional[tuple] = None) -> None:
    from lutplug.metrics.heatmap import image_delta_e, lut_slice_delta_e, save_heatmap

    de = lut_slice_delta_e(ref, cand)
    save_heatmap(de, path, title="dE00 over R x G at B = 0, .25, .5, .75, 1")
    if graded is not None:
        img_path = path.with_name(path.stem + "-image" + path.suffix)
        save_heatmap(image_delta_e(*graded), img_path, title="dE00 on the image")


COMMANDS = [info, bake, apply, evaluate]

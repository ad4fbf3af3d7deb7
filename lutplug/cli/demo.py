"""``lutplug demo``: the main job on example data bundled in the package."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import click

from lutplug.core.formats import write_lut
from lutplug.core.load import load_lut3d
from lutplug.evaluate.ocio_cpu import apply_image
from lutplug.data import data_path
from lutplug.imageio import read_image, write_image
from lutplug.metrics import QUALITY_TARGETS, quality_report
from lutplug.metrics.heatmap import lut_slice_delta_e, save_heatmap


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("lutplug-demo"),
              show_default=True, help="Folder for the demo's outputs.")
def demo(output: Path) -> None:
    """Run the main job on bundled example data and print a readable report."""
    run_demo(output, echo=click.echo)


def run_demo(output: Path, echo: Callable[[str], None] = print) -> None:
    """Read a bundled 33³ grade, measure what plain downsampling costs, grade the bundled photo,
    write everything to ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    source = data_path("freshluts_classic_film.cube")
    lut = load_lut3d(source)
    echo(f"LUT      {source.name}: {lut.size}^3, {source.stat().st_size} bytes of text, "
         f"{lut.table.nbytes} bytes as float32")

    echo("\nDownsampled cubes (the simplest compression) against the original, T1 = "
         "ΔE00 mean ≤ 0.45, p99 ≤ 1.5, max ≤ 3, PSNR ≥ 45 dB:")
    for size in (9, 13, 17, 25):
        small = lut.resample(size)
        path = output / f"classic_film_{size}.cube"
        write_lut(small, path)
        rep = quality_report(lut, small)
        verdict = "meets T1" if rep.meets(QUALITY_TARGETS["invisible"]) else "visible"
        echo(f"  {size:2d}^3  {small.table.nbytes // 2:6d} B as fp16   {rep.summary()}  {verdict}")
    save_heatmap(lut_slice_delta_e(lut, lut.resample(9)), output / "heatmap_9cube.png",
                 title="dE00 of a 9^3 resample vs the 33^3 original")

    photo = data_path("astronaut.png")
    pixels, meta = read_image(photo)
    t0 = time.perf_counter()
    graded = apply_image(lut, pixels, mix=1.0)
    half = apply_image(lut, pixels, mix=0.5)
    dt = (time.perf_counter() - t0) / 2
    write_image(output / "astronaut_graded.png", graded, like=meta)
    write_image(output / "astronaut_graded_mix50.png", half, like=meta)
    echo(f"\nGraded {photo.name} ({meta.width}x{meta.height}, {meta.pixel_type}) in "
         f"{dt * 1000:.1f} ms per pass through OpenColorIO (mix 1.0 and 0.5)")
    _compress_step(output, pixels, meta, echo)
    echo(f"\nOutputs in {output}/: downsampled cubes, graded photos, heat maps, the .nlut and its "
         "GLSL shader")


def _compress_step(output: Path, pixels, meta, echo: Callable[[str], None]) -> None:
    """Compress the bundled 16³ grade to a .nlut, compare it with a cube of the same bytes."""
    try:
        from lutplug.codec.compress import attempt_summary, compress
    except ImportError:
        echo("\n(torch is not installed: skipping compression; see README for the torch pin)")
        return
    from lutplug.codec.glsl import compute_shader
    from lutplug.codec.nlut import load_nlut
    from lutplug.fileio import atomic_write

    source = data_path("freshluts_cool_cinema.cube")
    lut = load_lut3d(source)
    echo(f"\nCompressing {source.name} ({lut.size}^3, {source.stat().st_size} bytes) to the "
         "'invisible' target (about a minute on 2 CPU cores; each line is one network size tried) …")

    def progress(info: dict) -> None:
        if info.get("stage") == "attempt":
            echo(attempt_summary(info))

    result = compress(lut, source=source, progress=progress)
    path = output / "cool_cinema.nlut"
    size = result.nlut.save(path)
    nlut = load_nlut(path)
    echo(f"  .nlut    {size} bytes ({source.stat().st_size / size:.0f}:1 vs the .cube, "
         f"{lut.table.nbytes / size:.0f}:1 vs float32) in {result.seconds:.1f} s")
    echo(f"  quality  {result.report.summary()}  "
         f"{'meets T1' if result.meets_target else 'DOES NOT meet T1'}")
    for k in range(2, lut.size + 1):  # the same bytes spent on a plain cube
        if (k + 1) ** 3 * 3 * 2 > size:
            break
    cube = lut.resample(k)
    echo(f"  vs cube  {k}^3 at {k ** 3 * 6} B (fp16): {quality_report(lut, cube).summary()}")
    graded = nlut.apply(pixels[..., :3])
    write_image(output / "astronaut_nlut.png", graded, like=meta)
    save_heatmap(lut_slice_delta_e(lut, nlut), output / "heatmap_nlut.png",
                 title=f"dE00 of the {size}-byte .nlut vs the original")
    atomic_write(output / "cool_cinema.comp.glsl", compute_shader(nlut))


COMMANDS = [demo]

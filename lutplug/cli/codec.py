"""``lutplug compress``: a LUT (or a folder of them) into .nlut files."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from lutplug.cli.common import EXIT_FAILURE, quality_target


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The .nlut to write.")
@click.option("--quality", type=click.Choice(["invisible", "high", "draft"]), default="invisible",
              show_default=True, help="Named target (invisible = T1).")
@click.option("--max-de00-mean", type=float, default=None, help="Custom target: ΔE00 mean.")
@click.option("--max-de00-p99", type=float, default=None, help="Custom target: ΔE00 p99.")
@click.option("--budget-kb", type=float, default=None, help="Largest acceptable network, in KB.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--input-space", default=None, help="Colour-space tag of the input, e.g. ACEScct.")
@click.option("--output-space", default=None, help="Colour-space tag of the output, e.g. 'sRGB - Display'.")
@click.option("--parent", type=click.Path(path_type=Path), default=None,
              help="The .nlut this one replaces (recorded as its parent for roll-back).")
@click.option("--jobs", type=click.IntRange(1, 1024), default=None,
              help="Folder input: parallel local processes (default: every core).")
@click.option("--cluster", default=None, help="Folder input: Dask scheduler address "
              "(tcp://HOST:8786) to run the jobs on instead of local processes.")
@click.option("--force", is_flag=True, help="Folder input: redo outputs that are up to date.")
@click.option("--recipe", default=None, hidden=True, help="JSON training overrides (tests, drafts).")
def compress(source: Path, output: Path, quality: str, max_de00_mean: Optional[float],
             max_de00_p99: Optional[float], budget_kb: Optional[float], device: str, seed: int,
             input_space: Optional[str], output_space: Optional[str], parent: Optional[Path],
             jobs: Optional[int], cluster: Optional[str], force: bool, recipe: Optional[str]) -> None:
    """Compress a LUT into a tiny network (.nlut). SOURCE may be a folder: every LUT in it is
    compressed into OUTPUT/<name>.nlut (in parallel, skipping outputs that are up to date)."""
    from lutplug.codec.train.recipe import parse_recipe

    target = quality_target(quality, max_de00_mean, max_de00_p99)
    colorspace = {k: v for k, v in (("input", input_space), ("output", output_space)) if v}
    budget_bytes = int(budget_kb * 1024) if budget_kb else None
    if source.is_dir():
        from lutplug.cli.batch import compress_folder

        compress_folder(source, output, target, seed=seed, colorspace=colorspace, jobs=jobs,
                        cluster=cluster, force=force, recipe=parse_recipe(recipe),
                        budget_bytes=budget_bytes)
        return
    from tqdm import tqdm

    from lutplug.codec.compress import attempt_summary, compress as run_compress
    from lutplug.codec.nlut import FLOAT32_33_BYTES, load_nlut
    from lutplug.core.load import load_lut3d
    from lutplug.fileio import read_source

    src = read_source(source)  # read once: loaded, hashed and counted from these bytes
    lut = load_lut3d(src)
    parent_hash = load_nlut(parent).content_hash if parent is not None else None
    with tqdm(desc=f"compress {source.name}", unit="step", leave=False, dynamic_ncols=True) as bar:
        def progress(info: dict) -> None:  # called from the training threads
            if info["stage"] == "train":
                bar.update(info["advance"])
                bar.set_postfix_str(f"training {info['hidden']}: ΔE00 ≈ {info['de_mean']:.3f}", refresh=False)
            elif info["stage"] == "attempt":
                bar.write(attempt_summary(info))
            elif info["stage"] == "lattice":
                bar.set_postfix_str(f"residual lattice over {info['hidden']}: step 1/{1 / info['step']:.0f}, "
                                    f"ΔE00 max {info['de_max']:.2f}")

        result = run_compress(lut, target=target, seed=seed, device=device, progress=progress,
                              budget_bytes=budget_bytes, source=src, colorspace=colorspace,
                              parent=parent_hash, recipe=parse_recipe(recipe))
    size = result.nlut.save(output)
    src_bytes = len(src.data)
    click.echo(f"wrote {output}: {size} bytes — {src_bytes / size:.1f}:1 vs {source.name} "
               f"({src_bytes} bytes), {FLOAT32_33_BYTES / size:.1f}:1 vs a float32 33^3")
    click.echo(f"  quality {result.report.summary()}")
    click.echo(f"  time    {result.seconds:.1f} s on {result.nlut.description['provenance']['settings']['device']}")
    if not result.meets_target:
        click.echo(f"lutplug: the best network found does not meet the '{quality}' target; "
                   f"it was written anyway for inspection", err=True)
        sys.exit(EXIT_FAILURE)


COMMANDS = [compress]

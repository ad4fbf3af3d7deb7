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


def _thread_only_progress_lock() -> None:
    """Give tqdm a plain thread lock: its default also takes a cross-process semaphore, which a
    process killed while drawing a bar (a worker, a SIGKILLed child) leaves held for good,
    freezing every later progress bar of the processes sharing it."""
    import threading

    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())


class _Group(click.Group):
    """Turns LutError into a one-line message and exit code 2, other errors into exit 1."""

    def invoke(self, ctx):
        _thread_only_progress_lock()
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


FLOAT32_33_BYTES = 33 ** 3 * 3 * 4  # a float32 33³ cube, the usual uncompressed reference


def _describe_nlut(path: Path) -> dict:
    from lutplug.codec.model import describe, n_params
    from lutplug.codec.nlut import MAX_NLUT_BYTES, from_bytes
    from lutplug.fileio import read_bytes

    data = read_bytes(path, MAX_NLUT_BYTES)  # read once: decoded, hashed, its version byte shown
    n = from_bytes(data, str(path))
    size = len(data)
    d = n.description
    prov = d.get("provenance", {})
    out = {"file": str(path), "format": "nlut", "format_version": data[4], "bytes": size,
           "sha256": hashlib.sha256(data).hexdigest(),
           "content_hash": n.content_hash, "signature": n.signature.state,
           "key_id": n.signature.key_id, "title": n.title, "parameters": n_params(n.config),
           "network": describe(n.config),
           "domain_min": n.domain_min.tolist(), "domain_max": n.domain_max.tolist(),
           "shaper": None if n.shaper is None else {"size": n.shaper.size,
                                                    "domain_min": n.shaper.domain_min.tolist(),
                                                    "domain_max": n.shaper.domain_max.tolist()},
           "colorspace": d.get("colorspace", {}), "provenance": prov,
           "quality": d.get("quality", {}),
           "ratio_vs_float32_33": round(FLOAT32_33_BYTES / size, 1)}
    if prov.get("source_bytes"):
        out["ratio_vs_source"] = round(prov["source_bytes"] / size, 1)
    return out


def _describe(path: Path) -> dict:
    from lutplug.core.formats import detect_format, read_lut
    from lutplug.core.lut import LUT3D
    from lutplug.evaluate.load import is_nlut

    if is_nlut(path):
        return _describe_nlut(path)
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
    if d["format"] == "nlut":
        _print_nlut_info(d)
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


def _print_nlut_info(d: dict) -> None:
    prov, q = d["provenance"], d["quality"]
    click.echo(f"{d['file']}")
    ratios = f"{d['ratio_vs_float32_33']}:1 vs a float32 33^3"
    if "ratio_vs_source" in d:
        ratios = f"{d['ratio_vs_source']}:1 vs its source, " + ratios
    click.echo(f"  format     nlut v{d['format_version']}, {d['bytes']} bytes ({ratios})")
    click.echo(f"  network    {d['network']}")
    key = f" (key {d['key_id']})" if d["key_id"] else ""
    click.echo(f"  signature  {d['signature']}{key}")
    click.echo(f"  domain     {_fmt3(d['domain_min'])} .. {_fmt3(d['domain_max'])}")
    if d["shaper"]:
        s = d["shaper"]
        click.echo(f"  shaper     1D, {s['size']} entries, {_fmt3(s['domain_min'])} .. {_fmt3(s['domain_max'])}")
    cs = d["colorspace"]
    if cs:
        click.echo(f"  colour     {cs.get('input', '?')} -> {cs.get('output', '?')}")
    if prov.get("source"):
        click.echo(f"  source     {prov['source']} ({prov.get('source_bytes')} bytes, {prov.get('grid')}^3, "
                   f"sha256 {str(prov.get('source_sha256'))[:16]}…)")
    click.echo(f"  made       {prov.get('created', '?')} by lutplug {prov.get('lutplug', '?')}, "
               f"settings {json.dumps(prov.get('settings', {}), sort_keys=True)}")
    click.echo(f"  lineage    parent {prov.get('parent') or 'none'}; this {d['content_hash'][:16]}…")
    if q:
        click.echo(f"  quality    ΔE00 mean {q.get('de_mean')}  p99 {q.get('de_p99')}  max {q.get('de_max')}  "
                   f"PSNR {q.get('psnr')} dB  (meets target: {q.get('meets_target')})")


def _fmt3(v) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in v) + ")"


_DISPLAY = click.option("--display", default=None,
                        help="Convert the grade's output (its colour-space tag; untagged = sRGB) to "
                             "this display of the OCIO studio config, e.g. 'Display P3'.")


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Output LUT (.cube, .spi3d, .clf, .png Hald); format from the extension.")
@click.option("--size", type=click.IntRange(2, 256), default=None,
              help="Cube size of the output (default: the source's).")
@click.option("--format", "fmt", default=None, help="Force the output format.")
@_DISPLAY
def bake(source: Path, output: Path, size: Optional[int], fmt: Optional[str],
         display: Optional[str]) -> None:
    """Convert any LUT or .nlut to any written format and size."""
    from lutplug.core.formats import read_lut, write_lut
    from lutplug.evaluate.bake import flatten
    from lutplug.evaluate.load import load_transform, to_cube

    transform = _for_display(load_transform(source), display)
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
    if baked.interpolation != "tetrahedral" and read_lut(output).interpolation != baked.interpolation:
        click.echo(f"note: this LUT is meant to be read with {baked.interpolation} interpolation, "
                   f"which {output.suffix or 'this format'} cannot say (.clf can)", err=True)
    click.echo(f"wrote {output} ({baked.size}^3, {output.stat().st_size} bytes; "
               f"evaluated in {dt * 1000:.1f} ms)")


@main.command()
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
@_DISPLAY
def apply(image: Path, output: Path, lut_path: Path, mix: float, engine: str,
          pubkey: Optional[Path], display: Optional[str]) -> None:
    """Apply a LUT or .nlut to an image (EXR, PNG, TIFF, DPX, JPEG), keeping its bit depth."""
    from lutplug.evaluate.load import load_transform, to_cube
    from lutplug.evaluate.ocio_cpu import apply_image
    from lutplug.imageio import read_image, write_image

    transform = load_transform(lut_path, *_trust(pubkey))
    pixels, meta = read_image(image)
    if pixels.shape[2] not in (3, 4):
        raise LutError(f"image has {pixels.shape[2]} channels; RGB or RGBA expected", image)
    t0 = time.perf_counter()
    if not hasattr(transform, "bake") or engine == "cube" or (engine == "auto" and not _has_cuda()):
        used = "OpenColorIO dense cube"
        size = transform.bake_size(65) if hasattr(transform, "bake_size") else None  # a LUT: as it is
        graded = apply_image(to_cube(transform, size), pixels, mix=mix)
    else:
        from lutplug.codec.torch_eval import apply_image_torch

        used = "network (torch)"
        graded = apply_image_torch(transform, pixels, mix=mix)
    if display:  # the display conversion runs on the graded pixels, exactly (no cube in between)
        from lutplug.evaluate.display import convert

        graded = convert(graded, _for_display(transform, display).processor)
    dt = time.perf_counter() - t0
    write_image(output, graded, like=meta)
    click.echo(f"wrote {output} ({meta.width}x{meta.height}, {meta.pixel_type}, "
               f"{used}, {dt * 1000:.0f} ms)")


def _for_display(transform, display: Optional[str]):
    """``transform`` followed by OCIO's conversion from its output colour-space tag to
    ``display`` (untagged grades are taken as sRGB display output), or ``transform`` itself."""
    if not display:
        return transform
    from lutplug.evaluate.display import for_display

    shown = for_display(transform, display)
    click.echo(f"note: converting the grade's output from {shown.source!r} to {shown.target!r}", err=True)
    return shown


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _trust(pubkey: Optional[Path], store: Optional[Path] = None) -> tuple:
    """(trust, require_signature) for loaders: ``--pubkey`` (that key, signature required),
    else ``--trust`` or ``$LUTPLUG_TRUST`` (a trust store, see lutplug.codec.trust), else none."""
    from lutplug.codec.trust import configured

    return configured(pubkey, store)


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
    """Report how close CANDIDATE is to REFERENCE (ΔE00 mean/p95/p99/max, PSNR); either may be
    a .nlut."""
    from lutplug.evaluate.load import load_transform
    from lutplug.metrics import QUALITY_TARGETS, compare_outputs, quality_report

    ref, cand = load_transform(reference), load_transform(candidate)
    report = quality_report(ref, cand, n_random=points, seed=seed)
    result = {"reference": str(reference), "candidate": str(candidate), **report.as_dict(),
              "meets": {k: report.meets(t) for k, t in QUALITY_TARGETS.items()}}
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


#: ``lutplug verify`` exit codes besides 0 (valid, or unsigned when no signature is required).
EXIT_INVALID_SIGNATURE, EXIT_UNSIGNED, EXIT_UNTRUSTED, EXIT_EXPIRED, EXIT_STRIPPED, EXIT_RESIGNED = \
    3, 4, 5, 6, 7, 8


@main.command()
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
    import dataclasses as dc

    from lutplug.codec.compress import attempt_summary, compress as run_compress
    from lutplug.evaluate.load import load_lut3d
    from lutplug.metrics import QUALITY_TARGETS

    target = QUALITY_TARGETS[quality]
    if max_de00_mean is not None:
        target = dc.replace(target, de_mean=max_de00_mean)
    if max_de00_p99 is not None:
        target = dc.replace(target, de_p99=max_de00_p99)
    colorspace = {k: v for k, v in (("input", input_space), ("output", output_space)) if v}
    if source.is_dir():
        from lutplug.batch_cli import compress_folder

        compress_folder(source, output, target, seed=seed, colorspace=colorspace, jobs=jobs,
                        cluster=cluster, force=force, recipe=recipe,
                        budget_bytes=int(budget_kb * 1024) if budget_kb else None)
        return
    from lutplug.batch import parse_recipe

    lut = load_lut3d(source)
    parent_hash = None
    if parent is not None:
        from lutplug.codec.nlut import load_nlut

        parent_hash = load_nlut(parent).content_hash
    from tqdm import tqdm

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
                              budget_bytes=int(budget_kb * 1024) if budget_kb else None,
                              source=source, colorspace=colorspace, parent=parent_hash,
                              recipe=parse_recipe(recipe))
    size = result.nlut.save(output)
    src_bytes = source.stat().st_size
    click.echo(f"wrote {output}: {size} bytes — {src_bytes / size:.1f}:1 vs {source.name} "
               f"({src_bytes} bytes), {FLOAT32_33_BYTES / size:.1f}:1 vs a float32 33^3")
    click.echo(f"  quality {result.report.summary()}")
    click.echo(f"  time    {result.seconds:.1f} s on {result.nlut.description['provenance']['settings']['device']}")
    if not result.meets_target:
        click.echo(f"lutplug: the best network found does not meet the '{quality}' target; "
                   f"it was written anyway for inspection", err=True)
        sys.exit(EXIT_FAILURE)


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Private key file to write; the public key goes to OUTPUT.pub.")
def keygen(output: Path) -> None:
    """Create an Ed25519 key pair for signing .nlut files; prints its trust-store line."""
    from lutplug.codec import trust
    from lutplug.codec.signing import generate_keypair, load_public_key

    pub = output.with_name(output.name + ".pub")
    kid = generate_keypair(output, pub)
    click.echo(f"wrote private key {output} (keep it secret) and public key {pub}; key id {kid}")
    line = trust.TrustedKey(trust.raw_key(load_public_key(pub)), output.stem).line()
    click.echo(f"trust-store line (add ' not-after=YYYY-MM-DD' to limit it): {line}")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", type=click.Path(path_type=Path), required=True, help="Private key (PEM).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the signed file here instead of in place.")
@click.option("--resign", is_flag=True,
              help="Sign a file that names another signer, making this key its signer.")
def sign(file: Path, key: Path, output: Optional[Path], resign: bool) -> None:
    """Sign a .nlut (Ed25519). The file is made to name its signer inside the signed bytes (so a
    removed or replaced signature shows); the first signature therefore changes its content hash."""
    from lutplug.codec.nlut import sign_file
    from lutplug.codec.signing import load_private_key

    kid = sign_file(file, load_private_key(key), output, resign=resign)
    click.echo(f"signed {output or file} with key {kid}")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--pubkey", type=click.Path(path_type=Path), default=None,
              help="Trusted public key; the file must be signed by it.")
@click.option("--trust", "trust_path", type=click.Path(path_type=Path), default=None,
              help="Trust store (a store file, a folder of .pub keys or one .pub); default "
                   "$LUTPLUG_TRUST.")
def verify(file: Path, pubkey: Optional[Path], trust_path: Optional[Path]) -> None:
    """Check a .nlut's signature. Exit 0 valid (or unsigned when no signature is required),
    3 tampered or corrupt, 4 unsigned when a signature is required, 5 intact but signed by a key
    that is not trusted (wrong or unknown key), 6 signed by a trusted key past its not-after
    date, 7 signature stripped, 8 re-signed by another key than the signer the file names."""
    from lutplug.codec.nlut import MAX_NLUT_BYTES, signature_status
    from lutplug.errors import StrippedSignatureError
    from lutplug.fileio import read_bytes

    store, required = _trust(pubkey, trust_path)
    try:
        status, c = signature_status(read_bytes(file, MAX_NLUT_BYTES), str(file), store)
    except StrippedSignatureError as exc:
        click.echo(f"STRIPPED: {exc}")
        sys.exit(EXIT_STRIPPED)
    except LutError as exc:
        click.echo(f"INVALID: {exc}")
        sys.exit(EXIT_INVALID_SIGNATURE)
    key, where = status.key_id, (store.source if store else "")
    outcomes = {
        "invalid": (EXIT_INVALID_SIGNATURE, f"INVALID: {file}: signature (key {key}) does not match "
                    "the contents: altered after signing"),
        "stripped": (EXIT_STRIPPED, f"STRIPPED: {file}: names signer {status.declared} but carries "
                     "no signature: its signature was removed"),
        "resigned": (EXIT_RESIGNED, f"RESIGNED: {file}: intact, but signed by key {key} while it "
                     f"names signer {status.declared}: re-signed by another key"),
        "expired": (EXIT_EXPIRED, f"EXPIRED: {file}: signed by trusted key {key} "
                    f"({status.key_name}), valid until {status.not_after} only"),
        "unsigned": (EXIT_UNSIGNED if required else 0, f"UNSIGNED: {file}"
                     + (f": a signature is required ({where})" if required else "")),
    }
    if status.state == "untrusted" and store:
        outcomes["untrusted"] = (EXIT_UNTRUSTED, f"UNTRUSTED: {file}: intact, but signed by key "
                                 f"{key}, which is not trusted ({where})")
    if status.state in outcomes:
        code, text = outcomes[status.state]
        click.echo(text)
        sys.exit(code)
    trusted = (f"by trusted key {status.key_name or key}"
               + (f" (valid until {status.not_after})" if status.not_after else "")
               if status.state == "valid" else "(no trusted key given: integrity only)")
    click.echo(f"VALID: {file}: signed with key {key} {trusted}; content {c.content_hash[:16]}")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--glsl", type=click.Path(path_type=Path), default=None, help="Write a GLSL shader.")
@click.option("--stage", type=click.Choice(["compute", "fragment", "function"]), default="compute",
              show_default=True, help="GLSL shader kind.")
@click.option("--glsl-version", type=click.Choice(["glsl_4.5", "glsl_4.0", "glsl_es_3.0"]),
              default="glsl_4.5", show_default=True)
@click.option("--onnx", type=click.Path(path_type=Path), default=None, help="Write an ONNX model.")
@_DISPLAY
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

            text = glsl_display(text, _for_display(nlut, display), glsl_version)
        atomic_write(glsl, text)
        click.echo(f"wrote {glsl} ({stage} shader, {glsl_version}, {len(text)} characters)")
    if onnx is not None:
        from lutplug.codec.onnx_export import export_onnx

        export_onnx(nlut, onnx)
        click.echo(f"wrote {onnx} ({onnx.stat().st_size} bytes)")


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("lutplug-demo"),
              show_default=True, help="Folder for the demo's outputs.")
def demo(output: Path) -> None:
    """Run the main job on bundled example data and print a readable report."""
    from lutplug.demo import run_demo

    run_demo(output, echo=click.echo)


def _register_host_commands() -> None:
    """Add each host's command group (``lutplug ocio …``, ``lutplug nuke …``, ``lutplug gimp …``).
    A host module must import nothing heavy at import time."""
    import importlib
    import importlib.util

    for host in ("ocio", "nuke", "gimp"):
        name = f"lutplug.hosts.{host}.cli"
        if importlib.util.find_spec(f"lutplug.hosts.{host}") and importlib.util.find_spec(name):
            main.add_command(importlib.import_module(name).group)


_register_host_commands()
from lutplug.pack_cli import group as _pack_group  # noqa: E402  (lutplug pack …)
main.add_command(_pack_group)

if __name__ == "__main__":  # pragma: no cover
    main()

"""``lutplug pack build | add | extract | list | sign``: look packs (.nlutpack) on the command line.

Training shows one progress bar for the pack and one per look (up to :data:`MAX_LOOK_BARS`);
a build checkpoints into ``OUT.ckpt/`` and, run again after a crash or kill, resumes there.
Exit codes: 0 ok, 1 a look misses the quality target (the pack is written anyway), 2 bad input.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import click

from lutplug.cli.common import quality_target, trust_options
from lutplug.errors import LutError

MAX_LOOK_BARS = 40


@click.group(name="pack")
def group() -> None:
    """Look packs: many grades in one file — a family read through one base look (an input stage
    per look), or a shared base network with a tiny adapter per look."""


def _sources(items: Sequence[Path]) -> List[Path]:
    from lutplug.batch import find_sources

    files: List[Path] = []
    for item in items:
        files.extend(find_sources(item) if item.is_dir() else [item])
    if not files:
        raise LutError("no LUT files given (folders are searched for LUT files by extension)")
    return files


def _inputs(items: Sequence[Path], names: Sequence[str], colorspace: dict):
    from lutplug.codec.pack_train import look_input

    files = _sources(items)
    if names and len(names) != len(files):
        raise LutError(f"{len(names)} --name given for {len(files)} LUT files; give one per file or none")
    return [look_input(f, names[i] if names else None, colorspace) for i, f in enumerate(files)]




class _Bars:
    """tqdm bars: one for the pack's training steps, one per look (ΔE estimate, then quality)."""

    def __init__(self, names: Sequence[str], title: str):
        from tqdm import tqdm

        self._tqdm = tqdm
        self.pack = tqdm(desc=title, unit="step", dynamic_ncols=True, position=0)
        self.looks: Dict[str, Any] = {}
        if len(names) <= MAX_LOOK_BARS:
            width = max(len(n) for n in names)
            self.looks = {n: tqdm(desc=f"  {n:<{width}}", total=1, unit="step", dynamic_ncols=True,
                                  position=i + 1, bar_format="{desc} {bar:20} {postfix}")
                          for i, n in enumerate(names)}
        self.names = list(names)

    def __call__(self, info: dict) -> None:
        stage = info.get("stage")
        if stage == "train":
            if info.get("resumed"):
                click.echo(f"resumed at step {info['step']} of {info['total']}", err=True)
            if self.pack.total != info["total"]:
                self.pack.reset(total=info["total"])
                for bar in self.looks.values():
                    bar.reset(total=info["total"])
            self.pack.n = info["step"]
            self.pack.set_postfix_str("quantisation-aware" if info.get("qat") else
                                      ("resumed" if info.get("resumed") else ""), refresh=False)
            self.pack.refresh()
            for name, de in zip(self.names, info.get("de_mean", [])):
                bar = self.looks.get(name)
                if bar is not None:
                    bar.n = info["step"]
                    bar.set_postfix_str(f"ΔE00 ≈ {de:.3f}")
        elif stage == "base":
            self.pack.set_postfix_str("choosing the base look (short trial fits)…", refresh=True)
        elif stage in ("standalone", "solo"):
            text = ("compressing it on its own" if stage == "standalone" else
                    "adapter misses the target: training its own network")
            bar = self.looks.get(info["look"])
            if bar is not None:
                bar.set_postfix_str(text + "…")
            else:
                self.pack.write(f"  {info['look']}: {text}")
        elif stage == "measured":
            text = (f"ΔE00 mean {info['de_mean']:.3f} p99 {info['de_p99']:.2f} max {info['de_max']:.2f} "
                    f"PSNR {info['psnr']:.1f} — {'meets' if info['meets_target'] else 'MISSES'} target")
            bar = self.looks.get(info["look"])
            if bar is not None:
                bar.n = bar.total or 1
                bar.set_postfix_str(text)
            else:
                self.pack.write(f"  {info['look']}: {text}")

    def close(self) -> None:
        for bar in list(self.looks.values()) + [self.pack]:
            bar.close()


def _train(fn, names: Sequence[str], title: str, **kwargs):
    bars = _Bars(names, title)
    try:
        return fn(progress=bars, **kwargs)
    finally:
        bars.close()


def _write(pack, out: Path, key: Optional[Path]) -> int:
    """Save ``pack`` (signed with ``key`` when given); returns the file's size."""
    size = pack.save(out)
    if key is not None:
        from lutplug.codec.pack import sign_pack
        from lutplug.codec.signing import load_private_key

        click.echo(f"signed with key {sign_pack(out, load_private_key(key))}")
        size = out.stat().st_size
    return size


def _report(pack, out: Path, size: int, new: Optional[Sequence[str]] = None) -> None:
    looks = [lk for lk in pack.looks if new is None or lk.name in new]
    solo = sum(1 for lk in looks if lk.kind == "solo")
    click.echo(f"wrote {out}: {size} bytes, {len(pack.looks)} looks"
               + (f" ({len(looks)} new)" if new is not None else "")
               + (f"; {solo} needed their own network" if solo else ""))
    missed = [lk.name for lk in looks if not lk.meets_target]
    if missed:
        click.echo(f"lutplug: {len(missed)} looks miss the quality target: {', '.join(missed)}", err=True)
        sys.exit(1)


_QUALITY = click.option("--quality", type=click.Choice(["invisible", "high", "draft"]),
                        default="invisible", show_default=True, help="Target every look must meet.")
_NAME = click.option("--name", "names", multiple=True,
                     help="Look name (default: the file's stem); once per input file.")
_SPACES = [click.option("--input-space", default=None, help="Colour-space tag of the inputs."),
           click.option("--output-space", default=None, help="Colour-space tag of the outputs.")]
_RECIPE = click.option("--recipe", default=None, hidden=True, help="JSON training overrides.")
_PUBKEY = click.option("--pubkey", type=click.Path(path_type=Path), default=None,
                       help="Refuse a pack not signed by this key.")
_KEY = click.option("--key", type=click.Path(path_type=Path), default=None,
                    help="Sign the written pack with this private key (PEM).")


def _spaces(fn):
    for opt in reversed(_SPACES):
        fn = opt(fn)
    return fn


def _colorspace(input_space, output_space) -> dict:
    return {k: v for k, v in (("input", input_space), ("output", output_space)) if v}


@group.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The .nlutpack to write.")
@_QUALITY
@_NAME
@_spaces
@click.option("--adapter", type=click.Choice(["stage", "head", "cond", "lora"]), default="stage",
              show_default=True,
              help="Per-look adapter: an input stage into one base look (families of looks; a look "
                   "keeps its own network when that is smaller), or, over a shared base network, "
                   "an own output layer, a conditioning vector or low-rank weight deltas.")
@click.option("--dim", type=click.IntRange(0, 256), default=None,
              help="Adapter size: conditioning dimensions / delta rank (default 16 / 2; head: 0).")
@click.option("--hidden", default="64", show_default=True,
              help="Base hidden widths, comma-separated (adapter packs).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--restart", is_flag=True, help="Ignore a checkpoint of an earlier run.")
@_KEY
@_RECIPE
def build(inputs, output: Path, quality: str, names, input_space, output_space, adapter: str,
          dim: Optional[int], hidden: str, seed: int, restart: bool, key: Optional[Path],
          recipe: Optional[str]) -> None:
    """Build one pack from LUT files and folders: by default every look compressed on its own
    first, then, for a family, one base look and a stage per look wherever that is smaller
    (checkpointed, resumable); --adapter head|cond|lora trains a shared base network instead."""
    import shutil

    from lutplug.codec.train.recipe import parse_recipe
    from lutplug.codec.pack_family import build_family
    from lutplug.codec.pack_train import DEFAULT_DIMS, build_pack

    try:
        widths = [int(h) for h in hidden.split(",")]
    except ValueError:
        raise LutError(f"--hidden must be comma-separated widths, got {hidden!r}") from None
    looks = _inputs(inputs, names, _colorspace(input_space, output_space))
    ckpt = output.with_name(output.name + ".ckpt")
    if restart:
        shutil.rmtree(ckpt, ignore_errors=True)
    elif ckpt.is_dir():
        click.echo(f"resuming from checkpoint {ckpt}", err=True)
    common = dict(inputs=looks, target=quality_target(quality), seed=seed, recipe=parse_recipe(recipe),
                  checkpoint=ckpt)
    if adapter == "stage":
        pack = _train(build_family, [lk.name for lk in looks], f"pack {output.name}", **common)
    else:
        pack = _train(build_pack, [lk.name for lk in looks], f"pack {output.name}", hidden=widths,
                      kind=adapter, dim=DEFAULT_DIMS[adapter] if dim is None else dim, **common)
    _report(pack, output, _write(pack, output, key))


@group.command()
@click.argument("pack_file", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the grown pack here (default: in place).")
@_QUALITY
@_NAME
@_spaces
@click.option("--seed", type=int, default=0, show_default=True)
@_PUBKEY
@_KEY
@_RECIPE
def add(pack_file: Path, inputs, output: Optional[Path], quality: str, names, input_space,
        output_space, seed: int, pubkey: Optional[Path], key: Optional[Path], recipe: Optional[str]) -> None:
    """Add looks to a pack without retraining its base (existing looks keep their exact networks;
    the grown pack is unsigned unless --key signs it)."""
    from lutplug.codec.train.recipe import parse_recipe
    from lutplug.codec.pack import load_pack
    from lutplug.codec.pack_family import add_to_family
    from lutplug.codec.pack_train import add_looks

    pack = load_pack(pack_file, *trust_options(pubkey))
    looks = _inputs(inputs, names, _colorspace(input_space, output_space))
    out = output or pack_file
    grow = add_to_family if pack.spec is None else add_looks
    grown = _train(grow, [lk.name for lk in looks], f"add to {pack_file.name}", pack=pack,
                   inputs=looks, target=quality_target(quality), seed=seed, recipe=parse_recipe(recipe),
                   checkpoint=out.with_name(out.name + ".ckpt"))
    _report(grown, out, _write(grown, out, key), [lk.name for lk in looks])


@group.command()
@click.argument("pack_file", type=click.Path(path_type=Path))
@click.argument("name")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="The .nlut to write (default: NAME.nlut).")
@_PUBKEY
def extract(pack_file: Path, name: str, output: Optional[Path], pubkey: Optional[Path]) -> None:
    """Write one look of a pack as a standalone .nlut."""
    from lutplug.codec.pack import load_pack

    pack = load_pack(pack_file, *trust_options(pubkey))
    nlut = pack.extract(name)
    out = output or Path(f"{name}.nlut")
    size = nlut.save(out)
    click.echo(f"wrote {out}: {size} bytes (look {name!r} of {pack_file.name})")


@group.command(name="list")
@click.argument("pack_file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@_PUBKEY
def list_looks(pack_file: Path, as_json: bool, pubkey: Optional[Path]) -> None:
    """List a pack's looks with their quality."""
    from lutplug.codec.pack import load_pack

    pack = load_pack(pack_file, *trust_options(pubkey))
    rows = [{"name": lk.name, "kind": lk.kind, "grid": lk.info.get("grid"),
             "source": lk.info.get("source", {}).get("file"), "quality": lk.quality}
            for lk in pack.looks]
    if as_json:
        click.echo(json.dumps({"file": str(pack_file), "bytes": pack_file.stat().st_size,
                               "signature": str(pack.signature), "adapter": pack.spec,
                               "stage_base": pack.stage_base, "looks": rows}, indent=2))
        return
    spec = pack.spec
    base = (f"base {spec['model']['hidden']}, adapter {spec['kind']} {spec['dim']}" if spec is not None
            else f"stage base {pack.stage_base!r}" if pack.stage_base else "every look its own network")
    click.echo(f"{pack_file}: {pack_file.stat().st_size} bytes, {len(rows)} looks, {base}, "
               f"signature {pack.signature}")
    width = max([len(r["name"]) for r in rows] + [4])
    for r in rows:
        q = r["quality"]
        click.echo(f"  {r['name']:<{width}}  {r['kind']:<7}  ΔE00 mean {q.get('de_mean', '?')}  "
                   f"p99 {q.get('de_p99', '?')}  max {q.get('de_max', '?')}  PSNR {q.get('psnr', '?')}"
                   f"  {'meets target' if q.get('meets_target') else 'MISSES target'}")


@group.command()
@click.argument("pack_file", type=click.Path(path_type=Path))
@click.option("--key", type=click.Path(path_type=Path), required=True, help="Private key (PEM).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the signed pack here instead of in place.")
@click.option("--resign", is_flag=True, help="Sign a pack that names another signer.")
def sign(pack_file: Path, key: Path, output: Optional[Path], resign: bool) -> None:
    """Sign a pack (Ed25519, as `lutplug sign` signs a .nlut)."""
    from lutplug.codec.pack import sign_pack
    from lutplug.codec.signing import load_private_key

    kid = sign_pack(pack_file, load_private_key(key), output, resign=resign)
    click.echo(f"signed {output or pack_file} with key {kid}")

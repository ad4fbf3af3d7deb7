"""Codec frontier: for every 3D LUT in ../shared/luts, lutplug's .nlut vs the obvious alternatives
at the T1 ("invisible") target, side by side in one run.

    .venv/bin/python benchmarks/frontier.py [--luts ../shared/luts] [--out benchmarks/results]
                                            [--only PATTERN] [--threads 2]
                                            [--search-seconds S] [--recipe JSON]

* lutplug: ``compress`` → the whole .nlut file's bytes → bake back to the source's native grid →
  quality against the source (lattice + 200k seeded points; ΔE00 on sRGB-encoded clipped outputs).
* baseline A: the LUT resampled to k³ (smallest k meeting T1; shaper kept and counted), float16 +
  zlib -9.
* baseline B: G'MIC ``compress_clut`` (defaults), read from benchmarks/results/gmic.json written by
  benchmarks/gmic_baseline.py (run it first; it takes minutes per LUT).

Writes frontier.json, frontier.md and frontier.png (size vs ΔE00 mean, one curve per codec);
with no LUT to compress (or, with --merge, no shard to merge) it stops (exit 2) and writes nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Optional

import numpy as np

from lutplug import __version__
from lutplug.codec.compress import compress
from lutplug.codec import lean
from lutplug.codec.nlut import from_bytes, load_nlut
from lutplug.codec.train.recipe import parse_recipe
from lutplug.core.formats import read_lut
from lutplug.core.lut import LUT3D, lattice
from lutplug.core.load import as_lut3d
from lutplug.metrics import QUALITY_TARGETS, quality_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guard import SHARED_HINT, refuse, require, require_files, require_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
T1 = QUALITY_TARGETS["invisible"]


def plain_cube_bytes(table: np.ndarray) -> int:
    """Baseline C's payload: a float16 cube ``[b, g, r, c]``, its bit patterns delta-coded along
    red (R fastest), bytes shuffled (all low bytes, then all high bytes), zlib -9."""
    bits = np.ascontiguousarray(table, dtype=np.float16).view(np.uint16)
    delta = bits.copy()
    delta[:, :, 1:, :] = bits[:, :, 1:, :] - bits[:, :, :-1, :]  # wraps mod 2^16: lossless
    raw = delta.reshape(-1).view(np.uint8).reshape(-1, 2)
    return len(zlib.compress(np.ascontiguousarray(raw.T).tobytes(), 9))


def baseline_a(lut: LUT3D, max_size: int = 65) -> dict:
    """Smallest k³ resample meeting T1 and the size-vs-ΔE curve of the sizes tried: a binary search
    over k (quality mostly grows with k), then the three sizes below the one found, and the grids
    whose nodes are a subset of the source's ((n - 1) / m + 1, the source's own n included: those
    reproduce it exactly at nodes), since growth is not monotonic there — also when the largest
    size misses (a 65³ resample of a sharp 32³ table can miss where the table itself cannot).
    Each point is stored two ways: baseline A, float16 + zlib -9 (``bytes``), and baseline C,
    float16 delta-coded along red + byte shuffle + zlib -9 (``bytes_c``, :func:`plain_cube_bytes`);
    the shaper (float16 + zlib -9) counted in both. ``best_c``: the tried size meeting T1 with the
    fewest ``bytes_c``."""
    shaper_bytes = 0
    if lut.shaper is not None:
        shaper_bytes = len(zlib.compress(lut.shaper.table.astype(np.float16).tobytes(), 9))
    tried = {}

    def point(k: int) -> dict:
        if k not in tried:
            small = lut.resample(k)
            small = LUT3D(small.table.astype(np.float16).astype(np.float32), small.domain_min,
                          small.domain_max, shaper=small.shaper, interpolation=small.interpolation)
            nbytes = len(zlib.compress(small.table.astype(np.float16).tobytes(), 9)) + shaper_bytes
            rep = quality_report(lut, small)
            tried[k] = {"k": k, "bytes": nbytes, "bytes_c": plain_cube_bytes(small.table) + shaper_bytes,
                        **rep.as_dict(), "meets": rep.meets(T1)}
        return tried[k]

    lo, hi = 2, max_size
    n = lut.size
    nested = [(n - 1) // m + 1 for m in range(1, n) if (n - 1) % m == 0]
    if not point(hi)["meets"]:  # a finer grid that misses the source's nodes: only they can meet
        found = next((point(k) for k in sorted(nested) if point(k)["meets"]), None)
    else:
        while lo < hi:
            mid = (lo + hi) // 2
            if point(mid)["meets"]:
                hi = mid
            else:
                lo = mid + 1
        for k in sorted(set(range(max(2, hi - 3), hi)) | {k for k in nested if 2 <= k < hi}):
            if point(k)["meets"]:
                hi = k
                break
        found = point(hi)
    passing = [p for p in tried.values() if p["meets"]]
    best_c = min(passing, key=lambda p: p["bytes_c"]) if passing else None
    return {"best": found, "best_c": best_c, "curve": [tried[k] for k in sorted(tried)]}


def lutplug_codec(lut: LUT3D, source: Path, workdir: Path, seed: int, recipe: Optional[dict] = None) -> dict:
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    result = compress(lut, target=T1, seed=seed, device="cpu", source=source, recipe=recipe)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    out = workdir / (source.stem + ".nlut")
    size = result.nlut.save(out)
    spans = lean.sections(out.read_bytes(), out.name)
    overhead = size - (spans["tensors"][1] - spans["tensors"][0])
    t1 = time.perf_counter()
    baked = result.nlut.bake(result.nlut.bake_size(lut.size))  # what hosts bake (a lattice: its grid)
    bake_s = time.perf_counter() - t1
    rep = quality_report(lut, baked)
    return {"bytes": size, "overhead_bytes": overhead, "compress_s": seconds, "compress_cpu_s": cpu_seconds,
            "load_avg_1min": [load, os.getloadavg()[0]], "bake_native_s": bake_s,
            "direct": result.report.as_dict(), **rep.as_dict(), "meets": rep.meets(T1),
            "model": result.nlut.config, "curve": [
                {"bytes": a.get("stored_bytes"), "de_mean": a.get("de_mean"), "de_p99": a.get("de_p99"),
                 "de_max": a.get("de_max"), "psnr": a.get("psnr"), "hidden": a.get("hidden"),
                 "meets": a.get("meets")} for a in result.attempts]}


def reencode(path: Path, row: dict) -> None:
    """Re-save the .nlut at ``path`` in the current format (same network, same description) and
    set ``row["bytes"]`` to its new size, keeping the old one as ``bytes_before_reencode``."""
    old = load_nlut(path)
    data = old.to_bytes()
    new = from_bytes(data, str(path))
    x = lattice(17)  # 17³ points of [0, 1]³: any points do, the check is bit equality
    if not np.array_equal(new.apply(x), old.apply(x)):
        raise SystemExit(f"{path}: re-encoded network evaluates differently")
    if len(data) != path.stat().st_size:
        path.write_bytes(data)
    if row["bytes"] != len(data):
        row.setdefault("bytes_before_reencode", row["bytes"])
        row["bytes"] = len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--luts", type=Path, default=REPO.parent / "shared" / "luts")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("files", nargs="*", type=Path, help="LUT files (default: every 3D LUT in --luts)")
    ap.add_argument("--only", default="", help="only files whose name contains this")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--search-seconds", type=float, default=None,
                    help="the size search's modelled time per LUT (lutplug compress --search-seconds)")
    ap.add_argument("--recipe", default=None, help="training overrides as JSON (lutplug compress "
                    "--recipe), e.g. '{\"deep_steps_factor\": 1.0}'; --search-seconds adds to it")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard", default="", help="K/N: run every N-th file starting at K (0-based), "
                    "writing frontier_shardK.json; combine shards with --merge")
    ap.add_argument("--merge", action="store_true", help="combine frontier_shard*.json and exit")
    ap.add_argument("--reuse-a", type=Path, default=None, help="take baseline A of each LUT from "
                    "this earlier frontier JSON (same LUTs, same T1) instead of recomputing it")
    ap.add_argument("--redo-a", action="store_true", help="with --merge: recompute baseline A of rows "
                    "whose smallest k exceeds the source's grid (or that never met T1)")
    ap.add_argument("--reencode", action="store_true", help="with --merge: re-save every row's .nlut "
                    "(OUT/nlut) in the current file format and update its bytes; the network must "
                    "evaluate bit-identically")
    args = ap.parse_args()
    if args.merge:
        rows = []
        parts = require(sorted(args.out.glob("frontier_shard*.json")), f"frontier_shard*.json in {args.out}",
                        "run with --shard K/N first")
        for part in parts:
            rows += json.loads(part.read_text())["rows"]
        require(rows, "rows in " + ", ".join(p.name for p in parts))
        rows.sort(key=lambda r: r["file"])
        for r in rows if args.redo_a else ():
            best = r["baseline_a"]["best"]
            if best is None or best["k"] > r["grid"]:
                r["baseline_a"] = baseline_a(as_lut3d(read_lut(args.luts / r["file"])))
        for r in rows if args.reencode else ():
            reencode(args.out / "nlut" / (Path(r["file"]).stem + ".nlut"), r["lutplug"])
        gmic_path = args.out / "gmic.json"
        gmic = json.loads(gmic_path.read_text()) if gmic_path.exists() else {}
        for r in rows:
            r["baseline_b"] = gmic.get(r["file"]) or r["baseline_b"]
        _write(args.out, rows, final=True)
        print(f"merged {len(rows)} rows into {args.out / 'frontier.json'}")
        return
    if args.files:
        files = require_files(args.files)
    else:
        files = [p for p in require_folder(args.luts, hint=SHARED_HINT).iterdir()
                 if p.is_file() and p.suffix.lower() not in (".md", ".spi1d")]
    files = sorted(p for p in files if args.only in p.name)
    if args.shard:
        k, n = (int(v) for v in args.shard.split("/"))
        files = files[k::n]
    require(files, "LUT files to compress" + (f" matching {args.only!r}" if args.only else "")
            + (f" in shard {args.shard}" if args.shard else ""), "" if args.files else SHARED_HINT)
    if args.reuse_a is not None and not args.reuse_a.is_file():
        refuse(f"--reuse-a {args.reuse_a} not found")
    import torch

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = args.out / "nlut"
    workdir.mkdir(exist_ok=True)
    gmic_path = args.out / "gmic.json"
    gmic = json.loads(gmic_path.read_text()) if gmic_path.exists() else {}
    earlier_a = {}
    if args.reuse_a is not None:
        earlier_a = {r["file"]: r["baseline_a"] for r in json.loads(args.reuse_a.read_text())["rows"]}
    recipe = parse_recipe(args.recipe) or {}
    if args.search_seconds is not None:
        recipe["search_seconds"] = args.search_seconds
    rows = []
    name = f"frontier_shard{args.shard.split('/')[0]}" if args.shard else "frontier"
    for path in files:
        lut = as_lut3d(read_lut(path))
        row = {"file": path.name, "grid": lut.size, "shaper": lut.shaper is not None,
               "source_bytes": path.stat().st_size}
        row["lutplug"] = lutplug_codec(lut, path, workdir, args.seed, recipe)
        row["baseline_a"] = earlier_a.get(path.name) or baseline_a(lut)
        g = gmic.get(path.name)
        row["baseline_b"] = g if g else {"status": "not run"}
        rows.append(row)
        a = row["baseline_a"]["best"]
        lp = row["lutplug"]
        print(f"{path.name:58s} {lut.size:2d}^3  lutplug {lp['bytes']:6d} B  mean {lp['de_mean']:.3f} "
              f"p99 {lp['de_p99']:.2f} max {lp['de_max']:.2f} PSNR {lp['psnr']:.1f} "
              f"{'T1' if lp['meets'] else '--'} {lp['compress_s']:.1f}s | A "
              + (f"{a['bytes']:6d} B (k={a['k']})" if a else "never meets T1"), flush=True)
        _write(args.out, rows, name=name)
    _write(args.out, rows, final=not args.shard, name=name)


def baseline_c(row: dict) -> "dict | None":
    """Baseline C of a row: the smallest plain cube meeting T1 (see :func:`baseline_a`'s
    ``best_c``) counted with the same container overhead as the row's .nlut."""
    best = row["baseline_a"].get("best_c")
    if not best:
        return None
    overhead = row["lutplug"].get("overhead_bytes", 0)
    return {"k": best["k"], "payload_bytes": best["bytes_c"], "bytes": best["bytes_c"] + overhead}


def _summary(rows) -> dict:
    lp = [r["lutplug"]["bytes"] for r in rows]
    a = [r["baseline_a"]["best"]["bytes"] for r in rows if r["baseline_a"]["best"]]
    c = [(r["lutplug"]["bytes"], baseline_c(r)["bytes"]) for r in rows if baseline_c(r)]
    overhead = [r["lutplug"]["overhead_bytes"] for r in rows if "overhead_bytes" in r["lutplug"]]
    times = [r["lutplug"]["compress_s"] for r in rows]
    return {"luts": len(rows), "lutplug_median_bytes": statistics.median(lp) if lp else None,
            "lutplug_total_bytes": sum(lp),
            "lutplug_median_overhead_bytes": statistics.median(overhead) if overhead else None,
            "baseline_a_median_bytes": statistics.median(a) if a else None,
            "baseline_a_never_meets": sum(1 for r in rows if not r["baseline_a"]["best"]),
            "lutplug_larger_than_baseline_c": sum(1 for mine, cube in c if mine > cube),
            "lutplug_meets_t1": sum(1 for r in rows if r["lutplug"]["meets"]),
            "lutplug_residual_lattices": sum(1 for r in rows if "lattice" in r["lutplug"]["model"]),
            "lutplug_median_compress_s": statistics.median(times) if rows else None,
            "lutplug_max_compress_s": max(times) if rows else None,
            "lutplug_total_compress_s": sum(times),
            "lutplug_median_compress_cpu_s": statistics.median(r["lutplug"].get("compress_cpu_s", 0)
                                                               for r in rows) if rows else None}


def _write(out: Path, rows, final: bool = False, name: str = "frontier") -> None:
    summary = _summary(rows)
    doc = {"machine": platform.platform(), "lutplug": __version__, "target": T1.__dict__,
           "summary": summary, "rows": rows}
    (out / f"{name}.json").write_text(json.dumps(doc, indent=2, default=float))
    if name != "frontier":
        return
    lines = ["# Codec frontier at T1 (ΔE00 mean ≤ 0.45, p99 ≤ 1.5, max ≤ 3, PSNR ≥ 45 dB)", "",
             f"{summary}", "",
             "lutplug B: the whole .nlut file (its container overhead in brackets); T1 is judged on the "
             "cube hosts bake (at the source's grid, or a residual lattice's own). A: the smallest "
             "resampled cube meeting T1, float16 + zlib -9, no header. C: the same kind of cube, "
             "float16 delta-coded along red + byte shuffle + zlib -9, plus the .nlut's own overhead.", "",
             "| LUT | grid | lutplug B | model | ΔE mean / p99 / max | PSNR | T1 | compress s (CPU s, load) | A: k | "
             "A B | C: k | C B | ≤ C | G'MIC B | G'MIC ΔE mean / p99 / max, PSNR |",
             "|---|---:|---:|---|---|---:|:-:|---|---:|---:|---:|---:|:-:|---:|---|"]
    for r in rows:
        lp, a, g = r["lutplug"], r["baseline_a"]["best"], r["baseline_b"]
        cc = baseline_c(r)
        gb = g.get("bytes") if g.get("status") == "ok" else g.get("status")
        q = g.get("quality") or g
        gq = (f"{q['de_mean']:.3f} / {q['de_p99']:.2f} / {q['de_max']:.2f}, PSNR {q['psnr']:.1f}"
              if g.get("status") == "ok" and "de_mean" in q else "")
        model = lp["model"]
        grid = model.get("lattice", {}).get("grid")
        model = f"{model['hidden']}" + (f" + {grid}³ lattice" if grid else "")
        over = f" ({lp['overhead_bytes']})" if "overhead_bytes" in lp else ""
        lines.append(f"| {r['file']} | {r['grid']} | {lp['bytes']}{over} | {model} | {lp['de_mean']:.3f} / {lp['de_p99']:.2f} / "
                     f"{lp['de_max']:.2f} | {lp['psnr']:.1f} | {'yes' if lp['meets'] else 'no'} | "
                     f"{lp['compress_s']:.1f} ({lp.get('compress_cpu_s', 0):.0f}, "
                     f"{max(lp.get('load_avg_1min', [0])):.1f}) | {a['k'] if a else '–'} | {a['bytes'] if a else 'never'} | "
                     f"{cc['k'] if cc else '–'} | {cc['bytes'] if cc else 'never'} | "
                     f"{('yes' if lp['bytes'] <= cc['bytes'] else 'NO') if cc else '–'} | {gb} | {gq} |")
    (out / "frontier.md").write_text("\n".join(lines) + "\n")
    if final:
        _plot(out, rows)


def _plot(out: Path, rows) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no frontier.png")
        return
    fig, ax = plt.subplots(figsize=(9, 6))
    for r in rows:
        a = [p for p in r["baseline_a"]["curve"]]
        ax.plot([p["bytes"] for p in a], [p["de_mean"] for p in a], color="tab:orange", alpha=0.35, lw=1)
        c = [p for p in r["lutplug"]["curve"] if p["bytes"]]
        c.sort(key=lambda p: p["bytes"])
        ax.plot([p["bytes"] for p in c], [p["de_mean"] for p in c], color="tab:blue", alpha=0.35, lw=1,
                marker=".")
        g = r["baseline_b"]
        q = g.get("quality") or g
        if g.get("status") == "ok" and "de_mean" in q:
            ax.scatter([g["bytes"]], [q["de_mean"]], color="tab:green", s=14)
    ax.axhline(T1.de_mean, color="k", ls="--", lw=1, label="T1 mean 0.45")
    ax.plot([], [], color="tab:blue", label="lutplug size-search attempts (network bytes, no header)")
    ax.plot([], [], color="tab:orange", label="baseline A (k³ fp16+zlib)")
    ax.scatter([], [], color="tab:green", label="baseline B (G'MIC keypoints)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bytes")
    ax.set_ylabel("ΔE00 mean")
    ax.legend()
    ax.set_title(f"Size vs error, {len(rows)} LUTs from shared/luts")
    fig.tight_layout()
    fig.savefig(out / "frontier.png", dpi=110)


if __name__ == "__main__":
    main()

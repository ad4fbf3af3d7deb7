"""Core speed benchmark: read every LUT in ../shared/luts and apply one to a 3840×2160 float
image, lutplug vs OpenColorIO doing the same from the file, side by side in one run.

    .venv/bin/python benchmarks/speed.py [--luts ../shared/luts] [--out benchmarks/results]

Writes speed.json and speed.md (nothing when there is no LUT to read: exit 2). Times are the
median of --repeat runs (wall clock, this machine; machines here are noisy, so compare only
within one run).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import PyOpenColorIO as ocio

import lutplug
from lutplug.core.formats import detect_format, read_lut
from lutplug.core.load import as_lut3d
from lutplug.evaluate.ocio_cpu import apply_image, cpu_processor

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from guard import SHARED_HINT, refuse, require, require_folder  # noqa: E402


def median_time(fn, repeat: int) -> float:
    return interleaved({"fn": fn}, repeat)["fn"]


def interleaved(fns: dict, repeat: int) -> dict:
    """Median seconds of each function, called in turn in the same loop (after one warm-up call
    each) so that load changes on a noisy machine hit all of them alike."""
    times = {k: [] for k in fns}
    for k, fn in fns.items():
        fn()
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def ocio_file_processor(path: Path):
    cfg = ocio.Config.CreateRaw()
    ft = ocio.FileTransform(str(path), interpolation=ocio.INTERP_BEST)
    return cfg.getProcessor(ft).getOptimizedCPUProcessor(ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32,
                                                         ocio.OPTIMIZATION_LOSSLESS)


def ocio_read(path: Path):
    ocio.ClearAllCaches()  # OCIO caches parsed files; time a real read
    return ocio_file_processor(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--luts", type=Path, default=REPO.parent / "shared" / "luts")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--apply-lut", default="freshluts_bold_red_cinema.cube")
    args = ap.parse_args()
    luts = require(sorted(p for p in require_folder(args.luts, hint=SHARED_HINT).iterdir()
                          if p.is_file() and p.suffix != ".md"), f"LUT files in {args.luts}", SHARED_HINT)
    if not (args.luts / args.apply_lut).is_file():
        refuse(f"--apply-lut {args.apply_lut} is not in {args.luts}")
    args.out.mkdir(parents=True, exist_ok=True)
    ocio.SetLoggingLevel(ocio.LOGGING_LEVEL_NONE)

    reads = []
    for path in luts:
        row = {"file": path.name, "format": detect_format(path)}
        row["lutplug_s"] = median_time(lambda: read_lut(path), args.repeat)
        try:
            row["ocio_s"] = median_time(lambda: ocio_read(path), args.repeat)
        except Exception as exc:  # OCIO cannot read some files (PNG lookups, Resolve shapers)
            row["ocio_s"] = None
            row["ocio_error"] = str(exc).splitlines()[0][:80]
        reads.append(row)
        print(f"read {path.name:60s} lutplug {row['lutplug_s'] * 1e3:8.1f} ms   OCIO "
              + (f"{row['ocio_s'] * 1e3:8.1f} ms" if row["ocio_s"] is not None else "  cannot read"))

    lut_path = args.luts / args.apply_lut
    image = np.random.default_rng(0).random((2160, 3840, 3), dtype=np.float32)
    lut = as_lut3d(read_lut(lut_path))
    ours_proc = cpu_processor(lut)
    theirs_proc = ocio_file_processor(lut_path)

    def ocio_apply():
        buf = image.copy()
        theirs_proc.apply(ocio.PackedImageDesc(buf, 3840, 2160, 3))
        return buf

    ours_out, theirs_out = apply_image(lut, image, processor=ours_proc), ocio_apply()
    timed = interleaved({"lutplug_s": lambda: apply_image(lut, image, processor=ours_proc),
                         "ocio_s": ocio_apply,
                         "lutplug_mix_0.5_s": lambda: apply_image(lut, image, 0.5, ours_proc)},
                        max(args.repeat, 15))
    apply_row = {"lut": lut_path.name, "image": "3840x2160x3 float32", **timed,
                 "max_abs_diff": float(np.abs(ours_out - theirs_out).max())}
    apply_row["ratio"] = apply_row["lutplug_s"] / apply_row["ocio_s"]
    print(f"apply 4K: lutplug {apply_row['lutplug_s'] * 1e3:.1f} ms, OCIO {apply_row['ocio_s'] * 1e3:.1f} ms "
          f"(ratio {apply_row['ratio']:.2f}, target <= 1.1), max |diff| {apply_row['max_abs_diff']:.2e}")

    result = {"machine": platform.platform(), "lutplug": lutplug.__version__,
              "opencolorio": ocio.__version__, "repeat": args.repeat, "read": reads,
              "apply": apply_row}
    (args.out / "speed.json").write_text(json.dumps(result, indent=2))
    lines = ["# Core speed (median of %d runs; the 4K apply: %d interleaved runs)" % (args.repeat, max(args.repeat, 15)), "",
             f"Apply {apply_row['image']} with {apply_row['lut']}: lutplug "
             f"{apply_row['lutplug_s'] * 1e3:.1f} ms vs OCIO from the file {apply_row['ocio_s'] * 1e3:.1f} ms "
             f"→ ratio **{apply_row['ratio']:.2f}** (target ≤ 1.1); with mix 0.5: "
             f"{apply_row['lutplug_mix_0.5_s'] * 1e3:.1f} ms; max |diff| {apply_row['max_abs_diff']:.1e}", "",
             "| file | format | lutplug read (ms) | OCIO read (ms) |", "|---|---|---:|---:|"]
    for r in reads:
        o = f"{r['ocio_s'] * 1e3:.1f}" if r["ocio_s"] is not None else "cannot read"
        lines.append(f"| {r['file']} | {r['format']} | {r['lutplug_s'] * 1e3:.1f} | {o} |")
    (args.out / "speed.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'speed.json'} and {args.out / 'speed.md'}")


if __name__ == "__main__":
    main()

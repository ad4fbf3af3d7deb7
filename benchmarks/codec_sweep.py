"""Run the neural-LUT codec (lutplug.codec.train.fit) over LUT files and tabulate the results.

Usage::

    python benchmarks/codec_sweep.py --out OUTDIR [--threads 1] [--seed 0] [--budget BYTES] LUT [LUT ...]

Writes OUTDIR/codec_sweep.json (one record per LUT, with the size-search attempts) and
OUTDIR/codec_sweep.md (table: bytes, params, ΔE2000 mean/p99/max, PSNR, seconds, baseline-A
bytes). Baseline A = resample the 3D table to the smallest k^3 meeting the targets, float16 +
zlib -9. Only the 3D table is used (a shaper, if any, is ignored); the model works in the
table's normalised lattice coordinates.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guard import refuse, require_files  # noqa: E402


def load_table(path: str) -> np.ndarray:
    """3D table of a LUT file in lutplug layout [b, g, r, c], float32."""
    try:
        from lutplug import read_lut

        lut = read_lut(path)
        table = getattr(lut, "table", None)
        if table is not None and np.asarray(table).ndim == 4:
            return np.asarray(table, np.float32)
    except Exception:
        pass
    if path.lower().endswith(".png"):  # GPUImage 8x8-tile lookup image (64^3)
        from PIL import Image

        img = np.asarray(Image.open(path).convert("RGB"))
        return (img.reshape(8, 64, 8, 64, 3).transpose(0, 2, 1, 3, 4).reshape(64, 64, 64, 3) / 255.0).astype(np.float32)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour

        lut = colour.read_LUT(path)
    if not hasattr(lut, "table"):
        lut = [x for x in lut if type(x).__name__ == "LUT3D"][0]
    return np.ascontiguousarray(np.asarray(lut.table).transpose(2, 1, 0, 3)).astype(np.float32)


def baseline_a(table: np.ndarray) -> dict:
    """Baseline A of a bare table (benchmarks/frontier.py's, without a shaper): the smallest
    k³ float16 + zlib resample meeting T1, as {"k", "bytes", "meets", ΔE figures}."""
    from frontier import baseline_a as frontier_baseline_a

    from lutplug.core.lut import LUT3D

    found = frontier_baseline_a(LUT3D(np.ascontiguousarray(table, np.float32)), max_size=table.shape[0])
    if found["best"] is not None:
        return dict(found["best"])
    largest = found["curve"][-1]
    return dict(largest, meets=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("luts", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)
    require_files([Path(p) for p in args.luts])

    import torch

    torch.set_num_threads(args.threads)
    from lutplug.codec import model as M
    from lutplug.codec import train as T

    os.makedirs(args.out, exist_ok=True)
    records = []
    for path in args.luts:
        name = os.path.basename(path)
        try:
            table = load_table(path)
        except Exception as exc:  # noqa: BLE001
            records.append({"file": name, "error": f"read: {exc}"})
            continue
        res = T.fit(table, seed=args.seed, budget_bytes=args.budget)
        rec = {"file": name, "grid": int(table.shape[0]), "stored_bytes": res.stored_bytes,
               "n_params": M.n_params(res.config), "config": res.config, "quality": res.quality,
               "meets_T1": T.meets(res.quality), "seconds": round(res.seconds, 2),
               "cpu_seconds": round(getattr(res, "cpu_seconds", float("nan")), 2), "attempts": res.attempts,
               "threads": args.threads}
        if not args.no_baseline:
            t0 = time.time()
            rec["baseline_a"] = baseline_a(table)
            rec["baseline_a"]["seconds"] = round(time.time() - t0, 2)
        records.append(rec)
        q = res.quality
        print(f"{name}: {res.stored_bytes} B, {rec['n_params']} params, dE mean {q['de_mean']:.3f} "
              f"p99 {q['de_p99']:.3f} max {q['de_max']:.3f} PSNR {q['psnr']:.2f} "
              f"{'PASS' if rec['meets_T1'] else 'FAIL'} {res.seconds:.1f}s wall {rec['cpu_seconds']:.1f}s cpu"
              + (f" | baseline A {rec['baseline_a']['bytes']} B (k={rec['baseline_a']['k']})" if 'baseline_a' in rec else ""),
              flush=True)
        with open(os.path.join(args.out, "codec_sweep.json"), "w") as fh:
            json.dump(records, fh, indent=1, default=float)

    if not any("error" not in r for r in records):
        refuse("no LUT could be read: " + "; ".join(f"{r['file']}: {r['error']}" for r in records))
    lines = ["| file | grid | bytes | params | hidden | ΔE mean | ΔE p99 | ΔE max | PSNR | T1 | wall s | CPU s | baseline A bytes (k) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['file']} | | | | | | | | | error: {r['error']} | | | |")
            continue
        q = r["quality"]
        ba = r.get("baseline_a")
        bas = f"{ba['bytes']} ({ba['k']}{'' if ba['meets'] else ', fails'})" if ba else ""
        lines.append(f"| {r['file']} | {r['grid']} | {r['stored_bytes']} | {r['n_params']} | {r['config']['hidden']} | "
                     f"{q['de_mean']:.3f} | {q['de_p99']:.3f} | {q['de_max']:.3f} | {q['psnr']:.2f} | "
                     f"{'pass' if r['meets_T1'] else 'FAIL'} | {r['seconds']:.1f} | {r.get('cpu_seconds', float('nan')):.1f} | {bas} |")
    ok = [r for r in records if "error" not in r]
    if ok:
        lines.append("")
        lines.append(f"median stored bytes: {int(np.median([r['stored_bytes'] for r in ok]))}; "
                     f"pass T1: {sum(r['meets_T1'] for r in ok)}/{len(ok)}; "
                     f"median wall seconds: {np.median([r['seconds'] for r in ok]):.1f}; "
                     f"median CPU seconds: {np.median([r.get('cpu_seconds', np.nan) for r in ok]):.1f}")
        if all("baseline_a" in r for r in ok):
            lines.append(f"median baseline-A bytes: {int(np.median([r['baseline_a']['bytes'] for r in ok]))}")
    with open(os.path.join(args.out, "codec_sweep.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "codec_sweep.json"), "w") as fh:
        json.dump(records, fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

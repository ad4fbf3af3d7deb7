"""Decode, bake and evaluation speed of .nlut files, side by side in one run.

    .venv/bin/python benchmarks/codec_speed.py [NLUT ...] [--dir benchmarks/results/nlut]
                                               [--out benchmarks/results] [--repeat 7] [--gpu]

For every .nlut (default: the ones benchmarks/frontier.py wrote): decode (bytes -> NeuralLUT),
bake to 65³ (``NeuralLUT.bake``: the lattice evaluator on every core; and on 1 thread) and with the plain
per-point numpy forward over the same nodes, and one 3840×2160 frame through the torch evaluator
(CPU; with ``--gpu`` and CUDA present also fp16 on the GPU, synchronised). Medians of
interleaved runs (a noisy machine hits all alike); the bakes of every file are timed before any
torch frame and apart from the per-point forward (BLAS and torch threads spin after use and would
take a core from a bake). The 1-minute load average is recorded.
Writes codec_speed.json and codec_speed.md; with no .nlut to measure it stops (exit 2) and writes
nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from guard import require, require_files  # noqa: E402
from speed import interleaved  # noqa: E402

from lutplug.codec.model import forward_numpy, forward_numpy_lattice  # noqa: E402
from lutplug.codec.nlut import from_bytes  # noqa: E402
from lutplug.core.lut import lattice  # noqa: E402


#: The bake time issue #19 asks of every network file (65³, 2 threads), ms.
BAKE_TARGET_MS = 50.0


def measure(path: Path, repeat: int) -> dict:
    """Decode and bake times of one file. The bakes are timed in their own interleaved group:
    the per-point forward runs BLAS on every core, whose threads then spin for a while and would
    take a core from a bake timed right after them."""
    data = path.read_bytes()
    n = from_bytes(data, path.name)
    nodes = lattice(65)
    row = {"file": path.name, "bytes": len(data), "hidden": n.config["hidden"]}
    fns = {
        "decode": lambda: from_bytes(data, path.name),
        "bake65_lattice": lambda: n.bake(65),  # what hosts run: threads = CPU count
        "bake65_lattice_1thread": lambda: forward_numpy_lattice(n.params, n.config, 65, workers=1),
    }
    row.update({k + "_ms": v * 1000 for k, v in interleaved(fns, repeat).items()})
    per_point = interleaved({"f": lambda: forward_numpy(n.params, n.config, nodes)}, max(3, repeat // 2))
    row["bake65_per_point_ms"] = per_point["f"] * 1000
    return row


def measure_torch(path: Path, repeat: int, gpu: bool) -> dict:
    """One 3840×2160 frame through the torch evaluator (CPU; fp16 on CUDA with ``gpu``), or {}
    without torch. Run after every file's bakes (torch's worker threads also spin after use)."""
    try:
        import torch

        from lutplug.codec.torch_eval import TorchEvaluator
    except ImportError:
        return {}
    ev = TorchEvaluator(from_bytes(path.read_bytes(), path.name))
    frame = torch.rand(3840 * 2160, 3, generator=torch.Generator().manual_seed(0))
    row = {}
    with torch.no_grad():
        row["torch_cpu_4k_ms"] = interleaved({"f": lambda: ev(frame)}, max(3, repeat // 2))["f"] * 1000
        if gpu and torch.cuda.is_available():
            f16 = frame.to("cuda", torch.float16)

            def run_gpu():
                ev(f16)
                torch.cuda.synchronize()

            row["torch_gpu_fp16_4k_ms"] = interleaved({"f": run_gpu}, 20)["f"] * 1000
            row["gpu"] = torch.cuda.get_device_name()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--dir", type=Path, default=REPO / "benchmarks" / "results" / "nlut")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--gpu", action="store_true")
    args = ap.parse_args()
    if args.files:
        files = require_files(args.files)
    else:
        files = require(sorted(args.dir.glob("*.nlut")), f".nlut files in {args.dir}",
                        "benchmarks/frontier.py writes them there; or name .nlut files, or --dir DIR")
    load0 = os.getloadavg()[0]
    rows = []
    for path in files:
        rows.append(measure(path, args.repeat))
        r = rows[-1]
        print(f"{path.name:50s} {r['bytes']:6d} B {str(r['hidden']):10s} decode {r['decode_ms']:.2f} ms  bake65 "
              f"{r['bake65_lattice_ms']:.1f} ms ({os.cpu_count()} threads; 1 thread "
              f"{r['bake65_lattice_1thread_ms']:.1f}, per-point {r['bake65_per_point_ms']:.1f})", flush=True)
    for path, r in zip(files, rows):
        r.update(measure_torch(path, args.repeat, args.gpu))
        print(f"{path.name:50s} 4K torch CPU {r.get('torch_cpu_4k_ms', float('nan')):.0f} ms", flush=True)
    keys = [k for k in rows[0] if k.endswith("_ms")] if rows else []
    summary = {k: statistics.median(r[k] for r in rows if k in r) for k in keys}
    over = [r["file"] for r in rows if r["bake65_lattice_ms"] > BAKE_TARGET_MS]
    doc = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_avg_1min": [load0, os.getloadavg()[0]],
           "files": len(rows), "median": summary, "bake65_over_target": over, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "codec_speed.json").write_text(json.dumps(doc, indent=2))
    lines = [f"# .nlut speed ({len(rows)} files, {os.cpu_count()} CPUs, load avg {load0:.1f} -> "
             f"{os.getloadavg()[0]:.1f})", "", "Medians over files (ms): " +
             ", ".join(f"{k[:-3]} {v:.1f}" for k, v in summary.items()), "",
             f"Bake 65³ over {BAKE_TARGET_MS:.0f} ms ({os.cpu_count()} threads): {len(over)} of {len(rows)} files"
             + (f" ({', '.join(over)})" if over else ""), "",
             f"| file | bytes | hidden | decode ms | bake 65³ ms ({os.cpu_count()} threads) | 1 thread | "
             "per-point forward | 4K frame torch CPU ms |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['file']} | {r['bytes']} | {r['hidden']} | {r['decode_ms']:.2f} | "
                     f"{r['bake65_lattice_ms']:.1f} | {r['bake65_lattice_1thread_ms']:.1f} | "
                     f"{r['bake65_per_point_ms']:.1f} | {r.get('torch_cpu_4k_ms', float('nan')):.0f} |")
    (args.out / "codec_speed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

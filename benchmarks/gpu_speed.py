"""The CUDA path, timed on a GPU machine: compress on the GPU, and a 3840×2160 frame through the
torch evaluator (fp16 and fp32) and through a CUDA-graph replay of it.

    .venv/bin/python benchmarks/gpu_speed.py [LUT ...] [--luts ../shared/luts] [--only freshluts_]
                                             [--out benchmarks/results] [--repeat 20]

For each LUT (default: a spread of the shared corpus, see :data:`DEFAULT`): ``compress(...,
device="cuda")`` wall time, the .nlut's bytes and whether it meets T1 (its own report), then the
4K frame (8.3 M pixels already on the GPU, synchronised before and after each run; medians of
interleaved runs): ``TorchEvaluator`` in fp16 and fp32, and the fp16 evaluator captured once in a
CUDA graph and replayed (no Python or allocator work per frame). Writes gpu_speed.json and
gpu_speed.md. Without CUDA it stops (exit 2) and writes nothing: the tests never need a GPU, and
these numbers only mean something measured on one.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from guard import SHARED_HINT, refuse, require, require_files, require_folder  # noqa: E402

#: A spread of the corpus: a small network, mid-size ones, a two-layer one, a residual lattice.
DEFAULT = ("freshluts_classic_film.cube", "freshluts_cool_cinema.cube", "freshluts_golden_years_film.cube",
           "ocio-test_lustre_33x33x33.3dl", "tonymcmapface_48.cube", "freshluts_retro_red_shadows.cube")
FRAME = (2160, 3840)


def frame_timings(nlut, torch, repeat: int) -> dict:
    """Milliseconds per 4K frame: the evaluator in fp16 and fp32, and a CUDA-graph replay (fp16)."""
    from lutplug.codec.torch_eval import TorchEvaluator

    ev = TorchEvaluator(nlut)
    gen = torch.Generator(device="cuda").manual_seed(0)
    frame32 = torch.rand(FRAME[0] * FRAME[1], 3, device="cuda", generator=gen)
    frame16 = frame32.half()
    out = {}
    with torch.no_grad():
        ev(frame16)
        ev(frame32)
        static_in = frame16.clone()
        graph = torch.cuda.CUDAGraph()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm up on a side stream, as capture requires
            for _ in range(3):
                ev(static_in)
        torch.cuda.current_stream().wait_stream(stream)
        with torch.cuda.graph(graph):
            static_out = ev(static_in)
        runs = {"fp16": lambda: ev(frame16), "fp32": lambda: ev(frame32), "graph_fp16": graph.replay}
        times = {k: [] for k in runs}
        for _ in range(repeat):
            for k, fn in runs.items():
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                fn()
                torch.cuda.synchronize()
                times[k].append(time.perf_counter() - t0)
        for k, v in times.items():
            out[f"frame_4k_{k}_ms"] = statistics.median(v) * 1000
        out["graph_max_abs_vs_eager"] = float((static_out.float() - ev(static_in).float()).abs().max())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--luts", type=Path, default=REPO.parent / "shared" / "luts")
    ap.add_argument("--only", default="")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        refuse("torch is not installed")
    if not torch.cuda.is_available():
        refuse("no CUDA device (this benchmark measures the GPU path; run it on a GPU machine)")
    if args.files:
        files = require_files(args.files)
    else:
        folder = require_folder(args.luts, hint=SHARED_HINT)
        files = [folder / name for name in DEFAULT if (folder / name).is_file()]
    files = require([p for p in files if args.only in p.name], "LUT files", SHARED_HINT)
    from lutplug.codec.compress import compress
    from lutplug.core.load import load_lut3d
    from lutplug.metrics import T1

    rows = []
    for path in files:
        lut = load_lut3d(path)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        result = compress(lut, target=T1, device="cuda", source=path)
        seconds = time.perf_counter() - t0
        row = {"file": path.name, "grid": lut.size, "compress_s": seconds, "bytes": len(result.nlut.to_bytes()),
               "model": result.nlut.config, "meets_t1": result.meets_target, **result.report.as_dict()}
        row.update(frame_timings(result.nlut, torch, args.repeat))
        rows.append(row)
        print(f"{path.name:45s} compress {seconds:6.1f} s  {row['bytes']:6d} B  4K fp16 "
              f"{row['frame_4k_fp16_ms']:.2f} ms  graph {row['frame_4k_graph_fp16_ms']:.2f} ms", flush=True)
    device = torch.cuda.get_device_name(0)
    summary = {"luts": len(rows), "device": device,
               "median_compress_s": statistics.median(r["compress_s"] for r in rows),
               "median_frame_4k_fp16_ms": statistics.median(r["frame_4k_fp16_ms"] for r in rows),
               "median_frame_4k_graph_fp16_ms": statistics.median(r["frame_4k_graph_fp16_ms"] for r in rows),
               "all_meet_t1": all(r["meets_t1"] for r in rows)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_speed.json").write_text(json.dumps(
        {"machine": platform.platform(), "torch": torch.__version__, "summary": summary, "rows": rows},
        indent=2, default=float))
    lines = [f"# GPU path ({device}, torch {torch.__version__})", "", f"{summary}", "",
             "| LUT | grid | model | bytes | T1 | compress s | 4K fp16 ms | 4K fp32 ms | 4K CUDA graph ms |",
             "|---|---:|---|---:|:-:|---:|---:|---:|---:|"]
    for r in rows:
        grid = r["model"].get("lattice", {}).get("grid")
        model = f"{r['model']['hidden']}" + (f" + {grid}³ lattice" if grid else "")
        lines.append(f"| {r['file']} | {r['grid']} | {model} | {r['bytes']} | {'yes' if r['meets_t1'] else 'no'} | "
                     f"{r['compress_s']:.1f} | {r['frame_4k_fp16_ms']:.2f} | {r['frame_4k_fp32_ms']:.2f} | "
                     f"{r['frame_4k_graph_fp16_ms']:.2f} |")
    (args.out / "gpu_speed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""lutplug vs G'MIC's keypoints at G'MIC's own error: for every LUT where ``compress_clut``
finished (benchmarks/results/gmic.json, written by gmic_baseline.py), compress with the target
set to G'MIC's measured ΔE00 mean, p99, max and PSNR (so the .nlut is at equal or better error on
all four) and compare the bytes — the codec goal "smaller than G'MIC at equal or better ΔE".

    .venv/bin/python benchmarks/gmic_matched.py [--out benchmarks/results] [--only PATTERN]

Quality is measured the T1 way (lattice + 200k seeded points, sRGB-encoded clipped outputs) on
the .nlut baked to the LUT's native grid — the protocol G'MIC's decompressed cube is scored by;
the network evaluated directly (what GPU hosts run) is reported beside it. Writes
gmic_matched.json and gmic_matched.md (nothing, exit 2, when gmic.json holds no finished LUT to
match or the LUTs are not found).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from lutplug import __version__
from lutplug.codec.compress import compress
from lutplug.core.formats import read_lut
from lutplug.core.load import as_lut3d
from lutplug.metrics import QualityTarget, quality_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guard import SHARED_HINT, refuse, require, require_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("de_mean", "de_p99", "de_max", "psnr")


def matched_row(path: Path, gmic: dict, workdir: Path, seed: int) -> dict:
    """Compress ``path`` to G'MIC's measured quality; the row of the comparison."""
    lut = as_lut3d(read_lut(path))
    got = gmic.get("quality") or gmic
    target = QualityTarget(**{k: float(got[k]) for k in FIGURES})
    t0 = time.perf_counter()
    result = compress(lut, target=target, seed=seed, device="cpu", source=path)
    seconds = time.perf_counter() - t0
    size = result.nlut.save(workdir / (path.stem + ".nlut"))
    baked = quality_report(lut, result.nlut.bake(lut.size))
    direct = result.report
    meets = baked.meets(target)
    return {"file": path.name, "grid": lut.size, "target": target.__dict__,
            "gmic_bytes": gmic["bytes"], "lutplug_bytes": size, "ratio": size / gmic["bytes"],
            "meets": meets, "smaller": meets and size < gmic["bytes"],
            "baked": baked.as_dict(), "direct": direct.as_dict(), "compress_s": seconds,
            "model": result.nlut.config}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--luts", type=Path, default=REPO.parent / "shared" / "luts")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--only", default="")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    gmic_path = args.out / "gmic.json"
    if not gmic_path.is_file():
        refuse(f"{gmic_path} not found (benchmarks/gmic_baseline.py writes it)")
    gmic = json.loads(gmic_path.read_text())
    names = require([n for n in sorted(gmic) if gmic[n].get("status") == "ok" and args.only in n],
                    f"finished G'MIC results in {gmic_path}" + (f" matching {args.only!r}" if args.only else ""))
    require_folder(args.luts, hint=SHARED_HINT)
    missing = [n for n in names if not (args.luts / n).is_file()]
    if missing:
        refuse(f"not in {args.luts}: {', '.join(missing)}")
    import torch

    torch.set_num_threads(args.threads)
    workdir = args.out / "nlut_matched"
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        g = gmic[name]
        row = matched_row(args.luts / name, g, workdir, args.seed)
        rows.append(row)
        b = row["baked"]
        print(f"{name:40s} G'MIC {row['gmic_bytes']:5d} B  lutplug {row['lutplug_bytes']:5d} B "
              f"({row['ratio']:.2f}x)  mean {b['de_mean']:.3f} p99 {b['de_p99']:.2f} max {b['de_max']:.2f} "
              f"PSNR {b['psnr']:.1f}  {'meets' if row['meets'] else 'MISSES'} G'MIC's error  "
              f"{row['compress_s']:.0f} s", flush=True)
        _write(args.out, rows)


def _write(out: Path, rows) -> None:
    summary = {"luts": len(rows), "smaller_at_equal_or_better_error": sum(r["smaller"] for r in rows),
               "lutplug_bytes_total": sum(r["lutplug_bytes"] for r in rows),
               "gmic_bytes_total": sum(r["gmic_bytes"] for r in rows)}
    (out / "gmic_matched.json").write_text(json.dumps(
        {"machine": platform.platform(), "lutplug": __version__, "summary": summary, "rows": rows},
        indent=2, default=float))
    lines = ["# lutplug at G'MIC's own error (target = G'MIC's measured ΔE00 mean / p99 / max and PSNR)", "",
             f"{summary}", "",
             "| LUT | G'MIC B | G'MIC mean / p99 / max, PSNR | lutplug B | ratio | lutplug mean / p99 / max, PSNR "
             "(baked) | direct max | network | meets | compress s |",
             "|---|---:|---|---:|---:|---|---:|---|:-:|---:|"]
    for r in rows:
        t, b = r["target"], r["baked"]
        lines.append(f"| {r['file']} | {r['gmic_bytes']} | {t['de_mean']:.3f} / {t['de_p99']:.2f} / "
                     f"{t['de_max']:.2f}, {t['psnr']:.1f} | {r['lutplug_bytes']} | {r['ratio']:.2f} | "
                     f"{b['de_mean']:.3f} / {b['de_p99']:.2f} / {b['de_max']:.2f}, {b['psnr']:.1f} | "
                     f"{r['direct']['de_max']:.2f} | {r['model']['hidden']} | {'yes' if r['meets'] else 'no'} | {r['compress_s']:.0f} |")
    (out / "gmic_matched.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

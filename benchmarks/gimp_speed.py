"""Speed of the GIMP filter, measured inside GIMP 3 (run as root; see tests/gimp/harness.py).

Usage::

    sudo .venv/bin/python benchmarks/gimp_speed.py [--out DIR] [--work DIR] [--repeat 3] [--size 4000x3000]
                                                   [--lut FILE.cube] [--mlp]

Installs the filter with ``lutplug gimp install`` into a scratch profile, builds 12-megapixel
images in GIMP and times PDB calls of ``plug-in-lutplug-apply`` from a batch script (wall time
of the call: plug-in start, LUT load, pixels out of GIMP, evaluation, pixels back, merge), after
GIMP's Python has compiled the plug-in's bytecode (a user's steady state). The plug-in's own
phase timings (LUTPLUG_GIMP_TIMING=1) are parsed from the log. For reference it also times, on
the host, the evaluator alone and lutplug's straightforward numpy tetrahedral interpolation.

Writes DIR/gimp_speed.json and DIR/gimp_speed.md. The machine's load average is recorded: on a
shared machine the numbers include waiting for the CPU.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_spec = importlib.util.spec_from_file_location("gimp_harness", REPO / "tests" / "gimp" / "harness.py")
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

SHARED_LOOK = REPO.parent / "shared" / "luts" / "freshluts_cool_cinema.cube"


def photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, photo-like RGBA float image (gradients, soft structure, grain)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 4), np.float32)
    img[..., 0] = 0.1 + 0.8 * x / w
    img[..., 1] = 0.15 + 0.7 * y / h
    img[..., 2] = 0.5 + 0.35 * np.sin(x / 290.0) * np.cos(y / 210.0)
    img[..., 3] = 1.0
    img[..., :3] += rng.normal(0, 0.015, (h, w, 3)).astype(np.float32)
    return img


def host_reference(lut_path: Path, img: np.ndarray, noise: np.ndarray) -> dict:
    """The evaluator alone on this machine (2 threads), and the naive numpy tetrahedral."""
    from lutplug import read_lut
    from lutplug.core.interpolate import tetrahedral
    from lutplug.hosts.gimp import engine

    lut = read_lut(lut_path)
    out = {}
    for name, px, threads in (("photo, 2 threads", img, 2), ("photo, 1 thread", img, 1),
                              ("noise, 2 threads", noise, 2)):
        with engine.Runner(engine.TetrahedralKernel(lut), threads) as runner:
            flat = px.reshape(-1, 4)
            t0, c0 = time.perf_counter(), time.process_time()
            for s in range(0, len(flat), 1 << 20):   # the plug-in's block size
                runner.run(flat[s:s + (1 << 20)])
            out[f"evaluator ({name})"] = {"wall_s": time.perf_counter() - t0,
                                          "cpu_s": time.process_time() - c0}
    part = img.reshape(-1, 4)[: len(img.reshape(-1, 4)) // 12, :3]
    t0, c0 = time.perf_counter(), time.process_time()
    tetrahedral(lut.table, part)
    out["naive numpy tetrahedral (lutplug.core), x12 from 1/12"] = {
        "wall_s": 12 * (time.perf_counter() - t0), "cpu_s": 12 * (time.process_time() - c0)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/gimp-speed"),
                    help="where gimp_speed.json/.md go (nothing else there is touched)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/gimp-speed-work"),
                    help="scratch folder (profile, images, GIMP log); emptied first")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--lut", type=Path, default=None, help="a .cube (default: a real 33^3 look)")
    ap.add_argument("--mlp", action="store_true", help="also time engine=mlp on the full image")
    ap.add_argument("--only", nargs="*", default=None, help="run only these cases")
    ap.add_argument("--nice", type=int, default=0,
                    help="run GIMP at this nice level (negative needs root): on a machine shared "
                         "with other jobs, approximates having the CPUs to oneself")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    out, work = args.out, args.work
    if work.exists():
        shutil.rmtree(work)
    out.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    data.mkdir(parents=True)

    try:
        harness.ensure_rootfs()
        harness.ensure_wheels()
    except harness.Unavailable as exc:
        print(f"cannot run GIMP here: {exc}", file=sys.stderr)
        return 2
    plugin = harness.install_plugin(work / "profile")

    from lutplug import LUT3D, write_lut
    from tests.helpers import random_table
    from tests.nlut_helpers import random_nlut

    lut = args.lut or (SHARED_LOOK if SHARED_LOOK.is_file() else None)
    if lut is None:
        lut = data / "look.cube"
        write_lut(LUT3D(np.clip(random_table(33, 1), 0, 1)), lut)
    else:
        shutil.copy(lut, data / lut.name)
        lut = data / lut.name
    random_nlut(3).save(data / "net.nlut")
    img = photo_like(h, w)
    noise = np.random.default_rng(1).uniform(0, 1, (h, w, 4)).astype(np.float32)
    noise[..., 3] = 1
    np.save(data / "photo.npy", img)
    np.save(data / "noise.npy", noise)
    np.save(data / "photo_u8.npy", np.round(np.clip(img, 0, 1) * 255) / 255)

    mp = w * h / 1e6
    cases = [
        ("cube_photo_float_nonlinear", lut.name, "photo.npy", "float-non-linear", "auto"),
        ("cube_photo_float_linear", lut.name, "photo.npy", "float-linear", "auto"),
        ("nlut_auto_photo_float", "net.nlut", "photo.npy", "float-non-linear", "auto"),
        ("cube_noise_float", lut.name, "noise.npy", "float-non-linear", "auto"),
        ("cube_photo_u8", lut.name, "photo_u8.npy", "u8-non-linear", "auto"),
    ]
    spec = [dict(name=n, lut=l, pixels=p, precision=pr, engine=e, repeat=args.repeat,
                 no_readback=True) for n, l, p, pr, e in cases]
    if args.only:
        spec = [c for c in spec if c["name"] in args.only]
    if args.mlp:
        spec.append(dict(name="nlut_mlp_photo_float", lut="net.nlut", pixels="photo.npy",
                         precision="float-non-linear", engine="mlp", repeat=1, no_readback=True))
    (data / "cases.json").write_text(json.dumps({"warm_bytecode": True, "cases": spec}))

    load_before = os.getloadavg()
    if args.nice:
        os.nice(args.nice)   # inherited by GIMP and its plug-ins
    t0 = time.perf_counter()
    proc = harness.run_batch(plugin, REPO / "tests" / "gimp" / "run_cases.py", data, work / "out",
                             env=["LUTPLUG_GIMP_TIMING=1"], timeout=1800)
    took = time.perf_counter() - t0
    load_after = os.getloadavg()
    log = proc.stdout + proc.stderr
    (work / "gimp.log").write_text(log)
    if proc.returncode != 0:
        print(log[-4000:], file=sys.stderr)
        return 1
    results = json.loads((work / "out" / "results.json").read_text())["cases"]
    phases = re.findall(r"\[lutplug-apply\]\s+([\d.]+) s\s+layer0: .*?read ([\d.]+) s, waited for "
                        r"compute ([\d.]+) s, write ([\d.]+) s, flush ([\d.]+) s, merge ([\d.]+) s", log)
    starts = [float(m) for m in re.findall(r"\[lutplug-apply\]\s+([\d.]+) s\s+run\(\) entered", log)]

    rows = []
    phase_iter = iter(phases)
    start_iter = iter(starts)
    for c in spec:
        r = results[c["name"]]
        if r["status"] != "success":
            print(f"{c['name']}: {r['status']} {r['message']}", file=sys.stderr)
            return 1
        secs = r["seconds"]
        ph = [next(phase_iter, None) for _ in secs]
        st = [next(start_iter, None) for _ in secs]
        rows.append({"case": c["name"], "engine": c["engine"], "precision": c["precision"],
                     "megapixels": mp, "seconds": secs, "median_s": statistics.median(secs),
                     "min_s": min(secs),
                     "phases_last": dict(zip(("read", "wait_compute", "write", "flush", "merge"),
                                             map(float, ph[-1][1:]))) if ph[-1] else None,
                     "startup_to_run_s": st[-1]})
    host = host_reference(lut, img, noise)
    report = {"gimp": results and json.loads((work / "out" / "results.json").read_text())["gimp"],
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_avg_before": load_before, "load_avg_after": load_after},
              "lut": lut.name, "size": [w, h], "repeat": args.repeat, "gimp_run_s": took,
              "nice": args.nice,
              "cases": rows, "host_reference": host}
    (out / "gimp_speed.json").write_text(json.dumps(report, indent=1))
    lines = [f"# GIMP filter speed ({w}x{h} = {mp:.0f} MP, GIMP {report['gimp']}, "
             f"{os.cpu_count()} CPUs, load avg {load_before[0]:.1f} -> {load_after[0]:.1f}"
             + (f", nice {args.nice}" if args.nice else "") + ")", "",
             "| case | engine | precision | median s | min s | start-up s | read | compute wait | write | flush |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p = r["phases_last"] or {}
        lines.append(f"| {r['case']} | {r['engine']} | {r['precision']} | {r['median_s']:.2f} | "
                     f"{r['min_s']:.2f} | {r['startup_to_run_s'] or 0:.2f} | {p.get('read', 0):.2f} | "
                     f"{p.get('wait_compute', 0):.2f} | {p.get('write', 0):.2f} | {p.get('flush', 0):.2f} |")
    lines += ["", "Host reference (no GIMP), same image:", ""]
    for k, v in host.items():
        lines.append(f"- {k}: {v['wall_s']:.2f} s wall, {v['cpu_s']:.2f} s CPU")
    (out / "gimp_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

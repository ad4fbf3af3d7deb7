"""The fuzz job: every target of :mod:`tests.fuzz.targets` under atheris for a set number of
inputs, then a report.

    nice -n 15 .venv/bin/python -m tests.fuzz.run                 # default budget (~5 min, 2 cores)
    .venv/bin/python -m tests.fuzz.run --inputs 20000 --targets nlut,cube

Each target runs in its own process (seeded with valid files, lutplug instrumented for coverage).
A crash (any exception but LutError), a hang (over 1 s of CPU for one input; libFuzzer's 5 s
wall-clock timeout catches endless loops) or an allocation over 16x the input + 64 MB stops that
process; the input is kept and fuzzing resumes with the inputs left. Distinct crashes (by
exception kind and innermost lutplug frame) are copied to ``tests/data/fuzz/<target>/`` as
regression files, which tests/test_hostile_fuzz.py replays in the normal suite.

Writes ``benchmarks/results/fuzz.json`` and ``fuzz.md``: inputs tried, distinct crashes, hangs,
memory-bound violations, peak RSS, largest traced allocation and slowest input per target.
Not part of the default test run. The job lowers its own priority (nice 15).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = ROOT / "tests" / "data" / "fuzz"
RESULTS = ROOT / "benchmarks" / "results"
#: Inputs per target by default: the whole job then takes about 5 minutes on 2 shared cores.
DEFAULT_INPUTS = 3000
#: Wall-clock cap per target (seconds), whatever the input count.
DEFAULT_SECONDS = 25
#: A target stops after this many crash restarts.
MAX_RESTARTS = 8
_SIG = re.compile(r"LUTPLUG-FUZZ-SIGNATURE: (.+)")
_PROGRESS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+)", re.M)
_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)


def _run_once(target: str, corpus: Path, artifacts: Path, runs: int, seconds: int, max_len: int,
              seed: int, stats_file: Path) -> dict:
    """One libFuzzer process; returns what it reported."""
    cmd = [sys.executable, "-m", "tests.fuzz.main", target, str(corpus), f"-runs={runs}",
           f"-max_total_time={max(1, seconds)}", "-timeout=5", "-rss_limit_mb=4096",
           f"-max_len={max_len}", f"-seed={seed}", "-print_final_stats=1",
           f"-artifact_prefix={artifacts}/", "-close_fd_mask=1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), LUTPLUG_FUZZ_STATS=str(stats_file),
               PYTHONWARNINGS="ignore")
    before = set(artifacts.iterdir())
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate()
    text = out.decode("utf-8", "replace")
    got = {"code": proc.returncode, "seconds": time.monotonic() - t0, "log_tail": text[-3000:]}
    stat = {k: int(v) for k, v in _STAT.findall(text)}
    progress = _PROGRESS.findall(text)
    got["executed"] = stat.get("number_of_executed_units") or (int(progress[-1][0]) if progress else 0)
    got["peak_rss_mb"] = stat.get("peak_rss_mb", 0)
    got["coverage"] = int(progress[-1][1]) if progress else 0
    got["features"] = int(progress[-1][2]) if progress else 0
    new = sorted(set(artifacts.iterdir()) - before)
    got["artifact"] = new[0] if new else None
    sig = _SIG.findall(text)
    if sig:
        got["signature"] = sig[-1].strip()
    elif new:
        got["signature"] = new[0].name.split("-")[0] + " (libFuzzer)"  # timeout / oom
    return got


def fuzz_target(name: str, inputs: int, seconds: int, work: Path, keep_in: Path,
                seed: int) -> dict:
    from tests.fuzz.targets import TARGETS, description_of

    target = TARGETS[name]
    corpus, artifacts = work / name / "corpus", work / name / "artifacts"
    corpus.mkdir(parents=True)
    artifacts.mkdir()
    seeds = target.seeds(work / name)
    for i, data in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(data)
    stats_file = work / name / "stats.json"
    report = {"reads": description_of(name), "seeds": len(seeds), "inputs": 0, "seconds": 0.0,
              "crashes": [], "hangs": 0, "memory_violations": 0, "peak_rss_mb": 0,
              "max_alloc_mb": 0.0, "max_alloc_share_of_bound": 0.0, "max_cpu_seconds": 0.0,
              "coverage": 0, "features": 0}
    seen: Dict[str, dict] = {}
    deadline = time.monotonic() + seconds
    restarts = 0
    while report["inputs"] < inputs and restarts <= MAX_RESTARTS:
        left = int(deadline - time.monotonic())
        if left < 2:
            break
        run = _run_once(name, corpus, artifacts, inputs - report["inputs"], left,
                        target.max_len, seed + restarts, stats_file)
        report["inputs"] += run["executed"]
        report["seconds"] += run["seconds"]
        report["peak_rss_mb"] = max(report["peak_rss_mb"], run["peak_rss_mb"])
        report["coverage"] = max(report["coverage"], run["coverage"])
        report["features"] = max(report["features"], run["features"])
        if stats_file.exists():
            s = json.loads(stats_file.read_text())
            report["max_alloc_mb"] = max(report["max_alloc_mb"], round(s["max_alloc_bytes"] / 1e6, 2))
            report["max_alloc_share_of_bound"] = max(report["max_alloc_share_of_bound"],
                                                     s["max_alloc_ratio_of_limit"])
            report["max_cpu_seconds"] = max(report["max_cpu_seconds"], s["max_cpu_seconds"])
        if run["code"] == 0:
            break
        restarts += 1
        if run["executed"] == 0 and run["artifact"] is None:
            report["error"] = run["log_tail"][-1500:]
            break
        sig = run.get("signature", "unknown")
        kind = sig.split()[0]
        if kind == "hang" or kind.startswith("timeout"):
            report["hangs"] += 1
        elif kind == "memory" or kind.startswith("oom"):
            report["memory_violations"] += 1
        entry = seen.setdefault(sig, {"signature": sig, "count": 0, "file": None})
        entry["count"] += 1
        if entry["file"] is None and run["artifact"] is not None:
            entry["file"] = _keep(name, run["artifact"], kind, keep_in)
            entry["log"] = run["log_tail"][-1500:]
        if entry["count"] >= 3:  # the same crash keeps coming back: stop this target
            break
    report["crashes"] = list(seen.values())
    report["distinct_crashes"] = len(seen)
    report["exec_per_second"] = round(report["inputs"] / report["seconds"], 1) if report["seconds"] else 0
    report["seconds"] = round(report["seconds"], 1)
    return report


def _keep(target: str, artifact: Path, kind: str, folder: Path) -> str:
    """Copy a crashing input into ``folder``/<target>/ (the regression folder by default)."""
    data = artifact.read_bytes()
    dest = folder / target / f"{kind}-{hashlib.sha1(data).hexdigest()[:12]}.bin"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return str(dest.relative_to(ROOT)) if dest.is_relative_to(ROOT) else str(dest)


def markdown(result: dict) -> str:
    lines = [f"# Fuzz job ({result['date']})", "",
             f"Command: `{result['command']}`; {result['inputs_per_target']} inputs per target "
             f"(cap {result['seconds_per_target']} s each), on {result['machine']}.", "",
             "Bounds checked on every input: only LutError (and its subclasses) may escape; "
             "at most 1 s of CPU; at most 16x the input's size + 64 MB allocated (tracemalloc; "
             "images 5000x, lutplug.fileio.MAX_IMAGE_EXPANSION). \"share of bound\": the "
             "largest allocation as a share of its input's bound.", "",
             "| target | reads | inputs | exec/s | coverage | distinct crashes | hangs | memory "
             "violations | peak RSS MB | largest alloc MB | share of bound | slowest input s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in result["targets"].items():
        lines.append(f"| {name} | {r['reads']} | {r['inputs']} | {r['exec_per_second']} | "
                     f"{r['coverage']} | {r['distinct_crashes']} | {r['hangs']} | "
                     f"{r['memory_violations']} | {r['peak_rss_mb']} | {r['max_alloc_mb']} | "
                     f"{r['max_alloc_share_of_bound']:.3f} | {r['max_cpu_seconds']} |")
    t = result["totals"]
    lines += ["", f"Totals: {t['inputs']} inputs, {t['distinct_crashes']} distinct crashes, "
              f"{t['hangs']} hangs, {t['memory_violations']} memory-bound violations, "
              f"{t['seconds']} s."]
    crashes = [(n, c) for n, r in result["targets"].items() for c in r["crashes"]]
    if crashes:
        lines += ["", "## Crashes", ""]
        lines += [f"- {n}: `{c['signature']}` ({c['count']}x), input `{c['file']}`" for n, c in crashes]
    errors = [(n, r["error"]) for n, r in result["targets"].items() if r.get("error")]
    for n, e in errors:
        lines += ["", f"## {n} did not run", "", "```", e.strip()[-800:], "```"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    from tests.fuzz.targets import TARGETS

    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=DEFAULT_INPUTS, help="inputs per target")
    ap.add_argument("--seconds", type=int, default=DEFAULT_SECONDS, help="wall-clock cap per target")
    ap.add_argument("--targets", default="", help=f"comma-separated subset of: {', '.join(TARGETS)}")
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for fuzz.json and fuzz.md")
    ap.add_argument("--no-regressions", action="store_true",
                    help="keep crashing inputs in OUT/fuzz-crashes, not in tests/data/fuzz")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.targets.split(",") if n.strip()] or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    os.nice(max(0, 15 - os.nice(0)))
    work = Path(tempfile.mkdtemp(prefix="lutplug-fuzz-"))
    result = {"command": "python -m tests.fuzz.run " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "inputs_per_target": args.inputs, "seconds_per_target": args.seconds, "targets": {}}
    try:
        for name in names:
            keep_in = args.out / "fuzz-crashes" if args.no_regressions else REGRESSIONS
            r = fuzz_target(name, args.inputs, args.seconds, work, keep_in, args.seed)
            result["targets"][name] = r
            print(f"{name:14s} {r['inputs']:7d} inputs {r['seconds']:6.1f} s  crashes "
                  f"{r['distinct_crashes']}  hangs {r['hangs']}  mem {r['memory_violations']}  "
                  f"rss {r['peak_rss_mb']} MB  alloc {r['max_alloc_mb']} MB"
                  + ("  DID NOT RUN" if r.get("error") else ""), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["totals"] = {k: sum(r[k] for r in result["targets"].values())
                        for k in ("inputs", "distinct_crashes", "hangs", "memory_violations")}
    result["totals"]["seconds"] = round(sum(r["seconds"] for r in result["targets"].values()), 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    (args.out / "fuzz.md").write_text(markdown(result))
    print(f"wrote {args.out / 'fuzz.json'} and {args.out / 'fuzz.md'}")
    return 1 if result["totals"]["distinct_crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks never replace results with nothing: a run with no inputs (a fresh clone without the
shared LUTs, a filter matching nothing, a folder another benchmark has not filled) stops with a
message, exit status 2, and leaves the result folder exactly as it was."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"

#: (script, arguments; EMPTY is an empty folder, OUT the result folder, MISSING a path that does not exist)
CASES = [
    ("codec_speed.py", ["--dir", "EMPTY", "--out", "OUT"]),
    ("codec_speed.py", ["MISSING/x.nlut", "--out", "OUT"]),
    ("speed.py", ["--luts", "EMPTY", "--out", "OUT"]),
    ("speed.py", ["--luts", "MISSING", "--out", "OUT"]),
    ("codec_sweep.py", ["--out", "OUT", "MISSING/x.cube"]),
    ("frontier.py", ["--luts", "EMPTY", "--out", "OUT"]),
    ("frontier.py", ["--luts", "MISSING", "--out", "OUT"]),
    ("frontier.py", ["--merge", "--out", "OUT"]),
    ("gmic_matched.py", ["--luts", "EMPTY", "--out", "OUT"]),
    ("gmic_baseline.py", ["MISSING/x.cube", "--out", "OUT/gmic.json"]),
    ("packs.py", ["--luts", "EMPTY", "--out", "OUT"]),
    ("packs.py", ["--luts", "MISSING", "--out", "OUT"]),
    ("packs.py", ["--libraries", "family", "--family-dir", "EMPTY", "--out", "OUT"]),
    ("packs.py", ["--libraries", "freshluts", "--luts", "EMPTY", "--out", "OUT"]),
    ("web_speed.py", ["EMPTY", "--out", "OUT"]),
    ("ocio_yaml_roundtrip.py", ["--only", "no such config", "--out", "OUT"]),
    ("gpu_speed.py", ["--luts", "EMPTY", "--out", "OUT"]),  # without CUDA (or LUTs) it refuses
    ("container_overhead.py", ["--dir", "EMPTY", "--out", "OUT"]),
    ("container_overhead.py", ["MISSING/x.nlut", "--out", "OUT"]),
]
#: What a result folder holds before the run (must hold the same after it).
RESULTS = ["codec_speed.json", "codec_speed.md", "speed.json", "speed.md", "frontier.json", "frontier.md",
           "gmic_matched.json", "gmic_matched.md", "packs.json", "packs.md", "codec_sweep.json",
           "gpu_speed.json", "gpu_speed.md", "container_overhead.json", "container_overhead.md",
           "packs_stage.json", "packs_stage.md", "web_speed.json", "web_speed.md"]


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_benchmark_script_is_covered():
    covered = {script for script, _ in CASES} | {"guard.py", "gimp_speed.py"}
    # gimp_speed.py runs inside GIMP (its own tests); other scripts must have a case here
    new = sorted(p.name for p in BENCH.glob("*.py") if p.name not in covered)
    assert not new, f"benchmarks without an empty-run case: {new}"


@pytest.mark.parametrize("script,args", CASES, ids=[f"{s}:{' '.join(a)}" for s, a in CASES])
def test_empty_run_refuses_and_writes_nothing(tmp_path, script, args):
    empty, out = tmp_path / "empty", tmp_path / "results"
    empty.mkdir()
    out.mkdir()
    for name in RESULTS:
        (out / name).write_text(f"committed {name}\n")
    before = _snapshot(out)
    subst = {"EMPTY": str(empty), "OUT": str(out), "MISSING": str(tmp_path / "missing")}
    argv = []
    for a in args:
        for key, value in subst.items():
            a = a.replace(key, value) if a.startswith(key) else a
        argv.append(a)
    r = subprocess.run([sys.executable, str(BENCH / script), *argv], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "nothing measured, no result file written" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "results"]

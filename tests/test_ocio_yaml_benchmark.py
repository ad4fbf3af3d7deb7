"""benchmarks/ocio_yaml_roundtrip.py (the measurement behind yamltext's docstring): a run with
nothing to measure writes nothing; with ruamel.yaml importable, the scanner leaves the commented
test config byte-identical apart from the entry and ruamel.yaml does not."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PyOpenColorIO")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ocio_yaml_roundtrip.py"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)


def test_nothing_to_measure_writes_nothing(tmp_path):
    out = tmp_path / "results"
    r = _run(tmp_path, "--only", "no such config", "--out", str(out))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "nothing measured, no result file written" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("ruamel") is None
                    or importlib.util.find_spec("ruamel.yaml") is None,
                    reason="ruamel.yaml is not installed (only this benchmark uses it)")
def test_commented_config_scanner_against_ruamel(tmp_path):
    out = tmp_path / "results"
    r = _run(tmp_path, "--only", "helpers COMMENTED", "--out", str(out))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rows = json.loads((out / "ocio_yaml_roundtrip.json").read_text())["rows"]
    assert [row["config"] for row in rows] == ["helpers COMMENTED", "helpers COMMENTED + FileTransform"]
    for row in rows:
        for kind in row["kinds"].values():
            assert kind["yamltext"]["outside"] == 0 and kind["yamltext"]["verified"]
            assert kind["ruamel"]["outside"] > 0 and not kind["ruamel"]["verified"]

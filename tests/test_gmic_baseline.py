"""Baseline B (benchmarks/gmic_baseline.py): G'MIC's compress_clut/decompress_clut round trip.

Skipped when the ``gmic`` command-line tool is absent. Runs on a tiny 8³ smooth grade (a few
seconds).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from lutplug import LUT3D, lattice, read_lut, write_lut
from lutplug.fileio import file_sha256
from lutplug.metrics import delta_e2000_rgb, quality_report

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "gmic_baseline.py"
_spec = importlib.util.spec_from_file_location("gmic_baseline", _PATH)
gb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gb)

pytestmark = pytest.mark.skipif(not gb.gmic_available(), reason="gmic not installed")

#: compress_clut's defaults (G'MIC 2.9.4): max ΔE2000 1.5 and mean ΔE2000 0.75 over the nodes,
#: for the float keypoints it checks. The shipped keypoints are rounded to 8 bits afterwards,
#: and our ΔE00 is not G'MIC's implementation, hence the small allowances below.
MAX_DE, AVG_DE = gb.GMIC_DEFAULTS["max_error"], gb.GMIC_DEFAULTS["avg_error"]


def _smooth_grade(n: int = 8) -> LUT3D:
    x = lattice(n, (0, 0, 0), (1, 1, 1)).reshape(n, n, n, 3).astype(np.float64)
    mix = np.array([[1.05, 0.03, -0.02], [0.02, 0.97, 0.01], [-0.03, 0.02, 0.92]])
    y = np.clip((x ** 0.85) @ mix.T + np.array([0.01, 0.0, -0.01]), 0, 1)
    return LUT3D(y.astype(np.float32), title="smooth grade")


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gmic")
    src = tmp / "smooth8.cube"
    write_lut(_smooth_grade(), src)
    res = gb.compress_with_gmic(src, tmp / "work", timeout_s=60)
    return src, res


def test_compress_decompress_ok(roundtrip):
    src, res = roundtrip
    assert res["status"] == "ok", res["error"]
    assert res["error"] == ""
    assert res["bytes"] > 0
    keys = Path(res["cube"]).parent / "keypoints.cimgz"
    assert res["bytes"] == keys.stat().st_size
    assert 8 <= res["keypoints"] <= gb.GMIC_DEFAULTS["max_nb_points"]
    assert res["method"] in ("rbf", "pde")
    assert res["compress_s"] > 0 and res["decompress_s"] > 0
    dec = read_lut(res["cube"])
    assert isinstance(dec, LUT3D) and dec.size == 8


def test_keypoints_file_reads_back(roundtrip):
    _, res = roundtrip
    work = Path(res["cube"]).parent
    kp = gb.keypoints_from_cimgz(work / "keypoints.cimgz")
    assert kp.shape == (res["keypoints"], 6)
    assert kp.min() >= 0 and kp.max() <= 255 and np.all(kp == np.round(kp))
    # the 8 corners of the RGB cube are always keypoints
    corners = {tuple(c) for c in lattice(2, (0, 0, 0), (255, 255, 255)).astype(int).tolist()}
    assert corners <= {tuple(p) for p in kp[:, :3].astype(int).tolist()}
    # the 8-bit file is the float keypoints rounded and clipped
    kf = gb.keypoints_from_cimgz(work / "keypoints_float.cimgz")
    np.testing.assert_array_equal(np.clip(np.round(kf), 0, 255), kp)


def test_error_bounds(roundtrip):
    src, res = roundtrip
    orig = read_lut(src)
    # On the nodes, float keypoints: what compress_clut guarantees (small metric allowance).
    de_f = delta_e2000_rgb(orig.table, read_lut(res["cube_float"]).table)
    assert de_f.max() <= MAX_DE + 0.1 and de_f.mean() <= AVG_DE + 0.05
    # The shipped 8-bit keypoints: rounding costs a little.
    de = delta_e2000_rgb(orig.table, read_lut(res["cube"]).table)
    assert de.max() <= MAX_DE + 0.6 and de.mean() <= AVG_DE + 0.15
    # Everywhere (lattice + random points), as the benchmark scores it.
    rep = quality_report(orig, read_lut(res["cube"]), n_random=20_000)
    assert rep.de_mean <= 1.0 and rep.de_p99 <= 2.5 and rep.psnr >= 35


def test_timeout_kills_and_reports(tmp_path):
    src = tmp_path / "g.cube"
    write_lut(_smooth_grade(16), src)
    res = gb.compress_with_gmic(src, tmp_path / "w", timeout_s=0.05)
    assert res["status"] == "timeout" and "timed out" in res["error"]
    assert res["bytes"] is None


def test_cli_writes_json_and_caches(tmp_path, capsys):
    src = tmp_path / "smooth8.cube"
    write_lut(_smooth_grade(), src)
    out = tmp_path / "gmic.json"
    args = [str(src), "--out", str(out), "--timeout", "60", "--workdir", str(tmp_path / "w")]
    assert gb.main(args) == 0
    data = json.loads(out.read_text())
    e = data["smooth8.cube"]
    assert e["status"] == "ok" and e["sha256"] == file_sha256(src)
    assert e["bytes"] > 0 and e["quality"]["de_mean"] < 1.0 and e["quality"]["points"] > 0
    capsys.readouterr()
    assert gb.main(args) == 0  # second run: cached
    assert "(cached)" in capsys.readouterr().out

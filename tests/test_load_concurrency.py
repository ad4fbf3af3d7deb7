"""Load: many writers at once on one folder lose nothing and leave no temporary file.

- 8 concurrent ``lutplug apply`` processes on one output folder (two of them on the same name);
- ``lutplug compress DIR -o OUT --jobs 2`` over 200 LUTs. Training is stubbed (a fixed network
  per LUT, injected into every worker through ``sitecustomize``): real training takes ~1 CPU-s
  per LUT even with the smallest recipe. ``LUTPLUG_LOAD_REAL=1`` runs the same test with real
  (minimal-recipe) training instead;
- two ``lutplug ocio add`` processes editing one config at the same time: each look lands, or
  the process that lost the race says so and changes nothing.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyOpenColorIO")
pytest.importorskip("OpenImageIO")
from lutplug import LUT3D
from lutplug.codec.nlut import load_nlut
from lutplug.core.formats import read_lut, write_lut
from lutplug.imageio import read_image, write_image

ROOT = Path(__file__).resolve().parents[1]
LUTPLUG = [sys.executable, "-m", "lutplug.cli"]


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def _temp_files(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


def _grade(i: int, n: int = 5) -> LUT3D:
    g = np.linspace(0, 1, n)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rgb = np.stack([r, gg, b], -1)
    return LUT3D((rgb ** (0.8 + 0.002 * i)).astype(np.float32), title=f"grade {i}")


def test_eight_concurrent_apply_processes_on_one_folder(tmp_path):
    img = tmp_path / "plate.exr"
    px = np.random.default_rng(0).random((48, 64, 3)).astype(np.float32)
    write_image(img, px, pixel_type="half")
    luts = []
    for i in range(4):
        luts.append(tmp_path / f"g{i}.cube")
        write_lut(_grade(i * 40), luts[-1])
    out = tmp_path / "renders"
    out.mkdir()
    jobs = [(luts[i % 4], out / f"shot{i}.exr") for i in range(6)]
    jobs += [(luts[0], out / "same.exr"), (luts[0], out / "same.exr")]  # two on one name
    procs = [subprocess.Popen(LUTPLUG + ["apply", str(img), "-o", str(dst), "--lut", str(lut)],
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for lut, dst in jobs]
    outputs = [p.communicate(timeout=240)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    from lutplug.evaluate.ocio_cpu import apply_image

    for lut, dst in jobs:
        got, info = read_image(dst)
        assert info.pixel_type == "half" and got.shape == px.shape
        want = apply_image(read_lut(lut), read_image(img)[0])
        np.testing.assert_allclose(got, want, atol=2e-3)  # half-float output
    assert sorted(p.name for p in out.iterdir()) == sorted({d.name for _, d in jobs})
    assert _temp_files(out) == []


_STUB = '''
"""Test stub (tests/test_load_concurrency.py): training replaced by a fixed network per LUT."""
import os
if os.environ.get("LUTPLUG_TEST_STUB_TRAINING") == "1":
    import lutplug.codec.compress as _c

    def _fake(lut, *, source=None, seed=0, **kw):
        import zlib
        from pathlib import Path
        from types import SimpleNamespace
        from tests.nlut_helpers import random_nlut
        n = random_nlut(zlib.crc32(lut.table.tobytes()) % 1000, hidden=(6,), fourier=0)
        n.description = {"title": lut.title, "provenance": {"grid": lut.size, "source": Path(str(source)).name,
                         "settings": {"device": "cpu", "seed": seed}}, "quality": {"meets_target": True}}
        return _c.CompressResult(n, SimpleNamespace(summary=lambda: "stub"), 0.0, [])
    _c.compress = _fake
'''


@pytest.mark.parametrize("count", [200])
def test_batch_compression_of_200_luts_with_two_jobs(tmp_path, count):
    pytest.importorskip("lutplug.batch", reason="batch compression (lutplug.batch) is not in this tree yet")
    real = os.environ.get("LUTPLUG_LOAD_REAL") == "1"
    src = tmp_path / "luts"
    src.mkdir()
    for i in range(count):
        write_lut(_grade(i, 3), src / f"look_{i:03d}.cube")
    stub_dir = tmp_path / "stub"
    stub_dir.mkdir()
    (stub_dir / "sitecustomize.py").write_text(textwrap.dedent(_STUB))
    out = tmp_path / "nlut"
    env = _env(LUTPLUG_TEST_STUB_TRAINING="0" if real else "1")
    env["PYTHONPATH"] = os.pathsep.join([str(stub_dir), env["PYTHONPATH"]])
    recipe = '{"adam_steps": 2, "qat_steps": 1, "batch": 128, "n_random_train": 256}'
    proc = subprocess.run(LUTPLUG + ["compress", str(src), "-o", str(out), "--jobs", "2",
                                     "--budget-kb", "0.3", "--recipe", recipe],
                          env=env, capture_output=True, text=True, timeout=3600 if real else 300)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]  # 1: targets missed
    assert "failed 0" in proc.stdout, proc.stdout[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"look_{i:03d}.nlut" for i in range(count))
    for i in range(count):
        n = load_nlut(out / f"look_{i:03d}.nlut")
        assert n.description["provenance"]["source"] == f"look_{i:03d}.cube"
        assert np.all(np.isfinite(n.apply(np.full((2, 3), 0.5, np.float32))))
    assert _temp_files(out) == []
    # a second run finds every output up to date
    again = subprocess.run(LUTPLUG + ["compress", str(src), "-o", str(out), "--jobs", "2",
                                      "--budget-kb", "0.3", "--recipe", recipe],
                           env=env, capture_output=True, text=True, timeout=300)
    assert f"up to date {count}" in again.stdout, again.stdout[-2000:]


def test_two_concurrent_ocio_adds_lose_no_edit(tmp_path):
    import PyOpenColorIO as ocio

    from tests.fuzz.targets import _CONFIG
    from tests.nlut_helpers import random_nlut

    show = tmp_path / "show"
    show.mkdir()
    config = show / "config.ocio"
    config.write_text(_CONFIG)
    grades = []
    for i in range(2):
        grades.append(tmp_path / f"g{i}.nlut")
        random_nlut(30 + i).save(grades[-1])
    procs = [subprocess.Popen(LUTPLUG + ["ocio", "add", str(config), str(g), "--look", f"look{i}",
                                         "--size", "9"], env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for i, g in enumerate(grades)]
    outs = [p.communicate(timeout=240)[0].decode() for p in procs]
    codes = [p.returncode for p in procs]
    assert all(c in (0, 2) for c in codes) and 0 in codes, outs
    ocio.ClearAllCaches()
    looks = set(ocio.Config.CreateFromFile(str(config)).getLookNames())
    for i, (code, text) in enumerate(zip(codes, outs)):
        if code == 0:
            assert f"look{i}" in looks, (i, text)
        else:  # lost the race: said so, and its look is not half there
            assert "changed on disk" in text and f"look{i}" not in looks, text
    assert _temp_files(show) == [] and _temp_files(show / "luts") == []

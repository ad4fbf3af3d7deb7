"""Folder compression: a local process pool, a real Dask cluster on loopback, skip-if-up-to-date."""
import hashlib
import os

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
from lutplug.cli import main  # noqa: E402
from lutplug.codec.nlut import load_nlut  # noqa: E402
from lutplug.core.formats import read_lut, write_lut  # noqa: E402
from lutplug.metrics import QUALITY_TARGETS, quality_report  # noqa: E402
from tests.grades import smooth_grade  # noqa: E402

#: A tiny training run (seconds per LUT); "draft" quality so these smooth grades meet it.
TINY = '{"adam_steps": 80, "qat_steps": 10, "batch": 1024, "n_random_train": 3000, "max_lattice_train": 1000}'


def _folder(tmp_path, count: int):
    src = tmp_path / "looks"
    src.mkdir()
    for k in range(count):
        write_lut(smooth_grade(k), src / f"look{k}.cube")
    (src / "README.txt").write_text("not a LUT")
    return src


def _run(*args):
    # a small size budget keeps the size search to one or two tiny attempts per LUT
    return CliRunner().invoke(main, ["compress", *map(str, args), "--quality", "draft", "--recipe", TINY,
                                     "--budget-kb", "0.3"])


def test_local_pool_compresses_a_folder_and_skips_up_to_date_outputs(tmp_path):
    src, out = _folder(tmp_path, 3), tmp_path / "out"
    r = _run(src, "-o", out, "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["look0.nlut", "look1.nlut", "look2.nlut"]
    assert f"pid {os.getpid()}" not in r.output  # the work ran in pool processes
    for k in range(3):
        nlut = load_nlut(out / f"look{k}.nlut")
        source = src / f"look{k}.cube"
        assert nlut.description["provenance"]["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        assert quality_report(read_lut(source), nlut, n_random=20_000).meets(QUALITY_TARGETS["draft"])
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    r = _run(src, "-o", out, "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert r.output.count("up to date, skipped") == 3 and "done 0, up to date 3" in r.output
    assert stamps == {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    write_lut(smooth_grade(7), src / "look1.cube")  # changed content: only this one is redone
    r = _run(src, "-o", out, "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert "done 1, up to date 2" in r.output
    assert (out / "look1.nlut").stat().st_mtime_ns != stamps["look1.nlut"]
    # other settings are other work
    r = _run(src, "-o", out, "--jobs", "2", "--seed", "5")
    assert r.exit_code == 0 and "done 3, up to date 0" in r.output, r.output


def test_folder_errors_are_clear(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _run(empty, "-o", tmp_path / "o")
    assert r.exit_code == 2 and "holds no LUT files" in r.output
    clash = _folder(tmp_path, 1)
    write_lut(smooth_grade(1), clash / "look0.spi3d")
    r = _run(clash, "-o", tmp_path / "o")
    assert r.exit_code == 2 and "would both be written to look0.nlut" in r.output


def test_dask_cluster_on_loopback_runs_the_jobs(tmp_path):
    distributed = pytest.importorskip("distributed")
    src, out = _folder(tmp_path, 2), tmp_path / "out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        r = _run(src, "-o", out, "--cluster", address)
        assert r.exit_code == 0, r.output
        worker = next(iter(cluster.workers.values())).worker_address
        assert r.output.count(f"({worker})") == 2  # both LUTs ran on the cluster's worker
        r = _run(src, "-o", out, "--cluster", address)
        assert r.exit_code == 0 and "done 0, up to date 2" in r.output, r.output
    for k in range(2):
        nlut = load_nlut(out / f"look{k}.nlut")
        assert quality_report(read_lut(src / f"look{k}.cube"), nlut, n_random=20_000).meets(QUALITY_TARGETS["draft"])


def test_unreachable_cluster_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from lutplug import batch

    monkeypatch.setattr(batch, "CLUSTER_TIMEOUT", "2s")
    r = _run(_folder(tmp_path, 1), "-o", tmp_path / "o", "--cluster", "tcp://127.0.0.1:9")
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.output, r.output

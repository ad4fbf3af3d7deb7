"""Pack training (tiny recipes): batched build, add without retraining the base, the CLI, and a
build killed mid-run (SIGKILL) that resumes from its checkpoint to the same result."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
from lutplug.cli import main  # noqa: E402
from lutplug.codec import pack as P  # noqa: E402
from lutplug.codec import pack_train as PT  # noqa: E402
from lutplug.codec import tensorfile  # noqa: E402
from lutplug.codec.nlut import load_nlut  # noqa: E402
from lutplug.core.formats import read_lut, write_lut  # noqa: E402
from lutplug.metrics import QUALITY_TARGETS, quality_report  # noqa: E402
from tests.grades import smooth_grade  # noqa: E402

DRAFT = QUALITY_TARGETS["draft"]
TINY = {"adam_steps": 60, "qat_steps": 10, "batch": 512, "n_train": 3000, "max_lattice_train": 125,
        "check_every": 25}


def _files(folder, ks):
    folder.mkdir(exist_ok=True)
    paths = []
    for k in ks:
        write_lut(smooth_grade(k), folder / f"look{k}.cube")
        paths.append(folder / f"look{k}.cube")
    return paths


def _check_quality(p, name, source):
    """Independent re-measurement of an extracted look against its source file."""
    nlut = p.extract(name)
    report = quality_report(read_lut(source), nlut, n_random=200_000, seed=0)
    assert report.meets(DRAFT), report.summary()
    assert p.look(name).quality["de_mean"] == pytest.approx(report.de_mean, rel=1e-3)


def test_build_then_add_keeps_base_and_existing_looks(tmp_path):
    files = _files(tmp_path / "src", [0, 1, 2])
    events = []
    p = PT.build_pack([PT.look_input(f) for f in files], hidden=(12,), target=DRAFT,  # default: head
                      recipe=TINY, progress=events.append, fallback=False)
    assert p.spec["kind"] == "head"
    assert p.names() == ["look0", "look1", "look2"]
    steps = [e["step"] for e in events if e["stage"] == "train" and "de_mean" in e]
    assert steps[-1] == 70 and all(len(e["de_mean"]) == 3 for e in events if e["stage"] == "train" and "de_mean" in e)
    for f in files:
        _check_quality(p, f.stem, f)
    out = tmp_path / "looks.nlutpack"
    p.save(out)
    before = P.load_pack(out)
    new = _files(tmp_path / "src", [3])[0]
    grown = PT.add_looks(before, [PT.look_input(new, "fourth")], target=DRAFT, recipe=TINY, fallback=False)
    assert grown.names() == ["look0", "look1", "look2", "fourth"]
    for k, v in before.base.items():
        np.testing.assert_array_equal(grown.base[k], v)
    for name in before.names():  # the same network (only the pack hash in its provenance differs)
        old, new_ = before.extract(name), grown.extract(name)
        assert old.params.keys() == new_.params.keys() and old.description["quality"] == new_.description["quality"]
        for k, v in old.params.items():
            np.testing.assert_array_equal(new_.params[k], v)
    _check_quality(grown, "fourth", new)
    with pytest.raises(Exception, match="already in the pack"):
        PT.add_looks(grown, [PT.look_input(new, "fourth")], recipe=TINY)


def test_look_missing_the_target_gets_its_own_network(tmp_path):
    f = _files(tmp_path, [0, 2])
    strict = QUALITY_TARGETS["invisible"]
    few = dict(TINY, adam_steps=3, qat_steps=2)  # far too short: the adapters miss T1
    p = PT.build_pack([PT.look_input(x) for x in f], hidden=(8, 6), kind="lora", dim=1, target=strict,
                      recipe=few, fallback=True)
    assert {lk.kind for lk in p.looks} == {"solo"}
    back = P.read_pack(p.to_bytes())
    for x in f:
        nlut = back.extract(x.stem)
        assert nlut.config["hidden"] != [8, 6] or back.look(x.stem).model is not None
        report = quality_report(read_lut(x), nlut, n_random=200_000, seed=0)
        assert back.look(x.stem).quality["de_mean"] == pytest.approx(report.de_mean, rel=1e-3)


def _cli(*args):
    return [sys.executable, "-m", "lutplug.cli", *map(str, args)]


def test_cli_build_killed_mid_run_resumes_to_the_same_pack(tmp_path):
    files = _files(tmp_path / "src", [0, 1])
    recipe = dict(TINY, adam_steps=100, qat_steps=10)
    import json

    out = tmp_path / "looks.nlutpack"
    ckpt = tmp_path / "looks.nlutpack.ckpt" / "state.safetensors"
    args = _cli("pack", "build", *files, "-o", out, "--quality", "draft", "--hidden", "12,8",
                "--adapter", "cond", "--dim", "4", "--recipe", json.dumps(recipe))
    env = dict(os.environ, PYTHONPATH=str(os.getcwd()))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    while not ckpt.is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert not out.exists()
    _, meta = tensorfile.loads(ckpt.read_bytes())
    killed_at = json.loads(meta["state"])["step"]
    assert 0 < killed_at < 110

    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resumed at step {killed_at} of 110" in done.stderr
    assert not ckpt.parent.exists()  # removed after success
    resumed = P.load_pack(out)
    # the same build without interruption gives the same tensors: resuming is exact
    straight = PT.build_pack([PT.look_input(f) for f in files], hidden=(12, 8), kind="cond", dim=4,
                             target=DRAFT, recipe=recipe)
    for k, v in straight.base.items():
        np.testing.assert_array_equal(resumed.base[k], v)
    for a, b in zip(straight.looks, resumed.looks):
        for k, v in a.params.items():
            np.testing.assert_array_equal(b.params[k], v)


def test_cli_pack_list_extract_add(tmp_path):
    import json

    files = _files(tmp_path / "src", [0, 1])
    out = tmp_path / "looks.nlutpack"
    runner = CliRunner()
    rec = json.dumps(TINY)
    r = runner.invoke(main, ["pack", "build", str(files[0].parent), "-o", str(out), "--quality", "draft",
                             "--adapter", "head", "--hidden", "12", "--recipe", rec])
    assert r.exit_code == 0, r.output
    assert "2 looks" in r.output
    new = _files(tmp_path / "src2", [2])[0]
    from lutplug.codec.signing import generate_keypair

    generate_keypair(tmp_path / "key", tmp_path / "key.pub")
    r = runner.invoke(main, ["pack", "add", str(out), str(new), "--name", "warm", "--quality", "draft",
                             "--recipe", rec, "--key", str(tmp_path / "key")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["pack", "list", str(out), "--json", "--pubkey", str(tmp_path / "key.pub")])
    assert r.exit_code == 0, r.output
    listing = json.loads(r.output)
    assert listing["signature"].startswith("valid")
    assert [lk["name"] for lk in listing["looks"]] == ["look0", "look1", "warm"]
    assert listing["adapter"]["kind"] == "head" and listing["adapter"]["model"]["hidden"] == [12]
    target = tmp_path / "warm.nlut"
    r = runner.invoke(main, ["pack", "extract", str(out), "warm", "-o", str(target)])
    assert r.exit_code == 0, r.output
    nlut = load_nlut(target)
    assert quality_report(read_lut(new), nlut, n_random=50_000).meets(DRAFT)
    assert nlut.description["provenance"]["source"] == "look2.cube"
    r = runner.invoke(main, ["pack", "extract", str(out), "nope"])
    assert r.exit_code == 2 and "no look named 'nope'" in r.output

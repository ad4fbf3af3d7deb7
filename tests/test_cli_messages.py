"""What the CLI says when things go wrong, the same way everywhere: a file meant as a .nlut that is
not one, a signed file with a changed payload byte (the signature is judged before anything of the
payload is parsed), an output pipe closed early (``lutplug … | head``), and the progress of
``compress`` (a total and an ETA per size-search round; a folder bar that prints its end once)."""
from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from lutplug.cli import main
from tests.nlut_helpers import random_nlut

REPO = Path(__file__).resolve().parents[1]
NOT_NLUT = "not a .nlut file (bad magic bytes)"
CUBE_TEXT = "TITLE \"a text LUT\"\nLUT_3D_SIZE 2\n" + "".join(
    f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1))


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def nlut_file(tmp_path):
    path = tmp_path / "g.nlut"
    random_nlut(11, act="relu", fourier=0, center=True).save(path)
    return path


def _commands(bad: Path, tmp: Path, image: Path):
    """Every command that reads a .nlut, given ``bad`` where it wants one: (name, args, exit code)."""
    return [
        ("info", ["info", bad], 2),
        ("info --json", ["info", bad, "--json"], 2),
        ("eval (reference)", ["eval", bad, bad], 2),
        ("bake", ["bake", bad, "-o", tmp / "o.cube"], 2),
        ("apply", ["apply", image, "-o", tmp / "o.png", "--lut", bad], 2),
        ("export", ["export", bad, "--glsl", tmp / "o.glsl"], 2),
        ("verify", ["verify", bad], 3),
        ("nuke gizmo", ["nuke", "gizmo", bad, "-o", tmp / "G.gizmo"], 2),
        ("nuke script", ["nuke", "script", bad, "-o", tmp / "g.nk"], 2),
        ("ocio add", ["ocio", "add", "ocio://studio-config-latest", bad, "--look", "L", "-o", tmp / "c.ocio"], 2),
        ("ocio pack", ["ocio", "pack", bad, "-o", tmp / "p.ocioz"], 2),
        ("ocio shader", ["ocio", "shader", bad, "--language", "glsl_4.0", "-o", tmp / "s.glsl"], 2),
    ]


def test_a_text_file_named_nlut_gets_one_message_from_every_command(tmp_path):
    pytest.importorskip("PyOpenColorIO")
    bad = tmp_path / "x.nlut"
    bad.write_text(CUBE_TEXT)  # a valid .cube, but named .nlut: meant as a .nlut, so judged as one
    image = REPO / "lutplug" / "data" / "astronaut.png"
    wrong = []
    for name, args, expected in _commands(bad, tmp_path, image):
        code, out = run(*args)
        if code != expected or NOT_NLUT not in out or "OpenColorIO" in out or "formats have been tried" in out:
            wrong.append(f"{name}: exit {code} (expected {expected}): {out.strip()[-300:]}")
    assert not wrong, "\n".join(wrong)
    assert not list(tmp_path.glob("o.*")) and not (tmp_path / "c.ocio").exists()


def test_a_truncated_nlut_gets_one_message_from_every_command(tmp_path):
    pytest.importorskip("PyOpenColorIO")
    bad = tmp_path / "short.nlut"
    bad.write_text("hello\n")
    image = REPO / "lutplug" / "data" / "astronaut.png"
    messages = set()
    for name, args, expected in _commands(bad, tmp_path, image):
        code, out = run(*args)
        assert code == expected, f"{name}: exit {code}: {out}"
        messages.add(out.strip().splitlines()[-1].split("short.nlut: ", 1)[-1])
    assert len(messages) == 1, messages


def test_verify_judges_the_signature_before_parsing_the_payload(nlut_file, tmp_path):
    key = tmp_path / "me.key"
    assert run("keygen", "-o", key)[0] == 0
    assert run("sign", nlut_file, "--key", key)[0] == 0
    data = nlut_file.read_bytes()
    assert data[4] == 3 and data[5] & 0x01  # version 3, signed (docs/nlut-format.md)
    end = len(data) - 96  # the signed part: key and signature follow
    for offset in (6, end // 2, end - 5, end - 1):  # field map, record, tensors, CRC-32
        bad = bytearray(data)
        bad[offset] ^= 0x01
        changed = tmp_path / f"changed_{offset}.nlut"
        changed.write_bytes(bytes(bad))
        for extra in ([], ["--pubkey", f"{key}.pub"]):
            code, out = run("verify", changed, *extra)
            assert code == 3, out
            assert out.startswith("INVALID") and "signature" in out and "does not match" in out, out
            assert "corrupt" not in out and "Error -3" not in out and "decompress" not in out, out


@pytest.mark.parametrize("args", [["info", "{nlut}"], ["info", "{nlut}", "--json"], ["info", "--help"]])
def test_a_closed_output_pipe_ends_quietly(nlut_file, args):
    """``lutplug info FILE | head -1``: the reader is gone before lutplug writes."""
    exe = REPO / ".venv" / "bin" / "lutplug"
    cmd = [str(exe) if exe.exists() else "lutplug"] + [a.format(nlut=nlut_file) for a in args]
    r, w = os.pipe()
    os.close(r)  # the pipe's reader has exited: every write fails with EPIPE
    try:
        proc = subprocess.run(cmd, stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(w)
    assert proc.stderr == "", proc.stderr
    assert proc.returncode in (0, 141), proc.returncode


def test_info_piped_into_head_prints_one_line_and_no_error(nlut_file):
    exe = REPO / ".venv" / "bin" / "lutplug"
    proc = subprocess.run(["bash", "-c", f"'{exe}' info '{nlut_file}' | head -1"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.strip() == str(nlut_file)


# ------------------------------------------------------------------------------------ progress

def _attempt(index, hidden, **extra):
    base = {"stage": "attempt", "index": index, "hidden": hidden, "variant": 0, "stored_bytes": 300,
            "meets": True, "de_mean": 0.4, "de_p99": 1.0, "de_max": 2.0, "psnr": 46.0}
    return {**base, **extra}


def test_compress_progress_has_a_total_and_an_eta_per_round(capsys):
    from lutplug.cli.codec import SearchProgress

    out = io.StringIO()
    with SearchProgress("g.cube", file=out, disable=False, tick=0) as p:
        p({"stage": "round", "sizes": [[64], [48]], "variants": [0, 0], "steps": [1000, 1000]})
        assert p.bar.total == 2000 and p.rounds == 1
        for _ in range(2):
            p({"stage": "train", "hidden": [64], "variant": 0, "advance": 250, "de_mean": 0.5})
            p({"stage": "train", "hidden": [48], "variant": 0, "advance": 250, "de_mean": 0.7})
        assert p.bar.n == 1000
        p(_attempt(8, [64], aborted=True))  # abandoned at 40%: the rest of its steps count as done
        assert p.bar.n == 1000 + 500
        p({"stage": "train", "hidden": [48], "variant": 0, "advance": 250, "de_mean": 0.6})
        assert p.bar.n == 1750
        p(_attempt(6, [48]))
        assert p.bar.n == p.bar.total == 2000
        # round 2 trains one size twice (two draws, the first from a neighbour: fewer steps)
        p({"stage": "round", "sizes": [[16], [16]], "variants": [0, 1], "steps": [400, 1000]})
        assert p.rounds == 2 and p.bar.total == 1400 and p.bar.n == 0
        for _ in range(2):
            p({"stage": "train", "hidden": [16], "variant": 1, "advance": 250, "de_mean": 0.5})
        assert p.bar.n == 500
        p(_attempt(3, [16], meets=False))
        assert p.bar.n == 400 + 500
        p(_attempt(3, [16], meets=False, variant=1))
        assert p.bar.n == 1400
        # no network met the target: the lattice tier's measurements
        p({"stage": "lattice", "hidden": [48], "grid": 17, "step": 2 ** -5, "de_mean": 0.3,
           "de_p99": 1.0, "de_max": 2.1, "psnr": 50.0})
        p({"stage": "done"})
    shown = out.getvalue()
    assert "round 1" in shown and "round 2" in shown and "/2000" in shown and "residual lattice" in shown
    assert "<" in shown  # tqdm's [elapsed<remaining]: an ETA
    printed = capsys.readouterr().out
    assert printed.count("tried [16]") == 2 and "abandoned early" in printed


def test_compress_progress_on_a_tiny_table_with_no_training():
    from lutplug.cli.codec import SearchProgress

    out = io.StringIO()
    with SearchProgress("t.cube", file=out, disable=False, tick=0) as p:
        p(_attempt(-1, [4], fixes=64))
        p({"stage": "done"})
        assert p.rounds == 0


def test_compress_shows_each_attempt_and_the_result(tmp_path):
    """A real (tiny) compress through the CLI: attempt lines, then the summary."""
    pytest.importorskip("torch")
    from lutplug import LUT3D
    from lutplug.core.formats import write_lut
    from tests.helpers import random_table

    src = tmp_path / "look.cube"
    # a non-separable 9³ table: a resampled cube of it costs more than small networks, which are tried
    write_lut(LUT3D(random_table(9, seed=3)), src)
    code, out = run("compress", src, "-o", tmp_path / "look.nlut", "--budget-kb", "0.3",
                    "--recipe", '{"adam_steps": 60, "qat_steps": 10, "batch": 1024, "n_random_train": 3000, '
                    '"max_lattice_train": 1000}')
    assert code in (0, 1), out  # 1: the tiny recipe's best misses the target (written anyway)
    assert "tried [" in out and "wrote " in out and "0step" not in out


def test_folder_progress_moves_while_luts_run_and_prints_its_end_once():
    import time
    from types import SimpleNamespace

    from lutplug.cli.batch import FolderProgress

    out = io.StringIO()
    with FolderProgress(3, file=out, disable=False, tick=0.05) as p:
        p.outcome(SimpleNamespace(status="skipped", source=Path("a.cube")))
        assert p.bar.total == 2 and p.skipped == 1
        time.sleep(0.3)  # nothing finished yet: the bar is redrawn with the elapsed time
        ticks = out.getvalue().count("\r")
        assert ticks >= 3
        p.outcome(SimpleNamespace(status="done", source=Path("b.cube"), bytes=400, meets_target=True,
                                  seconds=1.0, worker="pid 1"))
        p.outcome(SimpleNamespace(status="failed", source=Path("c.cube"), error="bad"))
        assert p.bar.n == 2
    shown = out.getvalue()
    assert "2/2" in shown and "1 up to date" in shown
    assert not shown.endswith("2/2\n")  # leave=False: the final state is the caller's one summary line

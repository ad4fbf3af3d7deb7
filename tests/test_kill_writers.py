"""SIGKILL during compress, bake, ``ocio add`` and ``pack build``: the previous file survives
intact, and the final name never holds a half-written file.

Each command runs (through the CLI, in-process) in a forked child that kills itself with SIGKILL
at a *kill point*: before each of its file-system mutations in turn (every open-for-writing,
rename, chmod, remove, mkdir … as Python's audit hooks report them, counted in a dry run), and at
seeded random moments of its run. After each kill the final file must hold the previous bytes or
a complete new file; the temporary files a kill leaves behind are hidden (``.name.*``) and counted.

Training is replaced by a stub returning a fixed network (compress, pack build): it writes no file,
and the kill points that matter are those of the writers; real training would take minutes.
"""
from __future__ import annotations

import os
import random
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

pytest.importorskip("PyOpenColorIO")
if not hasattr(os, "fork"):
    pytest.skip("needs fork()", allow_module_level=True)
from lutplug.cli import main
from lutplug.codec.nlut import load_nlut
from lutplug.core.formats import read_lut
from tests.nlut_helpers import random_nlut

#: Audit events that change the file system (``open`` only when it opens for writing).
MUTATIONS = {"open", "os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate",
             "os.link", "os.symlink", "os.utime", "shutil.copyfile", "shutil.rmtree", "os.chown"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: Random kill moments per command, besides the one before each mutation.
TIMED_KILLS = 6


def _is_mutation(event: str, args: tuple) -> bool:
    if event not in MUTATIONS:
        return False
    if event == "open":
        path, mode, flags = args
        if path is None or isinstance(path, int):
            return False
        return any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
    return True


def _run_child(fn: Callable[[], None], kill_at=None, kill_after=None, stubs=()) -> dict:
    """Fork; the child applies ``stubs`` (callables), runs ``fn`` and is SIGKILLed before its
    ``kill_at``-th mutation or ``kill_after`` seconds in. Returns how it ended and how many
    mutations it made (when it was not killed)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(r)
        code = 0
        count = 0
        try:
            for stub in stubs:
                stub()

            def hook(event, args):
                nonlocal count
                if _is_mutation(event, args):
                    count += 1
                    if count == kill_at:
                        os.kill(os.getpid(), signal.SIGKILL)
            sys.addaudithook(hook)
            if kill_after:
                signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGKILL))
                signal.setitimer(signal.ITIMER_REAL, kill_after)
            fn()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - report, then exit
            traceback.print_exc()
            code = 99
        os.write(w, str(count).encode())
        os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    count = os.read(r, 64)
    os.close(r)
    if os.WIFSIGNALED(status):
        return {"end": "killed"}
    return {"end": "finished", "code": os.WEXITSTATUS(status), "mutations": int(count or 0)}


def _cli(*args) -> Callable[[], None]:
    return lambda: main.main([str(a) for a in args], standalone_mode=False)


def _hidden(folder: Path) -> list:
    return sorted(p for p in folder.rglob(".*") if p.is_file())


def _kill_everywhere(name: str, fn, final: Path, previous: bytes, valid: Callable[[Path], None],
                     reset: Callable[[], None], stubs=(), seed: int = 0, most: int = 40) -> dict:
    """Run ``fn`` killed at every mutation (at most ``most`` of them, evenly spread, always the
    last 8: the renames into place) and at random moments; after each kill ``final`` must hold
    ``previous`` or pass ``valid``. Returns the figures."""
    reset()
    t0 = time.monotonic()
    dry = _run_child(fn, stubs=stubs)
    took = time.monotonic() - t0
    assert dry["end"] == "finished" and dry["code"] in (0, 1), dry
    assert dry["mutations"] > 0
    valid(final)
    rng = random.Random(seed)
    n = dry["mutations"]
    spread = {round(1 + i * (n - 1) / max(1, most - 9)) for i in range(most - 8)}
    chosen = sorted((spread | set(range(max(1, n - 7), n + 1))) & set(range(1, n + 1)))
    points = [("before mutation", k) for k in chosen]
    points += [("at time", rng.uniform(0.05, 1.0) * took) for _ in range(TIMED_KILLS)]
    fig = {"kill_points": 0, "killed": 0, "previous_intact": 0, "new_complete": 0,
           "temp_files_left": 0, "mutations": dry["mutations"]}
    for kind, where in points:
        reset()
        got = _run_child(fn, kill_at=where if kind == "before mutation" else None,
                         kill_after=where if kind == "at time" else None, stubs=stubs)
        fig["kill_points"] += 1
        fig["killed"] += got["end"] == "killed"
        assert final.exists(), f"{name}: killed {kind} {where}: {final} is gone"
        data = final.read_bytes()
        if data == previous:
            fig["previous_intact"] += 1
        else:
            valid(final)  # anything else under the final name must be a complete new file
            fig["new_complete"] += 1
        leftovers = _hidden(final.parent)
        fig["temp_files_left"] += len(leftovers)
        for p in leftovers:
            p.unlink()
    print(f"\n{name}: {fig}")  # the figures (pytest -s shows them)
    assert fig["killed"] >= len(chosen)  # each mutation point did kill it
    return fig


def _valid_nlut(path: Path) -> None:
    assert load_nlut(path).apply(np.full((1, 3), 0.5, np.float32)).shape == (1, 3)


def test_compress_killed_anywhere(tmp_path):
    src = tmp_path / "grade.cube"
    from lutplug import LUT3D
    from lutplug.core.formats import write_lut

    write_lut(LUT3D.identity(5), src)
    out = tmp_path / "out" / "grade.nlut"
    out.parent.mkdir()
    random_nlut(1).save(out)
    previous = out.read_bytes()

    def stub_training():
        from types import SimpleNamespace

        import lutplug.codec.compress as C

        def fake(lut, **kw):
            n = random_nlut(2)
            n.description = {"provenance": {"grid": lut.size, "settings": {"device": "cpu"}},
                             "quality": {"meets_target": True}}
            return C.CompressResult(n, SimpleNamespace(summary=lambda: "stub"), 0.0, [])
        C.compress = fake

    _kill_everywhere("compress", _cli("compress", src, "-o", out, "--device", "cpu"), out, previous,
                     _valid_nlut, lambda: out.write_bytes(previous), stubs=[stub_training])


def test_bake_killed_anywhere(tmp_path):
    grade = tmp_path / "g.nlut"
    random_nlut(3).save(grade)
    out = tmp_path / "out" / "baked.cube"
    out.parent.mkdir()
    out.write_text("LUT_3D_SIZE 2\n" + "0 0 0\n1 1 1\n" * 4)
    previous = out.read_bytes()

    def valid(p: Path) -> None:
        assert read_lut(p).size == 33

    _kill_everywhere("bake", _cli("bake", grade, "-o", out, "--size", 33), out, previous, valid,
                     lambda: out.write_bytes(previous), seed=1)


def test_ocio_add_killed_anywhere(tmp_path):
    import PyOpenColorIO as ocio

    from tests.fuzz.targets import _CONFIG

    grade = tmp_path / "g.nlut"
    random_nlut(4).save(grade)
    show = tmp_path / "show"
    (show / "luts").mkdir(parents=True)
    config = show / "config.ocio"
    config.write_text(_CONFIG)
    previous = config.read_bytes()

    def valid(p: Path) -> None:
        ocio.ClearAllCaches()
        cfg = ocio.Config.CreateFromFile(str(p))
        assert "killtest" in list(cfg.getLookNames())
        cfg.getProcessor(ocio.LookTransform("ACEScct", "ACEScct", "killtest"))

    def reset() -> None:
        config.write_bytes(previous)
        for f in show.glob("config.ocio.*.bak"):
            assert f.read_bytes() == previous, f"backup {f.name} is not the previous config"
            f.unlink()
        for f in (show / "luts").iterdir():
            assert read_lut(f).size == 9, f"cube {f.name} is incomplete"
            f.unlink()

    _kill_everywhere("ocio add", _cli("ocio", "add", config, grade, "--look", "killtest", "--size", 9),
                     config, previous, valid, reset, seed=2)
    reset()


def test_pack_build_killed_anywhere(tmp_path):
    pytest.importorskip("lutplug.codec.pack", reason="look packs are not in this tree yet")
    pytest.importorskip("lutplug.codec.pack_train", reason="pack training is not in this tree yet")
    from lutplug import LUT3D
    from lutplug.codec.pack import read_pack
    from lutplug.core.formats import write_lut
    from tests.fuzz.targets import TARGETS

    packs = []
    for s in TARGETS["pack"].seeds(tmp_path):
        try:
            packs.append(read_pack(s))
        except Exception:  # noqa: BLE001 - the framing-only seed
            continue
    if not packs:
        pytest.skip("no pack can be built without training with this pack API")
    for name in ("a", "b"):
        write_lut(LUT3D.identity(3), tmp_path / f"{name}.cube")
    out = tmp_path / "out" / "looks.nlutpack"
    out.parent.mkdir()
    pack = packs[0]
    out.write_bytes(pack.with_looks(pack.looks[:1]).to_bytes())  # the previous pack: fewer looks
    previous = out.read_bytes()

    def stub_training():
        import lutplug.codec.pack_train as T

        T.build_pack = lambda **kw: pack
        import lutplug.codec.pack_family as F

        F.build_family = lambda **kw: pack  # the default (--adapter stage)

    def valid(p: Path) -> None:
        assert read_pack(p).names() == pack.names()

    _kill_everywhere("pack build", _cli("pack", "build", tmp_path / "a.cube", tmp_path / "b.cube",
                                        "-o", out), out, previous, valid,
                     lambda: out.write_bytes(previous), stubs=[stub_training], seed=3)


def test_ocio_add_refuses_a_config_changed_since_it_was_read(tmp_path, monkeypatch):
    """Someone saves the config while `ocio add` works on it: their edit is kept, nothing of
    the add is left behind (no backup, no cube), and the message says why."""
    from lutplug.errors import LutError
    from lutplug.hosts.ocio import edit
    from tests.fuzz.targets import _CONFIG

    grade = tmp_path / "g.nlut"
    random_nlut(6).save(grade)
    show = tmp_path / "show"
    show.mkdir()
    config = show / "config.ocio"
    config.write_text(_CONFIG)
    theirs = _CONFIG.replace("name: warm", "name: warmer")
    real_plan = edit.plan_edit

    def plan_then_someone_saves(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        config.write_text(theirs)
        return plan

    monkeypatch.setattr(edit, "plan_edit", plan_then_someone_saves)
    with pytest.raises(LutError, match="changed on disk since lutplug read it"):
        edit.add_grade(config, grade, "mine", size=9)
    assert config.read_text() == theirs
    assert sorted(p.name for p in show.rglob("*") if p.is_file()) == ["config.ocio"]


def test_gimp_install_killed_anywhere(tmp_path):
    """Reinstalling the GIMP plug-in (a staged folder swapped in): a kill leaves the previous
    installation or the new one, complete (every file its manifest lists, with its hash)."""
    import hashlib
    import json

    from lutplug.codec.signing import generate_keypair
    from lutplug.hosts.gimp.install import install, plugin_dir, read_manifest

    profile = tmp_path / "GIMP" / "3.0"
    profile.mkdir(parents=True)
    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    common = dict(gimp_dir=profile, no_wheels=True, python_version="3.13",
                  platforms=["manylinux_2_28_x86_64"], echo=lambda *_: None)
    install(**common)
    folder = plugin_dir(profile)
    previous = (folder / "settings.json").read_bytes()

    def complete(_: Path) -> None:
        manifest = read_manifest(folder)
        for rel, digest in manifest["files"].items():
            assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, rel
        assert json.loads((folder / "settings.json").read_text())["require_signature"]

    def reset() -> None:
        """After each kill: whichever installation is there is complete; then back to the old."""
        import shutil

        manifest = read_manifest(folder)
        for rel, digest in manifest["files"].items():
            assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, rel
        for p in folder.parent.glob(f".{folder.name}.*"):
            shutil.rmtree(p)
        if (folder / "settings.json").read_bytes() != previous:
            install(**common)

    fig = _kill_everywhere("gimp install", lambda: install(trust=[tmp_path / "k.pub"],
                                                           require_signature=True, **common),
                           folder / "settings.json", previous, complete, reset, seed=4, most=24)
    reset()
    assert fig["kill_points"] >= 24

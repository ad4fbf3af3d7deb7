"""`lutplug gimp install / uninstall / status` (lutplug.hosts.gimp.install,
.installed, .profiles, .target, .wheels, .vendor; lutplug.cli.gimp), without GIMP and without the
network: wheels come from a folder of small stand-in wheels through the
real offline path (`pip download --no-index --find-links`). The vendored lutplug copy is run in a
separate Python that cannot import torch, OpenColorIO, OpenImageIO or click."""
from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lutplug import LUT3D, LutError, write_lut
from lutplug.cli import main as lutplug_main
from lutplug.hosts.gimp import ENGINES, PLUGIN_NAME, PROC_NAME
from lutplug.hosts.gimp import installed, profiles, target, vendor
from lutplug.hosts.gimp import manifest as manifest_mod
from lutplug.hosts.gimp import wheels as wheels_mod

from tests.helpers import random_table
from tests.nlut_helpers import random_nlut

PY = ["--python-version", "3.13", "--platform", "manylinux_2_28_x86_64",
      "--platform", "manylinux_2_17_x86_64"]


def _wheel(folder: Path, name: str, version: str, tag: str, files: dict, requires=()) -> Path:
    """A minimal valid wheel (what pip needs to resolve and copy it)."""
    dist = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + \
        "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n"
    entries = dict(files, **{f"{dist}/METADATA": meta, f"{dist}/WHEEL": wheel})
    record = []
    for path, text in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    entries[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    out = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(out, "w") as zf:
        for path, text in entries.items():
            zf.writestr(path, text)
    return out


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("wheels")
    _wheel(d, "numpy", "9.9.0", "cp313-cp313-manylinux_2_17_x86_64",
           {"numpy/__init__.py": "__version__ = '9.9.0'\n", "numpy/_core/x.py": ""})
    _wheel(d, "cryptography", "99.0", "cp311-abi3-manylinux_2_28_x86_64",
           {"cryptography/__init__.py": ""}, requires=["cffi>=1"])
    _wheel(d, "cffi", "2.0", "cp313-cp313-manylinux_2_17_x86_64", {"cffi/__init__.py": "",
           "cffi-2.0.data/purelib/_cffi_extra.py": "", "cffi-2.0.data/scripts/tool": "x"})
    # a wheel for another Python, which must not be picked
    _wheel(d, "numpy", "9.9.1", "cp312-cp312-manylinux_2_17_x86_64", {"numpy/__init__.py": ""})
    return d


@pytest.fixture()
def profile(tmp_path) -> Path:
    p = tmp_path / "GIMP" / "3.0"
    (p / "plug-ins" / "other-plugin").mkdir(parents=True)
    (p / "plug-ins" / "other-plugin" / "other-plugin.py").write_text("# someone else's\n")
    (p / "gimprc").write_text("(theme \"Dark\")\n")
    return p


def _tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def _install(profile, wheels, *extra):
    res = CliRunner().invoke(lutplug_main, ["gimp", "install", "--gimp-dir", str(profile),
                                            "--wheels", str(wheels), *PY, *extra])
    assert res.exit_code == 0, res.output
    return res.output


# ------------------------------------------------------------------------------ install --

def test_install_writes_one_self_contained_folder(profile, wheels):
    out = _install(profile, wheels)
    folder = profile / "plug-ins" / PLUGIN_NAME
    assert "using wheels from" in out and "offline" in out
    assert "numpy-9.9.0-cp313" in out and "9.9.1" not in out
    main = folder / f"{PLUGIN_NAME}.py"
    assert main.read_text().startswith("#!/usr/bin/env python3")
    assert os.stat(main).st_mode & 0o111 == 0o111
    assert main.read_bytes() == vendor.PLUGIN_SOURCE.read_bytes()
    lib = {p.relative_to(folder / "lib" / "lutplug").as_posix()
           for p in (folder / "lib" / "lutplug").rglob("*.py")}
    assert lib == {rel for _, rel in vendor.vendored_sources()}
    for rel in lib:
        assert (folder / "lib/lutplug" / rel).read_bytes() == \
            (vendor.package_root() / rel).read_bytes()
    assert (folder / "vendor/numpy/__init__.py").read_text() == "__version__ = '9.9.0'\n"
    assert (folder / "vendor/_cffi_extra.py").exists()          # .data/purelib unpacked
    assert not (folder / "vendor/tool").exists() and not list(folder.rglob("*.data"))
    manifest = json.loads((folder / manifest_mod.MANIFEST).read_text())
    assert manifest["format"] == manifest_mod.MANIFEST_FORMAT and manifest["python_version"] == "3.13"
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {manifest_mod.MANIFEST}
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
    assert sorted(w.split("-")[0] for w in manifest["wheels"]) == ["cffi", "cryptography", "numpy"]
    assert json.loads((folder / "settings.json").read_text()) == \
        {"trusted_keys": [], "require_signature": False}
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_vendored_modules_cover_every_lutplug_import():
    """The plug-in's import closure (lazy imports included) is vendored — what open_nlut needs,
    the format modules the registry loads by name — and nothing of the CLI, training, metrics or
    the other hosts."""
    root = vendor.package_root()
    vendored = {rel for _, rel in vendor.vendored_sources()}
    for rel in ("__init__.py", "errors.py", "fileio.py", "optional.py", "core/lut.py",
                "core/load.py", "codec/nlut.py", "codec/container.py", "codec/layout.py",
                "codec/signature.py", "codec/signing.py", "codec/trust.py", "codec/tensorfile.py",
                "hosts/gimp/engine.py", "hosts/gimp/source.py", "hosts/gimp/settings.py",
                "hosts/gimp/plugin/__init__.py", "hosts/gimp/plugin/pixels.py",
                "hosts/gimp/plugin/uitest.py"):
        assert rel in vendored, rel
    from lutplug.core.formats import format_names

    for rel in (f"core/formats/{p.name}" for p in (root / "core" / "formats").glob("*.py")):
        assert rel in vendored, rel
    assert len(format_names()) > 5
    for prefix in ("cli/", "evaluate/", "metrics/", "widgets/", "codec/train/", "codec/compress",
                   "hosts/ocio/", "hosts/nuke/", "hosts/gimp/install", "hosts/gimp/plugin/lutplug_apply"):
        assert not [rel for rel in vendored if rel.startswith(prefix)], prefix
    # every lutplug module named by an import statement of a vendored file is vendored too
    for src, rel in vendor.vendored_sources():
        for node in ast.walk(ast.parse(src.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lutplug"):
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("lutplug")]
            else:
                continue
            for name in names:
                path = root.joinpath(*name.split(".")[1:])
                for cand in (path.with_suffix(".py"), path / "__init__.py"):
                    if cand.is_file():
                        assert cand.relative_to(root).as_posix() in vendored, (rel, name)


def test_plugin_constants_agree_with_the_package():
    """The plug-in file repeats PLUGIN_NAME, PROC_NAME and ENGINES (it must register even when
    lutplug cannot be imported): the same values."""
    tree = ast.parse(vendor.PLUGIN_SOURCE.read_text())
    names = ("PLUGIN_NAME", "PROC_NAME", "ENGINES", "ENGINE_LABELS")
    values = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
              for t in node.targets if isinstance(t, ast.Name) and t.id in names}
    assert values["PLUGIN_NAME"] == PLUGIN_NAME and values["PROC_NAME"] == PROC_NAME
    assert values["ENGINES"] == ENGINES and set(values["ENGINE_LABELS"]) == set(ENGINES)


def test_installed_lib_runs_without_torch_ocio_oiio_click(profile, wheels, tmp_path):
    _install(profile, wheels)
    folder = profile / "plug-ins" / PLUGIN_NAME
    modules = [".".join(["lutplug", *Path(rel).with_suffix("").parts]).removesuffix(".__init__")
               for _, rel in vendor.vendored_sources() if not rel.startswith("hosts/gimp/plugin/")]
    write_lut(LUT3D(random_table(17, 3)), tmp_path / "l.cube")
    random_nlut(5, shaper=True).save(tmp_path / "n.nlut")
    script = f"""
import importlib.abc, json, sys
BLOCKED = ("torch", "PyOpenColorIO", "OpenImageIO", "click", "tqdm", "safetensors", "PIL")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
        return None
sys.meta_path.insert(0, Block())
sys.path.insert(0, {str(folder / 'lib')!r})
import importlib
import numpy as np
from lutplug.hosts.gimp import engine
for name in {modules!r}:   # every vendored module imports (the plug-in's own need GIMP's gi)
    importlib.import_module(name)
out = {{}}
rgb = np.random.default_rng(0).uniform(0, 1, (500, 4)).astype(np.float32)
for name, eng in (("l.cube", "auto"), ("n.nlut", "mlp"), ("n.nlut", "cube")):
    src = engine.load_source({str(tmp_path)!r} + "/" + name)
    k, used = src.kernel(eng, 500)
    out[name + ":" + eng] = engine.Runner(k, 2).run(rgb).tolist()
mods = sorted(getattr(m, "__file__", None) or list(m.__path__)[0]
              for n, m in sys.modules.items() if n.startswith("lutplug"))
print(json.dumps({{"out": out, "mods": mods}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=""))
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert all(m.startswith(str(folder / "lib")) for m in res["mods"]), res["mods"]
    from lutplug.hosts.gimp import engine

    rgb = np.random.default_rng(0).uniform(0, 1, (500, 4)).astype(np.float32)
    for key, got in res["out"].items():
        name, eng = key.split(":")
        k, _ = engine.load_source(str(tmp_path / name)).kernel(eng, 500)
        assert np.abs(np.asarray(got, np.float32) - engine.Runner(k, 1).run(rgb)).max() <= 1e-6


def test_reinstall_keeps_user_files_and_repairs_ours(profile, wheels):
    _install(profile, wheels)
    folder = profile / "plug-ins" / PLUGIN_NAME
    (folder / "notes.txt").write_text("mine")
    (folder / "lib/lutplug/errors.py").write_text("# broken by hand\n")
    out = _install(profile, wheels)
    assert "kept 1 file(s) you had added: notes.txt" in out
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "lib/lutplug/errors.py").read_bytes() == \
        (vendor.package_root() / "errors.py").read_bytes()
    assert "notes.txt" not in json.loads((folder / manifest_mod.MANIFEST).read_text())["files"]


def test_foreign_folder_is_refused_unless_forced(profile, wheels):
    folder = profile / "plug-ins" / PLUGIN_NAME
    folder.mkdir()
    (folder / f"{PLUGIN_NAME}.py").write_text("# another plug-in of the same name\n")
    res = CliRunner().invoke(lutplug_main, ["gimp", "install", "--gimp-dir", str(profile),
                                            "--wheels", str(wheels), *PY])
    assert res.exit_code == 2 and "did not install" in res.output
    assert (folder / f"{PLUGIN_NAME}.py").read_text().startswith("# another")
    out = _install(profile, wheels, "--force")
    backups = list(folder.parent.glob(f"{PLUGIN_NAME}.backup-*"))
    assert len(backups) == 1 and "moved to" in out
    assert (backups[0] / f"{PLUGIN_NAME}.py").read_text().startswith("# another")


def test_failed_install_leaves_nothing(profile, tmp_path):
    empty = tmp_path / "no-wheels-here"
    empty.mkdir()
    before = _tree(profile)
    res = CliRunner().invoke(lutplug_main, ["gimp", "install", "--gimp-dir", str(profile),
                                            "--wheels", str(empty), *PY])
    assert res.exit_code == 2 and "pip could not get wheels" in res.output
    assert _tree(profile) == before


def test_no_wheels_and_trust_options(profile, tmp_path):
    from lutplug.codec.signing import generate_keypair

    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    res = CliRunner().invoke(lutplug_main, ["gimp", "install", "--gimp-dir", str(profile),
                                            "--no-wheels", "--trust", str(tmp_path / "k.pub"),
                                            "--require-signature", *PY])
    assert res.exit_code == 0, res.output
    folder = profile / "plug-ins" / PLUGIN_NAME
    assert not (folder / "vendor").exists()
    settings = json.loads((folder / "settings.json").read_text())
    assert settings == {"trusted_keys": ["keys/00-k.pub"], "require_signature": True}
    assert (folder / "keys/00-k.pub").read_bytes() == (tmp_path / "k.pub").read_bytes()
    from lutplug.hosts.gimp.engine import Trust

    t = Trust.from_settings(folder, environ={})
    assert t.keys == [str(folder / "keys/00-k.pub")] and t.require_signature
    res = CliRunner().invoke(lutplug_main, ["gimp", "install", "--gimp-dir", str(profile),
                                            "--no-wheels", "--trust", str(tmp_path / "k.pem"), *PY])
    assert res.exit_code == 2 and "not a PEM public key" in res.output
    res = CliRunner().invoke(lutplug_main, ["gimp", "install", "--gimp-dir", str(profile),
                                            "--no-wheels", "--wheels", str(tmp_path), *PY])
    assert res.exit_code == 2 and "exclude each other" in res.output


# ---------------------------------------------------------------------------- uninstall --

def test_uninstall_removes_exactly_what_was_installed(profile, wheels):
    before = _tree(profile)
    _install(profile, wheels)
    folder = profile / "plug-ins" / PLUGIN_NAME
    # what GIMP's Python writes next to the modules on first use
    cache = folder / "lib/lutplug/core/__pycache__"
    cache.mkdir()
    (cache / "lut.cpython-313.pyc").write_bytes(b"\0")
    res = CliRunner().invoke(lutplug_main, ["gimp", "uninstall", "--gimp-dir", str(profile)])
    assert res.exit_code == 0, res.output
    assert "removed" in res.output
    assert _tree(profile) == before


def test_uninstall_leaves_files_it_did_not_install(profile, wheels):
    _install(profile, wheels)
    folder = profile / "plug-ins" / PLUGIN_NAME
    (folder / "lib/my-notes.txt").write_text("keep me")
    (folder / "settings.json").write_text("{}")       # ours, edited: removed, and said so
    result = installed.uninstall(profile, echo=lambda s: None)
    assert result.left == ["lib/my-notes.txt"]
    assert result.modified == ["settings.json"]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == \
        ["lib", "lib/my-notes.txt"]


def test_uninstall_refuses_what_lutplug_did_not_install(profile):
    folder = profile / "plug-ins" / PLUGIN_NAME
    folder.mkdir()
    (folder / "x.py").write_text("")
    with pytest.raises(LutError, match="not installed by lutplug"):
        installed.uninstall(profile)
    assert (folder / "x.py").exists()
    with pytest.raises(LutError, match="not installed here"):
        installed.uninstall(profile.parent / "elsewhere")


# ------------------------------------------------------------------------------- status --

def test_status_reports_changes_and_outdated_modules(profile, wheels):
    runner = CliRunner()
    res = runner.invoke(lutplug_main, ["gimp", "status", "--gimp-dir", str(profile)])
    assert res.exit_code == 0 and "not installed" in res.output
    _install(profile, wheels)
    res = runner.invoke(lutplug_main, ["gimp", "status", "--gimp-dir", str(profile), "--json"])
    st = json.loads(res.output)
    assert st["installed"] and st["python_version"] == "3.13"
    assert st["changed_since_install"] == [] and st["differs_from_this_lutplug"] == []
    (profile / "plug-ins" / PLUGIN_NAME / "lib/lutplug/fileio.py").write_text("# old\n")
    st = installed.status(profile)
    assert st["changed_since_install"] == ["lib/lutplug/fileio.py"]
    assert st["differs_from_this_lutplug"] == ["lib/lutplug/fileio.py"]
    res = runner.invoke(lutplug_main, ["gimp", "status", "--gimp-dir", str(profile)])
    assert "outdated" in res.output and "lutplug gimp install" in res.output


# ---------------------------------------------------------------- profiles and targets --

def test_find_profile(tmp_path):
    home = tmp_path / "home"
    with pytest.raises(LutError, match="no GIMP 3 profile found"):
        profiles.find_profile(environ={}, home=home, system="Linux")
    (home / ".config/GIMP/3.0").mkdir(parents=True)
    assert profiles.find_profile(environ={}, home=home, system="Linux") == home / ".config/GIMP/3.0"
    (home / ".config/GIMP/3.2").mkdir()
    assert profiles.find_profile(environ={}, home=home, system="Linux") == home / ".config/GIMP/3.2"
    xdg = tmp_path / "xdg"
    (xdg / "GIMP/3.0").mkdir(parents=True)
    assert profiles.find_profile(environ={"XDG_CONFIG_HOME": str(xdg)}, home=home,
                             system="Linux") == xdg / "GIMP/3.0"
    (home / ".var/app/org.gimp.GIMP/config/GIMP/3.0").mkdir(parents=True)
    with pytest.raises(LutError, match="several GIMP 3 profiles"):
        profiles.find_profile(environ={}, home=home, system="Linux")
    assert profiles.find_profile(environ={"GIMP3_DIRECTORY": str(tmp_path / "p")}, home=home) == \
        tmp_path / "p"
    win = {"APPDATA": str(tmp_path / "Roaming")}
    (tmp_path / "Roaming/GIMP/3.0").mkdir(parents=True)
    assert profiles.find_profile(environ=win, home=home, system="Windows") == \
        tmp_path / "Roaming/GIMP/3.0"
    (home / "Library/Application Support/GIMP/3.0").mkdir(parents=True)
    assert profiles.find_profile(environ={}, home=home, system="Darwin") == \
        home / "Library/Application Support/GIMP/3.0"


def test_targets_and_pip_command(monkeypatch, tmp_path):
    tags = target.platform_tags("Linux", "x86_64", "2.41")
    assert tags[0] == "manylinux_2_41_x86_64" and "manylinux_2_17_x86_64" in tags
    assert tags[-1] == "manylinux2014_x86_64"
    assert target.platform_tags("Windows", "x86_64") == ["win_amd64"]
    assert "macosx_11_0_arm64" in target.platform_tags("Darwin", "arm64")
    monkeypatch.setattr(target, "gimp_python", lambda: None)
    t = target.detect_target()
    assert t.python_version == "3.13" and "pass --python-version" in t.how
    t = target.detect_target(profile=Path("/home/u/.var/app/org.gimp.GIMP/config/GIMP/3.0"))
    assert "Flatpak" in t.how
    with pytest.raises(LutError, match="3.13"):
        target.detect_target("3")
    t = target.Target("3.13", ["manylinux_2_17_x86_64"], "test")
    cmd = wheels_mod.pip_command(tmp_path, t, tmp_path / "w")
    for part in ("download", "--only-binary=:all:", "--no-index", "--find-links", "cp313",
                 "manylinux_2_17_x86_64", "numpy", "cryptography"):
        assert part in cmd
    assert "--no-index" not in wheels_mod.pip_command(tmp_path, t, None)


def test_download_says_what_it_fetches_and_keeps_it(monkeypatch, tmp_path, wheels):
    """The online path (pip download from PyPI), with pip replaced by a copy of local wheels."""
    import shutil

    calls = []

    def fake_run(cmd, capture_output, text):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("--dest") + 1])
        for w in wheels.glob("*cp31[13]*.whl"):
            if "9.9.1" not in w.name:
                shutil.copy(w, dest)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(wheels_mod.subprocess, "run", fake_run)
    lines = []
    keep = tmp_path / "cache"
    got = wheels_mod.fetch_wheels(tmp_path / "dl" if (tmp_path / "dl").mkdir() is None else None,
                            target.Target("3.13", ["manylinux_2_17_x86_64"], "t"), None,
                            lines.append, keep_in=keep)
    assert "--no-index" not in calls[0]
    assert lines[0].startswith("downloading from PyPI with pip: numpy, cryptography")
    assert "CPython 3.13" in lines[0] and "MB" in lines[0]
    assert any(f"--wheels {keep}" in s for s in lines)
    assert sorted(p.name for p in keep.iterdir()) == sorted(p.name for p in got)


def test_cli_registers_the_gimp_group():
    res = CliRunner().invoke(lutplug_main, ["gimp", "--help"])
    assert res.exit_code == 0
    for cmd in ("install", "uninstall", "status", "download-wheels"):
        assert cmd in res.output
    # the module imported at CLI start-up imports nothing heavy (numpy comes with lutplug itself)
    proc = subprocess.run([sys.executable, "-c", "import sys, lutplug.cli.gimp; print(sorted("
                           "m for m in ('torch', 'gi', 'PyOpenColorIO', 'lutplug.hosts.gimp.engine',"
                           " 'lutplug.hosts.gimp.install', 'lutplug.codec.nlut') if m in sys.modules))"],
                          capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_a_missing_profile_is_not_created(tmp_path, wheels):
    res = CliRunner().invoke(lutplug_main, ["gimp", "install", "--gimp-dir", str(tmp_path / "GIMP/3.0"),
                                            "--wheels", str(wheels), *PY])
    assert res.exit_code == 2 and "start GIMP 3 once" in res.output
    assert not (tmp_path / "GIMP").exists()   # GIMP would leave a pre-created profile bare

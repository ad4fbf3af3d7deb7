"""The plug-in's Python is type-checked with mypy against the published Nuke stubs (types-nuke):
every ``nuke.*`` call and knob class it uses exists with that signature."""
from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["lutplug/hosts/nuke", "nuke/init.py", "nuke/menu.py", "nuke/lutplug_nuke_setup.py"]


def _require(dist: str) -> None:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{dist} is not installed (pip install mypy types-nuke)")


def _mypy(*paths: str):
    cache = Path(tempfile.gettempdir()) / "lutplug-mypy-cache"
    env = dict(os.environ, MYPYPATH=str(ROOT / "nuke"))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--python-version", "3.10",
         "--follow-imports", "silent", "--check-untyped-defs", "--warn-unused-ignores",
         "--strict-equality", "--no-implicit-optional", *paths],
        cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def stubs():
    _require("mypy")
    _require("types-nuke")


def test_plugin_type_checks_against_the_nuke_stubs(stubs):
    r = _mypy(*TARGETS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout


def test_the_stubs_are_really_used(stubs, tmp_path):
    """Control: a misspelt call and a wrong signature are caught, so the check above means it."""
    bad = tmp_path / "bad_plugin.py"
    bad.write_text("import nuke\n"
                   "nuke.createNod('Group')\n"
                   "nuke.Link_Knob('mix', 'mix').makeLink('LutPlugMix')\n")
    r = _mypy(str(bad))
    assert r.returncode == 1
    assert 'no attribute "createNod"' in r.stdout and "makeLink" in r.stdout

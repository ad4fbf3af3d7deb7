"""ocio/example/ is exactly what ocio/make_example.py generates (never hand-edited), and passes
ociocheck."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_ocio_host_helpers import assert_ociocheck, ociocheck

pytest.importorskip("PyOpenColorIO")

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "ocio" / "example"


@pytest.fixture(scope="module")
def example():
    if not (EXAMPLE / "config.ocio").is_file():
        pytest.skip("ocio/example has not been generated (run ocio/make_example.py)")
    return EXAMPLE


def test_example_passes_ociocheck(example, tmp_path):
    import PyOpenColorIO as ocio

    base = ocio.Config.CreateFromBuiltinConfig("studio-config-v4.0.0_aces-v2.0_ocio-v2.5")
    (tmp_path / "base.ocio").write_text(base.serialize())
    assert_ociocheck(example / "config.ocio", ociocheck(tmp_path / "base.ocio"))
    cfg = ocio.Config.CreateFromFile(str(example / "config.ocio"))
    assert "Cool Cinema" in cfg.getLookNames()
    assert cfg.getColorSpace("Cool Cinema (graded sRGB)") is not None
    assert cfg.getNamedTransform("Cool Cinema (grade only)") is not None


def test_example_is_what_the_script_generates(example, tmp_path):
    out = tmp_path / "example"
    shutil.copytree(example / "grades", out / "grades")   # reuse the trained grades
    r = subprocess.run([sys.executable, str(REPO / "ocio" / "make_example.py"), "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "config.ocio").read_text() == (example / "config.ocio").read_text()
    committed = sorted(p.name for p in (example / "luts").iterdir())
    assert sorted(p.name for p in (out / "luts").iterdir()) == committed
    for name in committed:
        assert (out / "luts" / name).read_bytes() == (example / "luts" / name).read_bytes()
    assert not list(out.glob("*.bak"))

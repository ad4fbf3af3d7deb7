"""Helpers for the OCIO host tests (no tests here): real command-line clients, small configs,
images."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent

#: A hand-written OCIO 2 config with comments everywhere, a block scalar, a flow-style list,
#: quoted names and an inline comment on the last look — what studios actually keep in git.
COMMENTED = """\
# Studio config: hand maintained, keep the comments!
ocio_profile_version: 2.1

# search paths are relative to this file
search_path:
  - luts        # show LUTs
strictparsing: true
luma: [0.2126, 0.7152, 0.0722]

description: |
  A small config for tests.
  looks: this line is part of the description, not a key
    # nor is this a comment

roles:
  default: lin
  scene_linear: lin
  color_timing: cct      # grading space
  data: raw
  aces_interchange: lin

displays:
  sRGB:
    - !<View> {name: Raw, colorspace: raw}
    - !<View> {name: Log, colorspace: cct}

active_displays: []
active_views: []

looks:
  # the show's base look
  - !<Look>
    name: show base
    process_space: cct
    transform: !<ExponentTransform> {value: [1.1, 1.1, 1.1, 1]}

  - !<Look>
    name: "quoted: look"
    process_space: lin
    transform: !<MatrixTransform> {matrix: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]}  # identity
# trailing comment at column 0 after the looks

colorspaces:
  - !<ColorSpace>
    name: lin
    family: ""
    bitdepth: 32f
    description: scene-linear reference
    isdata: false
    allocation: lg2

  - !<ColorSpace>
    name: cct
    bitdepth: 32f
    isdata: false
    to_scene_reference: !<LogAffineTransform> {base: 2, log_side_slope: 0.05707762557, log_side_offset: 0.5547945205, lin_side_offset: 0.0000019, direction: inverse}

  # data space: no transforms apply here
  - !<ColorSpace>
    name: raw
    isdata: true
# end of file comment
"""


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} not installed (it comes with the opencolorio / OpenImageIO wheels)")
    return found


def run(args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)


def ociocheck(config: Path) -> dict:
    """Run OpenColorIO's own ``ociocheck``; returns {"ok", "errors", "warnings", "out"}."""
    r = run([tool("ociocheck"), "-i", config])
    out = r.stdout + r.stderr
    m = re.search(r"Warnings encountered: (\d+)", out)
    return {"ok": r.returncode == 0 and "Tests complete" in out and "tests failed" not in out,
            "errors": [ln for ln in out.splitlines() if "ERROR" in ln or "-- error" in ln],
            "warnings": int(m.group(1)) if m else 0, "out": out}


def assert_ociocheck(config: Path, base=None) -> None:
    """ociocheck passes on ``config`` with no errors, and no more warnings than ``base`` (the
    ociocheck result of the config it was made from) had — none when no base is given."""
    res = ociocheck(config)
    assert res["ok"] and not res["errors"], res["out"][-3000:]
    assert res["warnings"] <= (base["warnings"] if base else 0), res["out"][-3000:]


def write_exr(path: Path, pixels: np.ndarray) -> None:
    import OpenImageIO as oiio

    h, w, c = pixels.shape
    spec = oiio.ImageSpec(w, h, c, "float")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, np.float32))
    out.close()


def read_exr(path: Path) -> np.ndarray:
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.get_pixels(oiio.FLOAT)


def grade_image(nlut, w: int = 64, h: int = 48, seed: int = 0) -> np.ndarray:
    """RGBA float pixels spanning the grade's input domain (and 5 % beyond)."""
    dmin, dmax = (np.asarray(d, np.float64) for d in nlut.input_domain)
    rng = np.random.default_rng(seed)
    rgb = dmin - 0.05 * (dmax - dmin) + rng.random((h, w, 3)) * 1.1 * (dmax - dmin)
    return np.concatenate([rgb, rng.random((h, w, 1))], -1).astype(np.float32)


def tagged_nlut(seed: int = 0, input_tag: str = "ACEScct", output_tag: str = "ACEScct", **kw):
    from tests.nlut_helpers import random_nlut

    n = random_nlut(seed, **kw)
    n.description["colorspace"] = {"input": input_tag, "output": output_tag}
    n.description["title"] = f"grade {seed}"
    return n

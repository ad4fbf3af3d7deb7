"""`lutplug ocio shader`: OpenColorIO's own GPU shader for the baked cube and the network shader,
run on Mesa llvmpipe through EGL and compared with the CPU (cube path ≤ 1e-3, network ≤ 1e-4).
HLSL runs after glslang (HLSL front end) → SPIR-V → SPIRV-Cross → GLSL; Metal, which no Linux
tool compiles, is compiled as C++ against a small Metal-types shim and run on the CPU."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from tests.nlut_helpers import random_nlut

ocio = pytest.importorskip("PyOpenColorIO")

from lutplug.cli import main  # noqa: E402
from lutplug.hosts.ocio import glcheck, shaders  # noqa: E402

CASES = [dict(seed=41), dict(seed=42, shaper=True), dict(seed=43, act="relu", skip="identity", center=True),
         dict(seed=44, act="sin", fourier=0, curves=0, skip="none"), dict(seed=45, act="tanh", hidden=(8, 8, 8))]
LIMIT = {"cube": 1e-3, "mlp": 1e-4}


@pytest.fixture(scope="module")
def gl():
    pytest.importorskip("moderngl")
    try:
        ctx = glcheck.context()
    except Exception as exc:  # pragma: no cover - machine without EGL
        pytest.skip(f"no headless GL context: {exc}")
    yield ctx
    ctx.release()


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("language", ["glsl_4.0", "glsl_es_3.0"])
@pytest.mark.parametrize("engine", ["cube", "mlp"])
def test_glsl_on_llvmpipe_matches_cpu(gl, case, language, engine):
    n = random_nlut(**case)
    bundle = shaders.shader(n, language, engine, size=33)
    pixels = glcheck.grade_pixels(n)
    gpu = glcheck.run(bundle, pixels, gl)
    cpu = glcheck.cpu_reference(bundle, n, pixels)
    diff = float(np.abs(gpu - cpu).max())
    assert diff <= LIMIT[engine], diff
    assert np.array_equal(gpu[..., 3], pixels[..., 3])            # alpha untouched
    assert np.abs(gpu[..., :3] - pixels[..., :3]).max() > 0.05     # and it did grade


def test_cube_shader_matches_the_network_within_cube_error(gl):
    """The cube path is the network baked: at 65³ it stays close to the network itself."""
    n = random_nlut(46, hidden=(8,), fourier=0)
    bundle = shaders.shader(n, "glsl_4.0", "cube", size=65)
    pixels = glcheck.grade_pixels(n)
    gpu = glcheck.run(bundle, pixels, gl)
    dmin, dmax = n.input_domain
    inside = np.all((pixels[..., :3] >= dmin) & (pixels[..., :3] <= dmax), axis=-1)
    # (a random network is much rougher than a real grade, so the 65³ cube error is larger)
    assert np.abs(gpu[..., :3] - n.apply(pixels[..., :3]))[inside].max() < 0.05


def test_broken_shader_is_caught(gl):
    n = random_nlut(47)
    bundle = shaders.shader(n, "glsl_4.0", "mlp")
    bundle.text = bundle.text.replace("return y;", "return y * 1.001;")
    pixels = glcheck.grade_pixels(n)
    assert np.abs(glcheck.run(bundle, pixels, gl) - glcheck.cpu_reference(bundle, n, pixels)).max() > 1e-4
    bundle.text = bundle.text.replace("float lp_act", "flot lp_act")
    with pytest.raises(Exception, match="refused"):
        glcheck.run(bundle, pixels, gl)


@pytest.mark.parametrize("case", CASES[:3])
@pytest.mark.parametrize("engine", ["cube", "mlp"])
def test_hlsl_through_glslang_and_spirv_cross(gl, case, engine):
    if glcheck.hlsl_tools() is None:
        pytest.skip("glslangValidator / spirv-cross not installed (Debian: glslang-tools spirv-cross)")
    n = random_nlut(**case)
    bundle = shaders.shader(n, "hlsl", engine, size=33)
    assert "float4 OCIOMain(float4 inPixel)" in bundle.text
    diff = glcheck.check(bundle, n, gl)
    assert diff <= LIMIT[engine], diff


MSL_SHIM = r"""
#include <cmath>
#include <cstdio>
#include <algorithm>
#define constant const
struct float3 { float r, g, b; float3() : r(0), g(0), b(0) {}
  float3(float x, float y, float z) : r(x), g(y), b(z) {} };
struct float4 { float3 rgb; float a; float4(float3 v, float w) : rgb(v), a(w) {} };
static inline float3 operator+(float3 p, float3 q) { return float3(p.r + q.r, p.g + q.g, p.b + q.b); }
static inline float3 operator-(float3 p, float3 q) { return float3(p.r - q.r, p.g - q.g, p.b - q.b); }
static inline float3 operator*(float3 p, float3 q) { return float3(p.r * q.r, p.g * q.g, p.b * q.b); }
static inline float3 &operator+=(float3 &p, float3 q) { p = p + q; return p; }
static inline float clamp(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }
static inline float3 clamp(float3 x, float3 lo, float3 hi) {
  return float3(clamp(x.r, lo.r, hi.r), clamp(x.g, lo.g, hi.g), clamp(x.b, lo.b, hi.b)); }
static inline float dot(float3 p, float3 q) { return p.r * q.r + p.g * q.g + p.b * q.b; }
static inline float exp(float x) { return std::exp(x); }
static inline float sin(float x) { return std::sin(x); }
static inline float cos(float x) { return std::cos(x); }
static inline float tanh(float x) { return std::tanh(x); }
static inline float max(float x, float y) { return std::max(x, y); }
static inline int min(int x, int y) { return std::min(x, y); }
"""
MSL_MAIN = r"""
int main() {
  float in[4];
  while (std::fread(in, sizeof(float), 4, stdin) == 4) {
    float4 o = OCIOMain(float4(float3(in[0], in[1], in[2]), in[3]));
    float out[4] = {o.rgb.r, o.rgb.g, o.rgb.b, o.a};
    std::fwrite(out, sizeof(float), 4, stdout);
  }
  return 0;
}
"""


@pytest.mark.parametrize("case", CASES)
def test_msl_network_shader_compiles_and_computes(tmp_path, case):
    """Metal cannot be compiled on Linux; its C++ core can: with the Metal vector types and
    built-ins supplied by a shim, g++ compiles the emitted MSL function unchanged and it computes
    the network. (This checks the code's logic and C++-level syntax, not Metal's own compiler.)"""
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    n = random_nlut(**case)
    bundle = shaders.shader(n, "msl", "mlp")
    assert "constant float" in bundle.text and "float4 OCIOMain(float4 inPixel)" in bundle.text
    src = tmp_path / "msl.cpp"
    src.write_text(MSL_SHIM + bundle.text + MSL_MAIN)
    exe = tmp_path / "msl"
    r = subprocess.run([cxx, "-std=c++17", "-O1", "-ffp-contract=off", "-Werror=return-type",
                        str(src), "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    pixels = glcheck.grade_pixels(n, 64, 32)
    out = subprocess.run([str(exe)], input=pixels.tobytes(), capture_output=True, check=True).stdout
    got = np.frombuffer(out, np.float32).reshape(pixels.shape)
    assert np.abs(got[..., :3] - n.apply(pixels[..., :3])).max() <= 1e-4
    assert np.array_equal(got[..., 3], pixels[..., 3])


def test_ocio_msl_and_hlsl_cube_shaders_are_emitted():
    n = random_nlut(48, shaper=True)
    for lang in ("msl", "hlsl"):
        b = shaders.shader(n, lang, "cube", size=17)
        assert "float4 OCIOMain(float4 inPixel)" in b.text
        assert [t.dims for t in b.textures] == [3, 2]   # 3D LUT + the shaper as a 2D texture
        assert b.textures[0].values.size == 17 ** 3 * 3


def test_cli_writes_shader_textures_and_manifest(tmp_path, gl):
    n = random_nlut(49, shaper=True)
    n.save(tmp_path / "g.nlut")
    out = tmp_path / "g.glsl"
    r = _cli("ocio", "shader", tmp_path / "g.nlut", "--language", "glsl_es_3.0", "--size", 17,
             "-o", out, "--check")
    assert r.exit_code == 0, r.output
    assert "check: GPU vs CPU max abs" in r.output
    man = json.loads((tmp_path / "g.glsl.json").read_text())
    assert man["signature"] == "vec4 OCIOMain(vec4 inPixel)" and man["cube_size"] == 17
    tex3d = [t for t in man["textures"] if t["type"] == "3D"][0]
    data = np.fromfile(tmp_path / tex3d["file"], "<f4")
    assert data.size == 17 ** 3 * 3 and tex3d["width"] == 17
    # the written shader + textures, loaded back as a host would, reproduce the CPU
    bundle = shaders.shader(n, "glsl_es_3.0", "cube", size=17)
    text = out.read_text()
    assert bundle.text in text
    for t in bundle.textures:
        m = [x for x in man["textures"] if x["name"] == t.name][0]
        t.values = np.fromfile(tmp_path / m["file"], "<f4")
    assert glcheck.check(bundle, n, gl) <= 1e-3
    # the network shader prints to stdout; the cube one needs -o for its textures
    r = _cli("ocio", "shader", tmp_path / "g.nlut", "--language", "hlsl", "--engine", "mlp")
    assert r.exit_code == 0 and "float3 lutplug_apply(float3 rgb)" in r.output
    r = _cli("ocio", "shader", tmp_path / "g.nlut", "--language", "msl")
    assert r.exit_code == 2 and "-o" in r.output
    r = _cli("ocio", "shader", tmp_path / "g.nlut", "--language", "glsl_4.0", "--engine", "mlp",
             "--function-name", "bad name")
    assert r.exit_code == 2

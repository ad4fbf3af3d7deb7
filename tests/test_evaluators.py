"""The torch evaluator, the GLSL shaders (run on Mesa llvmpipe through EGL) and ONNX export all
agree with the numpy evaluator."""
import numpy as np
import pytest

from tests.helpers import run_compute_shader
from tests.nlut_helpers import random_nlut

torch = pytest.importorskip("torch")

CASES = [dict(seed=1), dict(seed=2, shaper=True), dict(seed=3, act="relu", skip="identity", center=True),
         dict(seed=4, act="sin", fourier=0, curves=0, skip="none"),
         dict(seed=5, act="tanh", hidden=(8, 8, 8)), dict(seed=6, minmax=True, center=True, fourier=1),
         dict(seed=7, act="relu", fourier=0, center=True, hidden=(16,), shaper=True, fixes=12),
         dict(seed=8, act="relu", fourier=0, center=True, hidden=(32, 16, 8))]


def _inputs(n, count=4096, seed=0):
    dmin, dmax = n.input_domain
    return (dmin - 0.05 + np.random.default_rng(seed).random((count, 3)) * (dmax - dmin + 0.1)).astype(np.float32)


@pytest.mark.parametrize("case", CASES)
def test_torch_matches_numpy(case):
    from lutplug.codec.torch_eval import TorchEvaluator, apply_image_torch

    n = random_nlut(**case)
    x = _inputs(n)
    out = TorchEvaluator(n)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, n.apply(x), atol=1e-5)
    img = np.concatenate([x.reshape(64, 64, 3), np.full((64, 64, 1), 0.3, np.float32)], -1)
    graded = apply_image_torch(n, img, mix=0.5, device="cpu")
    np.testing.assert_allclose(graded[..., :3], 0.5 * img[..., :3] + 0.5 * n.apply(img[..., :3]), atol=1e-5)
    np.testing.assert_array_equal(graded[..., 3], img[..., 3])


@pytest.fixture(scope="module")
def gl():
    moderngl = pytest.importorskip("moderngl")
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=450)
    except Exception as exc:  # pragma: no cover - machine without EGL
        pytest.skip(f"no headless GL context: {exc}")
    yield ctx
    ctx.release()


@pytest.mark.parametrize("case", CASES)
def test_glsl_compute_shader_matches_torch(gl, case):
    from lutplug.codec.glsl import compute_shader
    from lutplug.codec.torch_eval import TorchEvaluator

    n = random_nlut(**case)
    x = _inputs(n, 5000)
    out = run_compute_shader(gl, compute_shader(n), x)
    ref = TorchEvaluator(n)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out[:, :3], ref, atol=1e-4)
    np.testing.assert_array_equal(out[:, 3], 1.0)


def test_glsl_fragment_shader_matches_torch(gl):
    from lutplug.codec.glsl import fragment_shader
    from lutplug.codec.torch_eval import TorchEvaluator

    n = random_nlut(7)
    w = h = 64
    img = np.random.default_rng(1).random((h, w, 4)).astype(np.float32)
    tex = gl.texture((w, h), 4, img.tobytes(), dtype="f4")
    tex.filter = (gl.NEAREST, gl.NEAREST)
    vs = ("#version 450\nin vec2 pos;\nout vec2 v_uv;\n"
          "void main() { v_uv = pos * 0.5 + 0.5; gl_Position = vec4(pos, 0.0, 1.0); }\n")
    prog = gl.program(vertex_shader=vs, fragment_shader=fragment_shader(n))
    quad = gl.buffer(np.array([-1, -1, 1, -1, -1, 1, 1, 1], np.float32).tobytes())
    vao = gl.vertex_array(prog, [(quad, "2f", "pos")])
    fbo = gl.framebuffer(color_attachments=[gl.texture((w, h), 4, dtype="f4")])
    fbo.use()
    tex.use(0)
    prog["u_image"].value = 0
    prog["u_mix"].value = 0.75
    vao.render(mode=pytest.importorskip("moderngl").TRIANGLE_STRIP)
    out = np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(h, w, 4)
    rgb = torch.from_numpy(img[..., :3].reshape(-1, 3).copy())
    ref = TorchEvaluator(n)(rgb, mix=0.75).numpy().reshape(h, w, 3)
    np.testing.assert_allclose(out[..., :3], ref, atol=1e-4)
    np.testing.assert_allclose(out[..., 3], img[..., 3], atol=1e-6)


def test_onnx_export_runs_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from lutplug.codec.onnx_export import export_onnx

    n = random_nlut(8, shaper=True, fixes=5)
    path = tmp_path / "n.onnx"
    export_onnx(n, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _inputs(n, 1000)
    (out,) = sess.run(None, {"rgb": x})
    np.testing.assert_allclose(out, n.apply(x), atol=1e-5)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("workers", [1, 2])
def test_lattice_evaluator_matches_per_point(case, workers):
    # forward_numpy_lattice (separable first layer, B slices on threads) == forward_numpy at the nodes
    from lutplug.codec.model import forward_numpy, forward_numpy_lattice
    from lutplug.core.lut import lattice

    n = random_nlut(**case)
    fast = forward_numpy_lattice(n.params, n.config, 11, workers=workers)
    ref = forward_numpy(n.params, n.config, lattice(11)).reshape(11, 11, 11, 3)
    np.testing.assert_allclose(fast, ref, atol=2e-6)


def test_torch_evaluator_chunks_large_inputs(monkeypatch):
    from lutplug.codec import torch_eval

    monkeypatch.setitem(torch_eval.CHUNK_ROWS, "cpu", 1000)  # 4096 rows -> 5 chunks
    n = random_nlut(seed=2, shaper=True, fixes=6)
    x = _inputs(n)
    out = torch_eval.TorchEvaluator(n)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, n.apply(x), atol=1e-5)


@pytest.mark.parametrize("knots", [2, 9, 17])
def test_curve_is_per_channel_linear_interpolation(knots):
    # pwl_np against numpy's interp of each channel's knots (inputs clamped to [0, 1]), for
    # (M, 3) and (3, M) layouts, with and without reused scratch buffers
    from lutplug.codec.model.numpy_net import pwl_np

    rng = np.random.default_rng(knots)
    c = rng.standard_normal((3, knots)).astype(np.float32)
    x = (rng.random((5000, 3)) * 1.4 - 0.2).astype(np.float32)
    x[:3] = [[0.0, 1.0, 0.5], [1.0, 0.0, np.float32(1 - 2 ** -24)], [np.inf, -np.inf, 2.0]]
    xs = np.linspace(0.0, 1.0, knots)
    ref = np.stack([np.interp(np.clip(x[:, k], 0, 1), xs, c[k]) for k in range(3)], axis=1)
    scratch: dict = {}
    for _ in range(2):
        np.testing.assert_allclose(pwl_np(c, x, scratch), ref, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(pwl_np(c, np.ascontiguousarray(x.T), axis=0).T, pwl_np(c, x))


def test_relu_is_numpy_maximum_in_place():
    # act_np's ReLU (against a row of zeros, for speed) is np.maximum(z, 0) bit for bit, in place,
    # NaN and infinities included
    from lutplug.codec.model.numpy_net import act_np

    z = np.random.default_rng(3).standard_normal((64, 40)).astype(np.float32)
    z[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    ref = np.maximum(z, np.float32(0.0))
    out = act_np("relu", z)
    assert out is z
    np.testing.assert_array_equal(out.view(np.uint32)[1:], ref.view(np.uint32)[1:])
    assert np.isnan(out[0, 0]) and out[0, 1] == np.inf and out[0, 2] == 0 and out[0, 3] == 0

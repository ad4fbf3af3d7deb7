"""The BlinkScript kernel generated from a .nlut, compiled with g++ against a shim of the Blink
types (tests/blink_shim) and run over random pixels, equals the torch evaluator to 1e-5 — for
networks covering every config option (activations, skip kinds, Fourier features, centring,
input/output curves, shaper, quantised and float weights)."""
from __future__ import annotations

import numpy as np
import pytest

from lutplug.codec.blink import kernel_source, passthrough_source
from tests.blink_shim.harness import GXX
from tests.blink_shim.harness import build as _build
from tests.blink_shim.harness import run as _run
from tests.nlut_helpers import random_nlut

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(GXX is None, reason="g++ is needed to compile the Blink kernels")

#: Every option of the network config appears in at least one case.
CASES = [
    dict(seed=1),                                                   # silu, linear skip, fourier 2, curves
    dict(seed=2, shaper=True),                                      # + 1D shaper and a 0..2 domain
    dict(seed=3, act="relu", skip="identity", center=True),         # centring with Fourier features
    dict(seed=4, act="sin", fourier=0, curves=0, skip="none"),      # no features, no curves, no skip
    dict(seed=5, act="tanh", hidden=(8, 8, 8)),                     # three hidden layers
    dict(seed=6, act="silu", fourier=0, center=True, hidden=(16,)),  # centring folded without features
    dict(seed=7, act="tanh", fourier=3, curves=5, shaper=True, skip="identity"),
    dict(seed=8, act="relu", fourier=1, curves=2, hidden=(4, 24), skip="linear", center=True),
    dict(seed=10, act="relu", fourier=0, center=True, hidden=(16,), shaper=True, fixes=12),  # node corrections
]


def _float_weights(n):
    """The same network with float32 weights (no .q/.s pairs): the unquantised storage form."""
    from lutplug.codec.nlut import NeuralLUT
    from lutplug.codec.quantize import dequantize_params

    return NeuralLUT(n.config, dequantize_params(n.params), n.domain_min, n.domain_max, n.shaper,
                     n.description)


def _nets():
    nets = [random_nlut(**c) for c in CASES]
    return nets + [_float_weights(random_nlut(seed=9, shaper=True, center=True))]


def _pixels(n, count=6000, seed=0) -> np.ndarray:
    """RGBA over the input domain and 10% beyond it (clamped by the network), random alpha."""
    rng = np.random.default_rng(seed)
    dmin, dmax = (np.asarray(d, np.float32) for d in n.input_domain)
    span = dmax - dmin
    rgb = dmin - 0.1 * span + rng.random((count, 3), dtype=np.float32) * 1.2 * span
    return np.concatenate([rgb, rng.random((count, 1), dtype=np.float32)], 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blink")
    nets = _nets()
    sources = [kernel_source(n, f"K{i}") for i, n in enumerate(nets)]
    return nets, _build(tmp, sources), tmp


def test_every_config_option_is_covered():
    nets = _nets()
    assert {n.config["act"] for n in nets} == {"relu", "silu", "tanh", "sin"}
    assert {n.config["skip"] for n in nets} == {"identity", "linear", "none"}
    assert {bool(n.config["fourier"]) for n in nets} == {True, False}
    assert {n.config["center"] for n in nets} == {True, False}
    assert {bool(n.config["in_curve"]) for n in nets} == {True, False}
    assert {bool(n.config["out_curve"]) for n in nets} == {True, False}
    assert {n.shaper is not None for n in nets} == {True, False}
    assert {"fix" in n.config for n in nets} == {True, False}
    assert {any(k.endswith(".q") for k in n.params) for n in nets} == {True, False}


@pytest.mark.parametrize("index", range(len(CASES) + 1))
def test_kernel_equals_torch_evaluator(built, index):
    from lutplug.codec.torch_eval import TorchEvaluator

    nets, exe, _ = built
    n = nets[index]
    px = _pixels(n, seed=index)
    out = _run(exe, index, px)
    ref = TorchEvaluator(n)(torch.from_numpy(px[:, :3].copy())).numpy()
    np.testing.assert_allclose(out[:, :3], ref, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(out[:, 3], px[:, 3])  # alpha untouched


def test_kernel_on_rgb_only_images(built):
    """A 3-channel input (SampleType float3) compiles and gives the same RGB."""
    from lutplug.codec.torch_eval import TorchEvaluator

    nets, _, tmp = built
    exe3 = _build(tmp, [kernel_source(nets[1], "K0")], sample="float3")
    px = _pixels(nets[1], 2000, seed=11)
    out = _run(exe3, 0, px)
    ref = TorchEvaluator(nets[1])(torch.from_numpy(px[:, :3].copy())).numpy()
    np.testing.assert_allclose(out[:, :3], ref, rtol=0, atol=1e-5)


def test_nan_and_infinite_pixels_stay_in_bounds(tmp_path):
    """Under AddressSanitizer/UBSan: NaN and ±inf pixels never index outside the weight tables
    (a GPU out-of-bounds read could take Nuke down), and finite inputs still give finite output."""
    n = random_nlut(seed=2, shaper=True, act="tanh")
    exe = _build(tmp_path, [kernel_source(n, "K0")], sanitize=True)
    bad = np.array([[np.nan, 0.5, 0.5, 1], [np.inf, -np.inf, 0.2, 1], [-np.inf, np.nan, np.inf, 0],
                    [1e30, -1e30, 3e38, 1], [0.2, 0.3, 0.4, 1]], np.float32)
    out = _run(exe, 0, bad)
    assert np.all(np.isfinite(out[3:, :3]))
    np.testing.assert_array_equal(out[:, 3], bad[:, 3])


def test_passthrough_kernel_copies_pixels(tmp_path):
    exe = _build(tmp_path, [passthrough_source("K0")])
    px = np.random.default_rng(3).random((100, 4), dtype=np.float32) * 4 - 1
    np.testing.assert_array_equal(_run(exe, 0, px), px)


def test_kernel_source_shape_and_refusals():
    n = random_nlut(seed=1)
    src = kernel_source(n)
    assert "kernel LutPlugKernel : ImageComputationKernel<ePixelWise>" in src
    assert "Image<eRead, eAccessPoint, eEdgeClamped> src;" in src and "Image<eWrite> dst;" in src
    assert "param:" not in src  # weights are constants: the node needs no parameter knobs
    for banned in ("tanh", "fabs", "clamp(", "std::", "#include", "double"):
        assert banned not in src
    with pytest.raises(ValueError):
        kernel_source(n, "not an identifier")
    bad = random_nlut(seed=1)
    bad.params = dict(bad.params, b0=np.full_like(bad.params["b0"], np.inf))
    with pytest.raises(ValueError, match="non-finite"):
        kernel_source(bad)
    future = random_nlut(seed=1)
    future.config = dict(future.config, layer_norm=True)
    with pytest.raises(ValueError, match="layer_norm"):
        kernel_source(future)
    for key, value in (("act", "gelu"), ("skip", "gated"), ("version", 2)):
        with pytest.raises(ValueError):
            kernel_source(type(n)(dict(n.config, **{key: value}), n.params, n.domain_min, n.domain_max))

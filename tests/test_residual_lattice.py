"""Residual lattices (the size search's last tier): their closed-form meaning, the evaluators
that must agree on it, the file checks, and the search choosing one when no network meets T1."""
import numpy as np
import pytest

from lutplug import LutError
from lutplug.codec import model
from lutplug.codec.nlut import from_bytes
from lutplug.core.interpolate import tetrahedral, trilinear
from lutplug.core.lut import lattice
from tests.nlut_helpers import lattice_nlut


def _reference_nodes(n) -> np.ndarray:
    """The node values by the documented formula, in float64, from the per-point network (not
    the lattice evaluator) at the node coordinates, R fastest."""
    spec = n.config["lattice"]
    grid = spec["grid"]
    plain = {k: v for k, v in n.config.items() if k != "lattice"}
    net = model.forward_numpy({k: v for k, v in n.params.items() if k != "lattice"}, plain,
                              lattice(grid)).astype(np.float64).reshape(grid, grid, grid, 3)
    w = np.where(net > 1, 1 + np.log(np.maximum(net, 1)), net) + spec["step"] * n.params["lattice"]
    return np.where(w > 1, np.exp(w - 1), w)


@pytest.mark.parametrize("interpolation", ["tetrahedral", "trilinear"])
@pytest.mark.parametrize("wide", [False, True])
def test_network_with_a_lattice_reads_its_corrected_nodes(interpolation, wide):
    n = lattice_nlut(seed=3, grid=6, wide=wide, interpolation=interpolation)
    nodes = _reference_nodes(n)
    assert nodes.max() > 1.5 or not wide  # the log-compressed range above white is exercised
    np.testing.assert_allclose(model.forward_numpy_lattice(n.params, n.config, 6), nodes, rtol=2e-6, atol=2e-6)
    read = {"tetrahedral": tetrahedral, "trilinear": trilinear}[interpolation]
    u = np.random.default_rng(0).random((4000, 3), dtype=np.float32) * 1.2 - 0.1  # some outside: clamped
    want = read(nodes.astype(np.float32), np.clip(u, 0, 1))
    np.testing.assert_allclose(model.forward_numpy(n.params, n.config, u), want, rtol=1e-5, atol=1e-5)
    # baked to another size: the lattice read at that grid's nodes
    np.testing.assert_allclose(model.forward_numpy_lattice(n.params, n.config, 9).reshape(-1, 3),
                               read(nodes.astype(np.float32), lattice(9)), rtol=1e-5, atol=1e-5)


def test_a_lattice_over_a_network_that_is_not_separable():
    # Fourier features: the lattice evaluator's per-point path, corrected all the same
    from tests.nlut_helpers import random_nlut

    n = random_nlut(seed=6, fourier=2, hidden=(8,))
    n.config["lattice"] = {"grid": 5, "step": 1 / 256, "interpolation": "tetrahedral"}
    n.params["lattice"] = np.random.default_rng(6).integers(-127, 128, (5, 5, 5, 3)).astype(np.int8)
    np.testing.assert_allclose(model.forward_numpy_lattice(n.params, n.config, 5), _reference_nodes(n),
                               rtol=2e-6, atol=2e-6)


def test_a_lattice_baked_to_65_is_the_same_on_any_thread_count():
    # the resample reads the nodes in chunks on threads: the nodes read at lattice(65), bit for bit
    n = lattice_nlut(seed=5, grid=7, wide=True, interpolation="tetrahedral")
    nodes = model.lattice_nodes(n.params, n.config)
    want = tetrahedral(nodes, lattice(65)).reshape(65, 65, 65, 3)
    for workers in (1, 2, 3):
        assert np.array_equal(model.forward_numpy_lattice(n.params, n.config, 65, workers=workers), want)


@pytest.mark.parametrize("interpolation", ["tetrahedral", "trilinear"])
def test_torch_evaluators_agree_with_numpy(interpolation):
    torch = pytest.importorskip("torch")
    from lutplug.codec.torch_eval import TorchEvaluator

    n = lattice_nlut(seed=4, grid=7, wide=True, interpolation=interpolation, shaper=True)
    x = np.random.default_rng(1).random((3000, 3), dtype=np.float32) * 3.2 - 0.1
    want = n.apply(x)
    got = TorchEvaluator(n)(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    direct = model.forward(n.params, n.config, torch.as_tensor(n.lattice_coordinates(x))).numpy()
    np.testing.assert_allclose(direct, want, rtol=1e-5, atol=1e-5)


def test_onnx_export_of_a_lattice(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from lutplug.codec.onnx_export import export_onnx

    n = lattice_nlut(seed=5, grid=5, shaper=True)
    export_onnx(n, tmp_path / "n.onnx")
    x = np.random.default_rng(2).random((1000, 3), dtype=np.float32) * 3
    (out,) = ort.InferenceSession(str(tmp_path / "n.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"rgb": x})
    np.testing.assert_allclose(out, n.apply(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("wide", [False, True])
def test_round_trip(wide):
    # version 3 packs the network and keeps the residuals apart, int8 or int16 (the tensor facts
    # say which: docs/nlut-format.md)
    n = lattice_nlut(seed=6, grid=5, wide=wide)
    data = n.to_bytes()
    assert data[4] == 3 and bool(data[5] & 0x04) == wide  # tensor facts only for int16
    back = from_bytes(data)
    assert back.params["lattice"].dtype == (np.int16 if wide else np.int8)
    assert back.config["lattice"] == n.config["lattice"]
    np.testing.assert_array_equal(back.params["lattice"], n.params["lattice"])
    x = lattice(7)
    np.testing.assert_array_equal(back.apply(x), n.apply(x))


@pytest.mark.parametrize("change, message", [
    (lambda m: m.params.__setitem__("lattice", m.params["lattice"].astype(np.float16)), "int8 or int16"),
    (lambda m: m.params.__setitem__("lattice", m.params["lattice"].astype(np.int32)), "int8 or int16"),
    (lambda m: m.params.__setitem__("lattice", m.params["lattice"][:4]), "shape"),
    (lambda m: m.config["lattice"].__setitem__("grid", 130), "out of range"),
    (lambda m: m.config["lattice"].__setitem__("grid", True), "out of range"),
    (lambda m: m.config["lattice"].__setitem__("step", 0.0), r"\(0, 1\]"),
    (lambda m: m.config["lattice"].__setitem__("step", 2.0), r"\(0, 1\]"),
    (lambda m: m.config["lattice"].__setitem__("interpolation", "cubic"), "not tetrahedral or trilinear"),
    (lambda m: m.config["lattice"].__setitem__("extra", 1), "exactly"),
    (lambda m: (m.config["lattice"].__setitem__("step", 1.0),
                m.params.__setitem__("lattice", np.full((5, 5, 5, 3), 900, np.int16))), "reach 900"),
])
def test_hostile_lattices_are_refused(change, message):
    m = lattice_nlut(seed=7, grid=5, wide=True)
    change(m)
    with pytest.raises(LutError, match=message):
        from_bytes(m.to_bytes(), source="bad.nlut")


def test_shaders_refuse_a_lattice_and_say_what_to_use():
    from lutplug.codec import blink, glsl

    n = lattice_nlut(seed=8, grid=5)
    for emit in (glsl.function_source, glsl.compute_shader, glsl.fragment_shader):
        with pytest.raises(ValueError, match="5\\^3 residual lattice.*baked cube"):
            emit(n)
    with pytest.raises(ValueError, match="lattice"):
        blink.kernel_source(n)


def _hard_table(n: int = 9, seed: int = 0) -> np.ndarray:
    """A smooth grade plus node-to-node noise as fine as the grid (a dithered LUT): no network
    follows it, every resampling blurs it. [b, g, r] float32."""
    rgb = lattice(n).reshape(n, n, n, 3).astype(np.float64)
    grade = np.clip(rgb @ np.array([[0.9, 0.1, 0.0], [0.05, 0.85, 0.1], [0.0, 0.2, 0.8]]).T, 0, 1) ** 0.9
    noise = np.random.default_rng(seed).normal(0, 0.04, grade.shape)
    return np.clip(grade + noise, 0, 1.3).astype(np.float32)


def test_tier_picks_the_fewest_bytes_meeting_the_target():
    pytest.importorskip("torch")
    from lutplug.codec import train
    from lutplug.codec.train.lattice_tier import DE_FLOORS, node_de
    from lutplug.codec.train.scoring import stored_size

    table = _hard_table()
    u, t = train.eval_points(table, n_random=20000)
    cfg, stored, q = train.lattice_tier(table, u, t, [train.identity_network()])
    assert train.meets(q)
    step = cfg["lattice"]["step"]
    # every node of the baked cube is the table to within half a step (below white, where the
    # space is linear), or left as the identity predicts it: inside [0, 1] and within the
    # largest ΔE00 floor
    baked = model.forward_numpy_lattice(stored, cfg, table.shape[0])
    ident_cfg, ident = train.identity_network()
    predicted = model.forward_numpy_lattice(ident, ident_cfg, table.shape[0])
    close = ((np.abs(baked - table) <= step / 2 + 1e-6) | (table > 1)).all(axis=-1)
    left = (stored["lattice"] == 0).all(axis=-1) & ((table >= 0) & (table <= 1)).all(axis=-1) \
        & (node_de(table, predicted) <= DE_FLOORS[-1])
    assert (close | left).all() and left[~close].sum() > 0  # some nodes are left off
    # no larger than the plain form: the identity's nodes (its int8 weights are not exactly I: up
    # to 1.0009) corrected at every node by the documented formula in float64 at the coarsest
    # step that meets the target, read tetrahedrally
    encode = lambda v: np.where(v > 1, 1 + np.log(np.maximum(v, 1)), v)  # noqa: E731
    base, goal = encode(predicted.astype(np.float64)), encode(table.astype(np.float64))
    for plain_step in train.LATTICE_STEPS:
        steps = np.rint((goal - base) / plain_step)
        w = base + steps * plain_step
        nodes = np.where(w > 1, np.exp(w - 1), w)
        if train.meets(train.measure(tetrahedral(nodes.astype(np.float32), u), t)):
            break
    plain = dict(ident, lattice=steps.astype(np.int8 if np.abs(steps).max() <= 127 else np.int16))
    plain_cfg = dict(ident_cfg, lattice={"grid": table.shape[0], "step": plain_step, "interpolation": "tetrahedral"})
    assert stored_size(cfg, stored) < stored_size(plain_cfg, plain)


def test_fit_ends_with_a_lattice_when_no_network_meets_the_target():
    pytest.importorskip("torch")
    from lutplug.codec import train

    table = _hard_table()
    result = train.fit(table, recipe={"adam_steps": 30, "qat_steps": 5})
    assert "lattice" in result.config and result.meets()
    lattices = [a for a in result.attempts if a["index"] in (-2, -3)]
    assert lattices and all(a["meets"] for a in lattices)
    from lutplug.codec.compress import attempt_summary

    assert any("no network met the target;" in attempt_summary(a) or "over the identity" in attempt_summary(a)
               for a in lattices)
    assert all("^3 residual lattice (step 1/" in attempt_summary(a) for a in lattices)
    assert not any(a["meets"] for a in result.attempts if a["index"] >= 0)  # no network did
    u, t = train.eval_points(table)
    q = train.evaluate(result.config, result.params, u, t, table)  # direct and baked
    assert train.meets(q) and q["de_max"] == pytest.approx(result.quality["de_max"])


def test_hosts_use_the_cube_of_a_lattice(tmp_path):
    """Nuke: no BlinkScript kernel, the cube baked at the lattice's own grid, a warning saying
    why; GIMP: that cube for either engine (exact); the CLI's shader export: a one-line error,
    no file."""
    from click.testing import CliRunner

    from lutplug.cli import main
    from lutplug.core.formats import read_lut
    from lutplug.hosts.gimp import engine
    from lutplug.hosts.nuke.source import load_source

    path = tmp_path / "hard.nlut"
    n = lattice_nlut(seed=9, grid=6, shaper=True)
    n.save(path)
    assert n.lattice_grid == 6
    x = np.random.default_rng(3).random((2000, 3), dtype=np.float32) * 3
    for choice in ("mlp", "cube"):
        kernel, used = engine.load_source(str(path)).kernel(choice)
        assert used == "6^3 residual lattice (exact)"
        np.testing.assert_allclose(kernel(x), n.apply(x), atol=1e-5)
    got = load_source(str(path), cache_dir=tmp_path / "cache")
    assert got.ok and not got.has_mlp and got.cube_size == 6
    assert "residual lattice" in got.warnings[0] and "engines:   dense cube 6^3" in got.info
    np.testing.assert_allclose(read_lut(got.cube_path).table, n.apply_lattice(6), atol=1e-5)
    result = CliRunner().invoke(main, ["export", str(path), "--glsl", str(tmp_path / "s.glsl")])
    assert result.exit_code == 2 and "residual lattice" in result.output
    assert not (tmp_path / "s.glsl").exists()


@pytest.mark.parametrize("interpolation", ["tetrahedral", "trilinear"])
def test_ocio_and_apply_bake_a_lattice_at_its_grid(tmp_path, interpolation):
    """Hosts that bake a 65³ cube by default bake a residual lattice at its own grid (exact), and
    an OCIO config entry reads it the grade's way (trilinear: OCIO's "linear"): OCIO's pixels
    through the written config equal the grade's own evaluation."""
    ocio = pytest.importorskip("PyOpenColorIO")
    from click.testing import CliRunner

    from lutplug.cli import main
    from lutplug.hosts.ocio.edit import add_grade
    from lutplug.imageio import read_image, write_image
    from tests.test_ocio_host_helpers import COMMENTED

    n = lattice_nlut(seed=10, grid=7, interpolation=interpolation)
    n.description["colorspace"] = {"input": "ACEScct", "output": "ACEScct"}
    assert n.bake_size(65) == 7
    path = tmp_path / "hard.nlut"
    n.save(path)
    show = tmp_path / "show"
    (show / "luts").mkdir(parents=True)
    (show / "config.ocio").write_text(COMMENTED)
    result = add_grade(show / "config.ocio", path, "hard", process_space="cct")  # default size: 65
    assert result.cube.name.endswith("-7" + result.cube.suffix)
    text = (show / "config.ocio").read_text()
    assert f"interpolation: {'linear' if interpolation == 'trilinear' else 'tetrahedral'}" in text
    cfg = ocio.Config.CreateFromFile(str(show / "config.ocio"))
    proc = cfg.getProcessor(ocio.LookTransform("cct", "cct", "hard")).getDefaultCPUProcessor()
    x = np.random.default_rng(4).random((3000, 3)).astype(np.float32)
    got = x.copy().reshape(-1)
    proc.applyRGB(got)
    np.testing.assert_allclose(got.reshape(-1, 3), n.apply(x), atol=2e-5)
    # lutplug apply --engine cube: the same exact cube (a half-float EXR each way; a 65³
    # resample of this 7³ lattice would be ~0.1 off)
    x = x.astype(np.float16).astype(np.float32)
    write_image(tmp_path / "in.exr", x.reshape(50, 60, 3))
    out = CliRunner().invoke(main, ["apply", str(tmp_path / "in.exr"), "-o", str(tmp_path / "out.exr"),
                                    "--lut", str(path), "--engine", "cube"])
    assert out.exit_code == 0, out.output
    np.testing.assert_allclose(read_image(tmp_path / "out.exr")[0].reshape(-1, 3), n.apply(x), atol=2e-3)

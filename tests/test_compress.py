"""End-to-end compression on a small smooth grade (real training, kept small for CI)."""
import numpy as np
import pytest

pytest.importorskip("torch")
from lutplug import LUT3D
from lutplug.codec.compress import compress
from lutplug.codec.nlut import from_bytes
from lutplug.metrics import QUALITY_TARGETS, quality_report


def _smooth_grade(n=9):
    g = np.linspace(0, 1, n)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rgb = np.stack([r, gg, b], -1)
    m = np.array([[0.9, 0.12, -0.02], [0.05, 0.92, 0.03], [-0.04, 0.1, 0.94]])
    graded = np.clip(rgb @ m.T, 0, 1) ** 0.9 * 0.96 + 0.02  # a mild film-ish grade
    return LUT3D(graded.astype(np.float32), title="smooth")


@pytest.fixture(scope="module")
def result():
    # a short recipe keeps CI fast; the default recipe trains ~6x longer
    return compress(_smooth_grade(), budget_bytes=350, seed=3, n_random=20_000,
                    recipe={"adam_steps": 400, "qat_steps": 60, "batch": 4096})


def test_meets_t1_within_budget_and_reports_honestly(result):
    lut = _smooth_grade()
    data = result.nlut.to_bytes()
    assert len(data) < 1500
    decoded = from_bytes(data, "x.nlut")
    # the stored quality equals an independent re-measurement of the decoded file
    again = quality_report(lut, decoded, n_random=20_000, seed=3)
    assert again.de_mean == pytest.approx(result.report.de_mean, rel=1e-6)
    assert decoded.description["quality"]["de_mean"] == pytest.approx(again.de_mean, rel=1e-3)
    assert again.meets(QUALITY_TARGETS["invisible"]) == decoded.description["quality"]["meets_target"]
    assert result.meets_target, result.report.summary()
    prov = decoded.description["provenance"]
    assert prov["grid"] == 9 and prov["settings"]["seed"] == 3


def test_ladder_rungs_grow_in_size():
    # the size search bisects the ladder: every rung must hold more parameters than the one before
    from lutplug.codec import model, train

    sizes = [model.n_params(train.ladder_config(i)) for i in range(len(train.LADDER))]
    assert all(a < b for a, b in zip(sizes, sizes[1:])), sizes
    assert [train.LADDER[i][0] for i in train.FIRST_ROUND] == [[40], [96]]
    assert train.LADDER[train.DEEP_PROBE][0] == [128, 32]


def test_training_is_deterministic_for_a_seed():
    # one short training run of a small model, twice with seed 3 and once with seed 4
    from lutplug.codec import model
    from lutplug.codec.train import train_config

    table = _smooth_grade(5).table
    cfg = model.make_config(hidden=(8,), act="relu", in_curve=8, out_curve=8, skip="linear", center=True)
    recipe = {"adam_steps": 120, "qat_steps": 20, "batch": 1024, "n_random_train": 4000}
    runs = [train_config(table, cfg, recipe, seed=s)[1] for s in (3, 3, 4)]
    assert runs[0].keys() == runs[1].keys()
    for k in runs[0]:
        np.testing.assert_array_equal(runs[0][k], runs[1][k])
    assert any(not np.array_equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_size_search_is_deterministic_and_threads_do_not_change_it():
    # two sizes train at once in threads; the chosen model must not depend on which finishes first
    from lutplug.codec.train import fit

    table = _smooth_grade(5).table
    recipe = {"adam_steps": 60, "qat_steps": 10, "batch": 1024, "n_random_train": 2000}
    runs = [fit(table, seed=1, budget_bytes=400, recipe=recipe, workers=2) for _ in range(2)]
    assert [a["hidden"] for a in runs[0].attempts] == [a["hidden"] for a in runs[1].attempts]
    assert len(runs[0].attempts) >= 2  # more than one size was tried
    for k in runs[0].params:
        np.testing.assert_array_equal(runs[0].params[k], runs[1].params[k])


def test_eval_points_behind_a_shaper_follow_the_input_domain():
    # T1 points are a max(N, 17)³ lattice + uniform points of the INPUT domain; behind a shaper
    # the fit must judge the network where those land in lattice coordinates (closed form: x²)
    from lutplug.codec.train import eval_points, lattice_coords
    from lutplug.core.interpolate import tetrahedral

    table = _smooth_grade(5).table
    u, t = eval_points(table, n_random=1000, seed=5, to_lattice=lambda x: np.asarray(x) ** 2)
    assert u.shape == (17 ** 3 + 1000, 3)
    np.testing.assert_allclose(u[:17 ** 3], lattice_coords(17) ** 2, atol=1e-7)
    rnd = np.random.default_rng(5).random((1000, 3), dtype=np.float32)
    np.testing.assert_allclose(u[17 ** 3:], rnd ** 2, atol=1e-7)
    np.testing.assert_allclose(t, tetrahedral(table, u), atol=1e-6)
    # without a shaper: the table's own nodes, exactly, then the random points
    u0, t0 = eval_points(table, n_random=1000, seed=5)
    np.testing.assert_array_equal(t0[:125], table.reshape(-1, 3))
    np.testing.assert_array_equal(u0[125:], rnd)


def test_compress_hands_the_shaper_and_interpolation_to_the_fit(monkeypatch):
    from lutplug import LUT1D
    from lutplug.codec import compress as compress_module
    from lutplug.codec import train

    x = np.linspace(0.0, 1.0, 64)
    shaper = LUT1D(np.stack([np.sqrt(x)] * 3, -1), -0.5, 3.5)  # input domain -0.5..3.5
    lut = LUT3D(_smooth_grade(5).table, shaper=shaper, interpolation="trilinear")
    seen = {}
    real_fit = train.fit

    def spy(table, **kw):
        seen.update(kw)
        return real_fit(table, **kw)

    monkeypatch.setattr(train, "fit", spy)
    result = compress_module.compress(lut, n_random=2000, budget_bytes=300,
                                      recipe={"adam_steps": 20, "qat_steps": 4})
    probe = np.random.default_rng(0).random((50, 3))
    np.testing.assert_allclose(seen["to_lattice"](probe), lut.lattice_coordinates(-0.5 + 4.0 * probe),
                               atol=1e-6)
    assert compress_module.shaper_map(_smooth_grade(5)) is None
    # a trilinear source: trained and measured against its trilinear reading, and its bake says so
    assert seen["interpolation"] == "trilinear"
    decoded = from_bytes(result.nlut.to_bytes(), "x.nlut")
    assert decoded.interpolation == "trilinear" and decoded.bake(9).interpolation == "trilinear"
    plain = compress_module.compress(_smooth_grade(5), n_random=2000,
                                     recipe={"adam_steps": 20, "qat_steps": 4})
    assert "interpolation" not in plain.nlut.description  # absent means tetrahedral
    assert from_bytes(plain.nlut.to_bytes(), "y.nlut").bake(5).interpolation == "tetrahedral"


def test_fit_targets_follow_the_tables_interpolation():
    from lutplug.codec.train import eval_points
    from lutplug.core.interpolate import tetrahedral, trilinear

    table = np.random.default_rng(2).random((4, 4, 4, 3)).astype(np.float32)  # rough: the two differ
    for name, reference in (("trilinear", trilinear), ("tetrahedral", tetrahedral)):
        u, t = eval_points(table, n_random=500, seed=1, interpolation=name)
        np.testing.assert_array_equal(t[:64], table.reshape(-1, 3))
        np.testing.assert_allclose(t[64:], reference(table, u[64:]), atol=1e-6)
    assert np.abs(trilinear(table, u[64:]) - tetrahedral(table, u[64:])).max() > 0.05


def test_search_seconds_caps_the_rounds_of_the_size_search():
    # the recipe's search_seconds is the modelled time the size search may spend: at 0 it stops
    # after its first round (then the lattice tier); by default it goes on. A noisy 17³ table:
    # no network meets T1, and its lattice bound is large enough to leave the ladder open
    from lutplug.codec.train import fit

    g = np.linspace(0, 1, 17)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    noisy = np.clip(np.stack([r, gg, b], -1) + np.random.default_rng(0).normal(0, 0.05, (17, 17, 17, 3)), 0, 1)
    recipe = {"adam_steps": 20, "qat_steps": 2, "batch": 1024, "n_random_train": 2000}

    def rounds(extra):
        events = []
        result = fit(noisy.astype(np.float32), seed=1, recipe=dict(recipe, **extra), workers=2,
                     progress=events.append)
        assert result.meets()  # the lattice tier
        return sum(e["stage"] == "round" for e in events)

    assert rounds({"search_seconds": 0}) == 1
    assert rounds({}) >= 2

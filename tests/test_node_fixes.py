"""Node corrections ("fix" rows of a network): their closed-form meaning, how the codec chooses
them, and how a .nlut carrying them is checked on load."""
import numpy as np
import pytest

from lutplug import LutError
from lutplug.codec import model
from lutplug.codec.nlut import from_bytes
from lutplug.core.lut import lattice
from tests.nlut_helpers import random_nlut


def _hat_sum(rows: np.ndarray, grid: int, scale: float, u: np.ndarray) -> np.ndarray:
    """Σ_k w_k(u) d_k with w_k the tetrahedral-interpolation weight of node k: the corrections
    scattered into a dense grid and interpolated by lutplug's tetrahedral interpolator (itself
    checked against OCIO), point by point."""
    from lutplug.core.interpolate import tetrahedral

    dense = np.zeros((grid, grid, grid, 3), np.float64)
    for r, g, b, dr, dg, db in rows.astype(np.int64):
        dense[b, g, r] += np.array([dr, dg, db]) * scale
    return tetrahedral(dense.astype(np.float32), np.clip(u, 0, 1))


def test_kuhn_hat_closed_form():
    from lutplug.codec.model import kuhn_hat

    v = np.array([[0, 0, 0], [0.5, 0.5, 0.5], [1, 1, 1], [0.5, 0, 0], [0.5, -0.5, 0], [-0.25, -0.25, 0],
                  [0.25, 0.75, 0.5]], np.float64)
    np.testing.assert_allclose(kuhn_hat(v), [1, 0.5, 0, 0.5, 0, 0.75, 0.25])


def test_corrections_add_the_hat_weighted_sum():
    n = random_nlut(seed=3, act="relu", fourier=0, center=True, hidden=(16,), fixes=20, fix_grid=7)
    plain = {k: v for k, v in n.params.items() if k != "fix"}
    cfg_plain = {k: v for k, v in n.config.items() if k != "fix"}
    rng = np.random.default_rng(0)
    nodes = n.params["fix"][:, :3].astype(np.float32) / 6
    u = np.concatenate([rng.random((3000, 3), dtype=np.float32), nodes,
                        rng.random((200, 3), dtype=np.float32) * 1.4 - 0.2])  # nodes, out-of-range
    got = model.forward_numpy(n.params, n.config, u) - model.forward_numpy(plain, cfg_plain, u)
    want = _hat_sum(n.params["fix"], 7, n.config["fix"]["scale"], u)
    np.testing.assert_allclose(got, want, atol=2e-6)
    # at a corrected node its whole correction applies (a node listed twice: both rows)
    rows = n.params["fix"].astype(np.float64)
    same = np.all(rows[:, :3] == rows[1, :3], axis=1)
    assert same[-1]
    np.testing.assert_allclose(got[3000 + 1], rows[same, 3:].sum(0) * 0.002, atol=2e-6)


def test_add_fixes_repairs_spiked_nodes():
    from lutplug.codec import train

    # an affine network (no hidden contribution, no curves): tetrahedral interpolation of its own
    # lattice reproduces it exactly, so the only errors are the spikes added to three nodes
    n = random_nlut(seed=11, act="relu", fourier=0, curves=0, center=True, hidden=(16,))
    n.params = {k: (np.zeros_like(v) if k.startswith("W1") else v) for k, v in n.params.items()}
    n.params["A.q"] = np.array([[60, 10, 0], [5, 50, 10], [0, 10, 55]], np.int8)
    n.params["A.s"] = np.float16(0.01)
    n.params["c.q"] = np.array([20, 15, 10], np.int8)
    n.params["c.s"] = np.float16(0.01)
    size = 9
    table = model.forward_numpy_lattice(n.params, n.config, size).copy()
    spikes = [(1, 2, 3), (8, 8, 8), (4, 0, 7)]  # (r, g, b)
    for k, (r, g, b) in enumerate(spikes):
        table[b, g, r] += [0.03, -0.02, 0.01 * (k + 1)]
    u, t = train.eval_points(table, n_random=20000)
    before = train.evaluate(n.config, n.params, u, t, table)
    assert before["de_max"] > 3.0 and before["de_mean"] < 0.1
    cfg, stored, q = train.add_fixes(n.config, n.params, table, u, t, limit=16)
    assert train.meets(q) and q["de_max"] < 0.5 * before["de_max"]
    fixed = {tuple(int(v) for v in row[:3]) for row in stored["fix"]}
    assert set(spikes) <= fixed
    baked = model.forward_numpy_lattice(stored, cfg, size)
    for r, g, b in spikes:
        assert np.abs(baked[b, g, r] - table[b, g, r]).max() < 0.01


def test_round_trip_and_hostile_corrections(tmp_path):
    n = random_nlut(seed=5, act="relu", fourier=0, hidden=(8,), fixes=6)
    path = tmp_path / "f.nlut"
    n.save(path)
    back = from_bytes(path.read_bytes())
    x = lattice(5)
    np.testing.assert_array_equal(back.apply(x), n.apply(x))

    def refused(change, message):
        m = random_nlut(seed=5, act="relu", fourier=0, hidden=(8,), fixes=6)
        change(m)
        with pytest.raises(LutError, match=message):
            from_bytes(m.to_bytes())

    refused(lambda m: m.params.__setitem__("fix", np.full((6, 6), 9, np.int8)), "outside their grid")
    refused(lambda m: m.params.__setitem__("fix", m.params["fix"].astype(np.float16)), "fix must be int8")
    refused(lambda m: m.params.__setitem__("fix", m.params["fix"][:5]), "shape")
    refused(lambda m: m.config["fix"].__setitem__("scale", -1.0), "positive")
    refused(lambda m: m.config["fix"].__setitem__("grid", 300), "out of range")
    refused(lambda m: m.config["fix"].__setitem__("extra", 1), "exactly")


def test_tiny_table_is_stored_as_its_lattice():
    """A 3³ table is stored as the identity network plus its own nodes, with no training: both
    forms are tried (a correction at every node; the residual lattice of the lattice bound) and
    the smaller is kept. Evaluating it is tetrahedral interpolation of the table, up to the
    quantisation step of the stored nodes."""
    pytest.importorskip("torch")
    from lutplug.codec import train
    from lutplug.core.interpolate import tetrahedral

    g = np.linspace(0, 1, 3, dtype=np.float32)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rgb = np.stack([r, gg, b], -1)
    table = (np.clip(rgb @ np.array([[0.8, 0.2, 0.0], [0.1, 0.7, 0.2], [0.0, 0.3, 0.9]], np.float32).T, 0, 1)
             ** 0.8).astype(np.float32)
    result = train.fit(table, recipe={"adam_steps": 10, "qat_steps": 2})
    tried = {a["index"]: a for a in result.attempts}
    assert set(tried) == {-1, -3}  # node corrections and the lattice bound; no network trained
    assert tried[-1]["fixes"] == 27 and tried[-3]["lattice"]["grid"] == 3
    assert result.meets() and result.stored_bytes == min(a["stored_bytes"] for a in tried.values())
    stored_as = result.config.get("lattice") or result.config["fix"]
    assert stored_as["grid"] == 3
    step = stored_as.get("step", stored_as.get("scale"))
    u = np.random.default_rng(1).random((5000, 3), dtype=np.float32)
    got = model.forward_numpy(result.params, result.config, u)
    np.testing.assert_allclose(got, tetrahedral(table, u), atol=step * 0.5 + 1e-6)


@pytest.mark.parametrize("size, fix_grid, workers", [(7, 7, 1), (7, 7, 2), (13, 7, 1), (13, 7, 2), (4, 7, 1),
                                                    (9, 3, 2)])
def test_lattice_evaluator_applies_corrections(size, fix_grid, workers):
    """The lattice evaluator (own path at the corrections' grid; else per-axis cell search, every
    cell touched on a 3³ grid) equals the per-point forward pass at the lattice nodes, on 1 or 2
    threads."""
    n = random_nlut(seed=4, act="relu", fourier=0, center=True, hidden=(16,), fixes=30, fix_grid=fix_grid)
    fast = model.forward_numpy_lattice(n.params, n.config, size, workers=workers)
    ref = model.forward_numpy(n.params, n.config, lattice(size)).reshape(size, size, size, 3)
    np.testing.assert_allclose(fast, ref, atol=1e-5)


def test_lattice_evaluator_gives_the_same_bits_on_any_thread_count():
    # BLAS held to one thread in every slice: 1, 2 or 3 workers compute each slice identically
    pytest.importorskip("threadpoolctl")
    n = random_nlut(seed=5, act="relu", fourier=0, center=True, hidden=(24, 8), fixes=12, fix_grid=5)
    runs = [model.forward_numpy_lattice(n.params, n.config, 17, workers=w) for w in (1, 2, 3)]
    assert all(np.array_equal(runs[0], r) for r in runs[1:])


def test_lattice_evaluator_stays_on_one_thread_without_threadpoolctl(monkeypatch):
    # BLAS threads inside each product plus slice threads oversubscribe the cores: without
    # threadpoolctl to hold BLAS to one thread, the evaluator starts no threads of its own
    import concurrent.futures
    import sys

    def no_pool(*args, **kwargs):
        raise AssertionError("a thread pool was started")

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import raises ImportError
    from lutplug.codec.model import bake

    monkeypatch.setattr(bake, "_BLAS", [])  # forget a controller made by an earlier test
    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", no_pool)
    n = random_nlut(seed=4, act="relu", fourier=0, center=True, hidden=(16,), fixes=30, fix_grid=7)
    fast = model.forward_numpy_lattice(n.params, n.config, 9, workers=4)
    ref = model.forward_numpy(n.params, n.config, lattice(9)).reshape(9, 9, 9, 3)
    np.testing.assert_allclose(fast, ref, atol=1e-5)


def test_corrections_solved_from_normal_equations_equal_dense_least_squares():
    # the sparse normal-equation solve must give numpy's dense weighted least-squares answer
    from lutplug.codec import train

    rng = np.random.default_rng(0)
    n, m, k = 9, 6000, 80
    u = rng.random((m, 3))
    u[:n ** 3] = train.lattice_coords(n)
    corners, weights = train.cell_corners(u, n)
    column = np.full(n ** 3, -1)
    column[rng.choice(n ** 3, k, replace=False)] = np.arange(k)
    cols = column[corners]
    row_weight = np.where(np.arange(m) < n ** 3, 4.0, 1.0)
    resid = rng.normal(size=(m, 3))
    got = train.solve_corrections(cols, weights, row_weight, resid, k)
    design = np.zeros((m, k))
    for j in range(8):
        hit = cols[:, j] >= 0
        design[np.flatnonzero(hit), cols[hit, j]] += weights[hit, j]
    sw = np.sqrt(row_weight)[:, None]
    want = np.linalg.lstsq(design * sw, resid * sw, rcond=None)[0]
    np.testing.assert_allclose(got, want, atol=1e-7)

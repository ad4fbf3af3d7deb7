"""Stage looks of a look pack (lutplug/codec/stage.py, pack_family.py): a family of looks — one
tone curve seen through different camera log curves and primaries — stored as one base look plus
an input stage per look; looks the base cannot serve keep their own network.

The family is written here in closed form (a log decode, a 3×3 mix in linear light, a shared
Reinhard tone scale with clips), so every expectation is checked against the formula's tables."""
import numpy as np
import pytest

from lutplug.codec import stage as S
from lutplug.codec.pack import read_pack
from lutplug.core.interpolate import tetrahedral
from lutplug.core.lut import LUT3D, lattice
from lutplug.errors import LutError
from lutplug.metrics import T1, quality_report

pytest.importorskip("torch")

from lutplug.codec.pack_family import add_to_family, build_family, stage_params  # noqa: E402
from lutplug.codec.pack_train import LookInput  # noqa: E402
from lutplug.codec.stage_train import fit_stages  # noqa: E402
from lutplug.codec.train.lattice_tier import node_de  # noqa: E402

N = 17
QUICK = {"adam_steps": 100, "qat_steps": 20, "search_seconds": 4}
MIXES = {
    "cam_a": (10.0, 0.40, np.eye(3)),
    "cam_b": (12.0, 0.45, [[0.85, 0.12, 0.03], [0.05, 0.90, 0.05], [0.02, 0.10, 0.88]]),
    "cam_c": (8.0, 0.35, [[1.10, -0.08, -0.02], [-0.04, 1.06, -0.02], [0.0, -0.1, 1.1]]),
    "cam_d": (11.0, 0.42, [[0.95, 0.05, 0.0], [0.02, 0.96, 0.02], [0.0, 0.05, 0.95]]),
    "cam_e": (9.0, 0.38, [[0.9, 0.0, 0.1], [0.0, 1.0, 0.0], [0.05, 0.05, 0.9]]),
    "cam_f": (10.2, 0.41, [[0.97, 0.02, 0.01], [0.01, 0.97, 0.02], [0.02, 0.02, 0.96]]),
}


def family_table(slope: float, offset: float, mix) -> np.ndarray:
    """(N, N, N, 3) float32: 2^(slope (u - offset)) mixed by ``mix``, through one tone scale."""
    light = 2.0 ** (slope * (lattice(N).astype(np.float64) - offset))
    m = np.clip(light @ np.asarray(mix, np.float64).T, 0, None)
    t = m / (m + 0.6)
    t = t + 0.15 * (t.mean(axis=1, keepdims=True) - t)
    y = np.clip(1.2 * t - 0.05, -0.1, 1.0)
    return np.where(y > 0.8, 0.8 + 0.5 * (y - 0.8), y).reshape(N, N, N, 3).astype(np.float32)


def look(name: str, table: np.ndarray) -> LookInput:
    return LookInput(name, LUT3D(table, title=name), {"title": name, "grid": N})


@pytest.fixture(scope="module")
def family():
    return [look(name, family_table(*args)) for name, args in MIXES.items()]


@pytest.fixture(scope="module")
def built(family):
    """A pack of the first four looks read through cam_a (the sixth is added by a test)."""
    return build_family(family[:4], recipe=QUICK, steps=400, base="cam_a")


def test_the_stage_maths_are_what_the_format_describes():
    u = np.random.default_rng(0).random((500, 3), dtype=np.float32)
    look_params = {"a": np.stack([np.linspace(0.1, 0.9, S.KNOTS)] * 3).astype(np.float32),
                   "M": np.asarray(MIXES["cam_b"][2], np.float32)}
    curve = np.stack([np.linspace(S.CURVE_LO, S.CURVE_HI, S.CURVE_KNOTS)] * 3).astype(np.float32)
    e = 0.1 + 0.8 * u  # A is linear here: its value at u
    m = (0.01 * np.sinh(e * np.arcsinh(222 / 0.01))) @ look_params["M"].T
    v = np.clip(np.arcsinh(m / 0.01) / np.arcsinh(222 / 0.01), 0, 1)  # C is the identity here
    assert np.allclose(S.stage_coords(look_params, curve, u), v, atol=2e-5)
    assert np.allclose(S.log_decode(S.log_encode(np.float32([0.0, 0.18, 5.0, -0.3]))), [0, 0.18, 5, -0.3],
                       rtol=1e-4, atol=1e-6)


def test_the_base_is_the_look_the_others_sit_close_to(family):
    from lutplug.codec.pack_family import RELATED, affinity, choose_base

    tables = [inp.lut.table for inp in family]
    rng = np.random.default_rng(3)
    wild = [np.clip(tetrahedral(rng.random((3, 3, 3, 3)).astype(np.float32), lattice(N)), 0, 1).reshape(N, N, N, 3)
            for _ in range(3)]
    b, related = choose_base(tables + wild, [1000] * (len(tables) + len(wild)))
    assert b < len(tables) and all(affinity(tables[b], (tables + wild)[j]) < RELATED for j in related)
    assert not set(related) & {len(tables), len(tables) + 1, len(tables) + 2}


def test_free_nodes_are_those_clipped_alike_with_all_neighbours():
    target = np.full((5, 5, 5, 3), -0.5, np.float32)
    pred = np.full_like(target, -0.1)
    target[2, 2, 4] = 0.5  # one node inside the display range: its neighbours are not free
    free = S.free_nodes(target, pred)
    assert free[0, 0, 0].all() and not free[2, 2, 3].any() and not free[2, 2, 4].any()
    q = S.residual(target, pred, 2 ** -6)
    assert (q[free] == 0).all() and q[2, 2, 3].any()


def test_a_family_becomes_stage_looks_that_meet_t1_and_beat_their_own_networks(built, family):
    kinds = {lk.name: lk.kind for lk in built.looks}
    assert built.stage_base == "cam_a" and kinds["cam_a"] == "solo"
    assert list(kinds.values()).count("stage") >= 1
    for inp in family[:4]:
        extracted = built.extract(inp.name)
        report = quality_report(inp.lut, extracted.bake(extracted.bake_size(N)))  # as hosts bake it
        assert report.meets(T1), (inp.name, report.summary())
        assert built.look(inp.name).meets_target


def test_a_stage_pack_round_trips_through_its_bytes(built):
    again = read_pack(built.to_bytes())
    assert again.stage_base == built.stage_base
    assert np.array_equal(again.stage_curve, built.stage_curve)
    u = np.random.default_rng(1).random((2000, 3), dtype=np.float32)
    for lk in built.looks:
        assert np.array_equal(again.extract(lk.name).apply(u), built.extract(lk.name).apply(u))


def test_adding_a_look_keeps_the_base_and_the_other_looks(built, family):
    grown = add_to_family(built, family[5:], recipe=QUICK, steps=400)
    assert grown.stage_base == built.stage_base and np.array_equal(grown.stage_curve, built.stage_curve)
    u = np.random.default_rng(2).random((1000, 3), dtype=np.float32)
    for lk in built.looks:
        assert np.array_equal(grown.extract(lk.name).apply(u), built.extract(lk.name).apply(u))
    new = grown.look("cam_f")
    assert new.meets_target
    # baked as hosts bake it (a solo look's coarse residual lattice at its own grid), judged at the
    # T1 protocol's points (the pack's verdict; a 20k-point subset can tip a look at the limit)
    extracted = grown.extract("cam_f")
    report = quality_report(family[5].lut, extracted.bake(extracted.bake_size(N)))
    assert report.meets(T1), report.summary()


def test_an_unrelated_look_keeps_its_own_network(built):
    rng = np.random.default_rng(5)
    wild = np.clip(tetrahedral(rng.random((4, 4, 4, 3)).astype(np.float32), lattice(N)), 0, 1)
    grown = add_to_family(built, [look("wild", wild.reshape(N, N, N, 3))], recipe=QUICK, steps=200)
    assert grown.look("wild").kind == "solo"


def test_corrections_reach_the_target_whatever_the_stage(family):
    base = family[0].lut.table
    curve, fitted = fit_stages(base, [family[1].lut.table], steps=5)  # barely fitted
    found = stage_params(base, curve, fitted[0], family[1].lut, T1)
    assert found is not None
    params, step = found
    pred = S.predicted_nodes(base, {k: params[k].astype(np.float32) for k in ("a", "M")}, curve, N)
    nodes = S.extracted_nodes(S.look_nodes(pred, step, params["lattice"]), step)
    assert quality_report(family[1].lut, LUT3D(nodes)).meets(T1)  # on the points its report uses


def test_corrections_leave_nodes_the_target_does_not_need(family):
    """The corrections skip nodes predicted close enough (a ΔE00 floor): fewer nonzero and fewer
    bytes than correcting every node off by half a step, at the same step."""
    import zlib

    base = family[0].lut.table
    curve, fitted = fit_stages(base, [family[3].lut.table], steps=30)
    params, step = stage_params(base, curve, fitted[0], family[3].lut, T1)
    pred = S.predicted_nodes(base, {k: params[k].astype(np.float32) for k in ("a", "M")}, curve, N)
    every = S.residual(family[3].lut.table, pred, step)
    assert np.count_nonzero(params["lattice"]) < np.count_nonzero(every)
    assert len(zlib.compress(params["lattice"].tobytes(), 9)) < len(zlib.compress(every.tobytes(), 9))
    kept = (params["lattice"] == 0).all(axis=-1) & (every != 0).any(axis=-1)
    assert node_de(family[3].lut.table, pred)[kept].max() < 3.0  # left only where T1's max allows


def test_hostile_stage_packs_are_refused(built):
    from lutplug.codec import container
    from lutplug.codec.pack import FRAMING

    data = built.to_bytes()
    c = container.decode(data, "x", FRAMING)
    desc, tensors = c.description, dict(c.tensors)
    i = next(j for j, r in enumerate(desc["looks"]) if r["kind"] == "stage")

    def refused(d, t, match):
        with pytest.raises(LutError, match=match):
            read_pack(container.encode(t, d, FRAMING))

    refused({**desc, "stage": {**desc["stage"], "base": "nobody"}}, tensors, "does not hold")
    bad = [dict(r) for r in desc["looks"]]
    bad[i]["step"] = 0
    refused({**desc, "looks": bad}, tensors, "step")
    refused(desc, {**tensors, f"stage.{i}.M": tensors[f"stage.{i}.M"].astype(np.float32)}, "float16")
    refused(desc, {k: v for k, v in tensors.items() if k != "stage.curve"}, "stage.curve")
    nan = tensors[f"stage.{i}.a"].copy()
    nan[0, 0] = np.nan
    refused(desc, {**tensors, f"stage.{i}.a": nan}, "NaN")


def test_the_cli_builds_a_stage_pack_by_default(family, tmp_path):
    import json

    from click.testing import CliRunner

    from lutplug.cli import main
    from lutplug.codec.nlut import load_nlut
    from lutplug.core.formats import write_lut

    for inp in family[:2]:
        write_lut(inp.lut, tmp_path / f"{inp.name}.cube")
    out = tmp_path / "family.nlutpack"
    runner = CliRunner()
    r = runner.invoke(main, ["pack", "build", str(tmp_path), "-o", str(out), "--recipe", json.dumps(QUICK)])
    assert r.exit_code == 0, r.output
    listing = json.loads(runner.invoke(main, ["pack", "list", str(out), "--json"]).output)
    assert listing["adapter"] is None and [lk["name"] for lk in listing["looks"]] == ["cam_a", "cam_b"]
    r = runner.invoke(main, ["pack", "extract", str(out), "cam_b", "-o", str(tmp_path / "b.nlut")])
    assert r.exit_code == 0, r.output
    assert quality_report(family[1].lut, load_nlut(tmp_path / "b.nlut")).meets(T1)  # the points its recorded quality uses

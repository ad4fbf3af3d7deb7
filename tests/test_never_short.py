"""Never short of the target: the size search accepts a candidate only once the compressed grade
meets the target on the very points its final report uses (``lutplug.codec.judge``); a candidate
that passes on the search's own points but misses between them falls through."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
from lutplug import LUT3D
from lutplug.codec import compress as compress_mod
from lutplug.codec.train import points, search
from lutplug.core.lut import lattice
from lutplug.metrics import QUALITY_TARGETS, compare_outputs, evaluation_points

T1 = QUALITY_TARGETS["invisible"]
FAST = {"adam_steps": 150, "qat_steps": 20}


def saddle_table(n: int = 5) -> LUT3D:
    """A table read trilinearly whose red output is a saddle of red and green: exact at the nodes
    for any reading, but between them the tetrahedral reading of the same nodes is far off
    (trilinear reproduces r·g exactly; tetrahedral splits each cell into planes)."""
    x = lattice(n).reshape(n, n, n, 3).astype(np.float64)  # [b, g, r] nodes, R fastest
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    out = np.stack([0.5 + 4.0 * (r - 0.5) * (g - 0.5), g, b], axis=-1)
    return LUT3D(out.astype(np.float32), interpolation="trilinear")


def test_the_saddle_fools_points_on_the_nodes():
    """Independent check of the construction: on the table's nodes its tetrahedral reading is
    exact, on the report's points (17³ lattice + random) it misses T1 by far."""
    lut = saddle_table()
    tetra = LUT3D(lut.table, interpolation="tetrahedral")
    nodes = lattice(5)
    assert compare_outputs(lut.apply(nodes), tetra.apply(nodes)).de_max == 0
    x = evaluation_points(lut, n_random=20_000)
    assert compare_outputs(lut.apply(x), tetra.apply(x)).de_max > 2 * T1.de_max


def test_a_candidate_missing_between_the_search_points_is_not_accepted(monkeypatch):
    lut = saddle_table()

    def nodes_only(table, n_random=0, seed=0, to_lattice=None, interpolation="tetrahedral"):
        # the search's own points reduced to the table's nodes: the max error sits between them
        return points.eval_points(table, 0, seed, to_lattice, interpolation)

    monkeypatch.setattr(search, "eval_points", nodes_only)
    result = compress_mod.compress(lut, target=T1, recipe=FAST)
    attempts = result.attempts
    # the first candidate, the identity with a tetrahedral correction at every node, met the
    # target on the nodes and was refused by the report's points
    tiny = next(a for a in attempts if a["index"] == -1)
    assert tiny["de_max"] <= T1.de_max and not tiny["meets"]
    assert any(a.get("refused_by_report") for a in attempts)
    assert result.meets_target and result.report.meets(T1)
    # what was accepted reads the table trilinearly, as it is meant to be read
    assert result.nlut.interpolation == "trilinear" or result.nlut.lattice_grid is None
    x = evaluation_points(lut, n_random=200_000)
    assert compare_outputs(lut.apply(x), result.nlut.apply(x)).meets(T1)

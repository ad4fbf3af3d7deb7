"""The check every compressed grade must pass before the codec accepts it: its T1 report against
the source LUT on the report's own points, evaluated directly and as the cube hosts bake from it.

The size search (:func:`lutplug.codec.train.fit`) measures candidates on its own points (table
nodes and seeded random points) to choose and repair them; a candidate is only *accepted* once this
judge — the very computation :func:`lutplug.codec.compress.compress` reports — says it meets the
target, so a written file never falls short of the figures it claims.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from lutplug.codec.nlut import NeuralLUT
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.metrics import QualityReport, compare_outputs, evaluation_points


class ReportJudge:
    """The report's points of ``lut`` (every node of a max(N, 17)³ lattice over the input domain
    and ``n_random`` points seeded ``seed``, :func:`lutplug.metrics.evaluation_points`) and the
    LUT's outputs there, computed once; candidates are (config, stored params) of a network over
    the LUT's domain behind ``shaper`` (the shaper the .nlut will store)."""

    def __init__(self, lut: LUT3D, shaper: Optional[LUT1D], n_random: int = 200_000, seed: int = 0):
        self.lut = lut
        self.shaper = shaper
        self.points = evaluation_points(lut, None, n_random, seed)
        self.reference = lut.apply(self.points)

    def nlut(self, config: dict, stored: Dict[str, np.ndarray]) -> NeuralLUT:
        """The candidate as the .nlut decoder will see it."""
        return NeuralLUT(config, stored, self.lut.domain_min, self.lut.domain_max, self.shaper,
                         {"provenance": {"grid": self.lut.size}})

    def report(self, nlut: NeuralLUT) -> QualityReport:
        """The T1 report of ``nlut`` evaluated directly (what ``compress`` records)."""
        return compare_outputs(self.reference, nlut.apply(self.points))

    def baked_report(self, nlut: NeuralLUT) -> Optional[QualityReport]:
        """The T1 report of the cube hosts bake from ``nlut`` (at its bake size for the source's
        grid, read with its interpolation), or None where that cube is the network itself (a
        residual lattice baked at its own grid)."""
        size = nlut.bake_size(self.lut.size)
        if nlut.lattice_grid == size:
            return None
        return compare_outputs(self.reference, nlut.bake(size).apply(self.points))

    def __call__(self, config: dict, stored: Dict[str, np.ndarray]) -> Dict[str, float]:
        """The worse of the direct and baked figures of a candidate (ΔE00 mean/p95/p99/max,
        PSNR), as a dict."""
        nlut = self.nlut(config, stored)
        direct = self.report(nlut).as_dict()
        baked = self.baked_report(nlut)
        if baked is None:
            return direct
        b = baked.as_dict()
        return {k: (min if k == "psnr" else max)(direct[k], b[k]) for k in ("de_mean", "de_p95", "de_p99",
                                                                         "de_max", "psnr")}

"""Fit a tiny per-pixel MLP (+ per-channel curves) to a 3D LUT, quantised, smallest that meets
the quality targets.

Public API: :func:`fit` -> :class:`FitResult`. Modules: :mod:`.recipe` (settings, ladder),
:mod:`.points` (training and evaluation points), :mod:`.loss` (torch loss), :mod:`.single` (one
architecture), :mod:`.scoring` (T1 figures of a stored network), :mod:`.fixes` (node
corrections), :mod:`.lattice_tier` (residual lattice), :mod:`.search` (the size search).

Recipe (see ``FIT_RECIPE``/``DEFAULT_RECIPE``/``LADDER``):

* training set: all lattice nodes (at most 40k, subsampled beyond) + 60k seeded uniform random
  points, targets by the table's own interpolation (tetrahedral, or trilinear where the file asks);
* loss: linearised CIEDE2000 around the target (exact ΔE2000 weights at the target, sRGB->Lab
  Jacobian), ``mean(dE) + 1.0 * mean(dE^4)^(1/4) + 1e4 * RGB MSE``, prediction clipped to
  [0,1] with a straight-through gradient;
* Adam, one-cycle cosine schedule (max lr 3e-2), 2500 steps of 4096 random samples, then 300
  steps of quantisation-aware training (int8, per-tensor float16 scale; curves per channel) at
  lr 2e-3; the stored model is the int8 one and quality is measured on it;
* size search over ``LADDER`` (1 hidden layer [4]..[96], then 2 layers up to [256, 64]): each
  round trains two sizes at once (two threads of one torch thread each on CPU), the first round
  bracketing [64]; a spare thread trains the smallest open size from other initial weights; an
  attempt whose ΔE mean at 40% of its steps is > 4x the target is abandoned; no new round
  after ``FIT_CPU_LIMIT`` CPU seconds;
* a trained size that misses the target narrowly (:func:`worth_fixing`) gets node corrections
  (:func:`add_fixes`): the worst lattice nodes of the source grid corrected, tetrahedrally
  interpolated like the table itself, by least squares — what repairs the few sharp cells of a
  creative grade that no small MLP follows;
* a table of at most 5³ nodes is first tried as the identity network plus a correction at every
  node (:func:`lattice_only`), which needs no training.

Quality (T1) is measured on the DEQUANTISED model over all lattice nodes + 200,000 seeded
uniform random points of [0,1]^3 (behind a shaper: a max(N, 17)³ lattice + 200,000 uniform points
of the input domain, mapped through it — the T1 protocol's points) against the original table
read with its interpolation; both outputs clipped to [0,1], read as sRGB display values -> XYZ
(D65) -> Lab, ΔE2000; PSNR on the clipped RGB (peak 1); the same again for the network baked to
the table's own grid (read the same way between the baked nodes), and the worse of each figure
counts.
"""

from lutplug.codec.train.fixes import (FIX_MAX_GRID, FIX_ROUNDS, LATTICE_ONLY_NODES, add_fixes, cell_corners,
                                       fix_limit, identity_network, lattice_only, solve_corrections,
                                       worth_fixing)
from lutplug.codec.train.lattice_tier import LATTICE_MAX_GRID, LATTICE_STEPS, lattice_tier
from lutplug.codec.train.points import (EVAL_RANDOM_POINTS, EVAL_SEED, INTERPOLATORS, ToLattice, eval_points,
                                        lattice_coords, train_data)
from lutplug.codec.train.recipe import (BASE_ARCH, DEFAULT_RECIPE, FIT_RECIPE, LADDER, T1_LIMITS, ladder_config,
                                        quant_config)
from lutplug.codec.train.scoring import badness, evaluate
from lutplug.codec.train.search import (ABORT_RATIO, DEEP_PROBE, FIRST_ROUND, FIT_CPU_LIMIT, SEARCH_SECONDS,
                                        FitResult, fit)
from lutplug.codec.train.single import train_config
from lutplug.metrics import measure, meets

__all__ = ["ABORT_RATIO", "BASE_ARCH", "DEFAULT_RECIPE", "EVAL_RANDOM_POINTS", "EVAL_SEED", "FIT_CPU_LIMIT",
           "FIT_RECIPE", "FIX_MAX_GRID", "FIX_ROUNDS", "INTERPOLATORS", "LADDER", "LATTICE_MAX_GRID",
           "LATTICE_ONLY_NODES", "LATTICE_STEPS", "FIRST_ROUND", "DEEP_PROBE", "SEARCH_SECONDS", "T1_LIMITS", "FitResult", "ToLattice",
           "add_fixes", "badness", "cell_corners", "eval_points", "evaluate", "fit", "fix_limit",
           "identity_network", "lattice_coords", "lattice_only", "lattice_tier", "ladder_config", "measure",
           "meets", "quant_config", "solve_corrections", "train_config", "train_data", "worth_fixing"]

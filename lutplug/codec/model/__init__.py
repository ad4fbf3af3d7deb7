"""The neural-LUT network: pure functions (torch and numpy twins) + a thin nn.Module.

Network (every stage optional, driven by ``config``)::

    u (M,3) RGB in [0,1] (lattice coordinates of the original 3D table; clamped)
    x = u + C_in(u)                      # per-channel input curves (residual, PWL, uniform knots)
    f = [x, sin(pi*2^k*x), cos(pi*2^k*x) for k < F]   # optional Fourier features
    f = [f, max(x_r,x_g,x_b), min(x_r,x_g,x_b)]         # optional "minmax" inputs
    f = 2 f - 1                          # optional "center"
    h = act(W_i h + b_i) for each hidden layer           # MLP
    y = A x + c + W_o h + b_o            # skip: "identity" (A=I, c=0), "linear" (A, c learned) or "none"
    y = y + C_out(clamp(y, 0, 1))        # per-channel output curves (residual, PWL)
    y = y + sum_k hat_k(u) * d_k         # optional node corrections (below)

``config`` (JSON-able)::

    {"format": "lutplug-mlp", "version": 1,
     "in_curve": K_in,           # knots per channel, 0 = none; params "cin" (3, K_in)
     "fourier": F,               # frequency count, 0 = none
     "minmax": bool,             # append max and min of the (curved) rgb to the MLP input
     "center": bool,             # MLP input is 2*f - 1 (applied after fourier/minmax)
     "hidden": [w1, w2, ...],    # params "W0","b0",...,"W{L}","b{L}" (W shape (out, in), y = x @ W.T + b)
     "act": "relu" | "silu" | "tanh" | "sin",
     "skip": "identity" | "linear" | "none",   # "linear": params "A" (3,3), "c" (3,)
     "out_curve": K_out,         # 0 = none; params "cout" (3, K_out)
     "quant": {name: {"bits": b, "mode": "tensor"|"row"}},  # informational
     "fix": {"grid": N, "count": K, "scale": s},  # optional node corrections; param "fix" int8 (K, 6)
     "lattice": {"grid": N, "step": s, "interpolation": "tetrahedral" | "trilinear"}
                                 # optional residual lattice; param "lattice" int8/int16 (N, N, N, 3)
    }

Node corrections ("fix"): K rows ``(r, g, b, dr, dg, db)`` of int8 — a node of the N³ lattice
over [0,1]³ (0 <= r,g,b <= N-1) and its correction ``d = (dr, dg, db) * s``, added with the weight
``hat_k(u) = max(0, 1 - max(0, v) + min(0, v))``, ``v = u (N-1) - node`` (max/min over the three
components) of the clamped input ``u``: a sparse residual lattice at the source table's grid,
interpolated tetrahedrally (the Kuhn triangulation's hat, :func:`kuhn_hat`) — exact at the
corrected nodes, 0 from their neighbours on. Rows add up (a node listed twice gets both).

Residual lattice ("lattice"): the function becomes a dense N³ table read with ``interpolation``
between its nodes, whose node values are the network's (everything above) corrected by the
stored integers ``Q`` (``[b, g, r, c]``, R fastest) in a log-compressed space::

    node = hdr_decode(hdr_encode(y(node coordinates)) + s * Q)
    hdr_encode(v) = v (v <= 1), 1 + ln v (v > 1);  hdr_decode its inverse

so that a value beyond display white costs bits in proportion to its logarithm. N is any grid: the
size search (``train.lattice_tier``) stores a table as the identity plus a residual lattice on
the coarsest grid meeting the target when that beats every network, and a trained network plus
a lattice on the table's own grid when no network meets the target (film print emulations,
inverse transforms, LMTs with a shaper).

``params`` may be float arrays keyed by name, or the stored form (``name.q`` int8 + ``name.s``
float16 scales, see :mod:`lutplug.codec.quantize`); both forward functions accept either.

Ops used (for GLSL / BlinkScript ports): clamp, floor, 1D linear interpolation between
uniformly spaced knots, multiply-add, sin/cos (Fourier features, "sin" act), relu/silu/tanh,
max/min, small dense matrix-vector products.

PWL curve semantics (both curves): knots at k/(K-1), k = 0..K-1; the curve input is clamped to
[0,1]; i = min(floor(t*(K-1)), K-2); value = c[i] + (c[i+1]-c[i]) * (t*(K-1) - i); the curve
value is ADDED to its input (residual form). For the output curve the lookup uses clamp(y,0,1)
but the value is added to the unclamped y.

What fit() currently produces: act "relu", skip "linear", center true, fourier 0, minmax false,
hidden = one or two layers and in_curve = out_curve = 8 or 16 knots (see train.LADDER); all
tensors int8 with a float16 scale per tensor (curves: one scale per channel row); node
corrections when the network alone narrowly misses its target, or at every node of a table of at
most 5³ (train.add_fixes); a residual lattice over the identity when a coarse grid beats every
network, or over a network when none meets the target (train.lattice_tier).
"""
from lutplug.codec.model.config import FORMAT, describe, init_params, make_config, n_params, param_shapes
from lutplug.codec.model.lattice import (corrected_nodes, forward_numpy, forward_numpy_lattice, hdr_decode,
                                         hdr_encode, lattice_nodes, lattice_read, residual_ints,
                                         residual_steps, without_lattice)
from lutplug.codec.model.numpy_net import kuhn_hat
from lutplug.codec.model.torch_net import forward, lattice_nodes_t, lattice_read_t, torch_module

__all__ = ["FORMAT", "corrected_nodes", "describe", "forward", "forward_numpy", "forward_numpy_lattice",
           "hdr_decode", "hdr_encode", "init_params", "kuhn_hat", "lattice_nodes", "lattice_nodes_t",
           "lattice_read", "lattice_read_t", "make_config", "n_params", "param_shapes", "residual_ints",
           "residual_steps", "torch_module", "without_lattice"]

"""BlinkScript kernel source for a .nlut's network (Nuke's BlinkScript node: GPU, or CPU without one).

:func:`kernel_source` walks the network configuration exactly like the GLSL emitter
(:mod:`lutplug.codec.glsl`) and the numpy twin (:func:`lutplug.codec.model.forward_numpy`): optional
shaper, input domain, per-channel input curves, Fourier features, centring, the MLP with its
activation, the skip path and the output curves. Every option is generated from the config, so a
network of any shape allowed by the .nlut reader produces a kernel.

The weights are constants of the kernel: ``local:`` arrays filled once in ``init()``, so the kernel
has no parameters and the BlinkScript node needs nothing but its ``kernelSource``. A pixel's RGB
goes through the network; alpha (and a fourth component of any kind) passes through unchanged.

Only a small, conservative part of the Blink language is used — scalar ``float``/``int``
arithmetic, fixed-size arrays, ``for`` loops, kernel member functions, ``sin``/``cos``/``exp`` and
C-style casts — and array indices are clamped so that no input (NaN or infinite pixels included)
can read outside an array. The tests compile the generated source with g++ against a shim of those
Blink types (``tests/blink_shim``) and compare it with the torch evaluator to 1e-5.
"""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np

from lutplug import __version__
from lutplug.codec.nlut import NeuralLUT
from lutplug.codec.quantize import dequantize_params

#: Default kernel (struct) name; BlinkScript names the node's parameter knobs after it.
KERNEL_NAME = "LutPlugKernel"
_PREFIX = "lp_"
_ACTS = ("relu", "silu", "tanh", "sin")
_SKIPS = ("identity", "linear", "none")
#: Every config key this generator implements (a network using anything else is refused rather
#: than silently evaluated wrong).
_KNOWN = {"format", "version", "in_curve", "fourier", "center", "hidden", "act", "skip", "out_curve",
          "quant", "fix"}


def _f(v) -> str:
    """A float32 constant as a Blink/C++ float literal that reads back bit-exactly."""
    x = float(np.float32(v))
    if not math.isfinite(x):
        raise ValueError("non-finite constant in the network")
    s = repr(x)
    if "e" not in s and "." not in s:
        s += ".0"
    return s + "f"


def _act_body(act: str) -> List[str]:
    if act == "relu":
        return ["return z > 0.0f ? z : 0.0f;"]
    if act == "silu":
        return ["return z / (1.0f + exp(-z));"]
    if act == "tanh":
        # tanh from exp only (odd-symmetric, no overflow): (1 - e^-2|z|) / (1 + e^-2|z|)
        return ["float a = z < 0.0f ? -z : z;",
                "float e = exp(-2.0f * a);",
                "float t = (1.0f - e) / (1.0f + e);",
                "return z < 0.0f ? -t : t;"]
    if act == "sin":
        return ["return sin(z);"]
    raise ValueError(f"unknown activation {act!r}")


class _Writer:
    def __init__(self) -> None:
        self.locals: List[str] = []
        self.init: List[str] = []
        self.funcs: List[str] = []
        self.body: List[str] = []

    def array(self, name: str, values: np.ndarray) -> str:
        flat = np.asarray(values, dtype=np.float32).reshape(-1)
        full = _PREFIX + name
        self.locals.append(f"  float {full}[{flat.size}];")
        items = [f"{full}[{i}] = {_f(v)};" for i, v in enumerate(flat)]
        for start in range(0, len(items), 6):
            self.init.append("    " + " ".join(items[start:start + 6]))
        return full

    def pwl(self, fn: str, table: str, knots: int) -> None:
        """Member function ``float fn(int c, float x)``: channel ``c``'s curve (``knots`` uniform
        knots over [0, 1], x clamped; NaN reads knot 0) — the same arithmetic as the numpy twin."""
        self.funcs += [f"  float {fn}(int c, float x) {{",
                       "    float u = x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f;",
                       f"    float t = u * {_f(knots - 1)};",
                       "    int i = (int)t;",
                       f"    if (i > {knots - 2}) i = {knots - 2};",
                       "    if (i < 0) i = 0;",
                       "    float f = t - (float)i;",
                       f"    float lo = {table}[c * {knots} + i];",
                       f"    float hi = {table}[c * {knots} + i + 1];",
                       "    return lo + (hi - lo) * f;",
                       "  }"]


def kernel_source(nlut: NeuralLUT, name: str = KERNEL_NAME) -> str:
    """BlinkScript source of a pixel-wise kernel applying ``nlut`` (images ``src`` → ``dst``)."""
    if not name.isidentifier():
        raise ValueError(f"kernel name {name!r} is not an identifier")
    cfg = nlut.config
    if cfg.get("format", "lutplug-mlp") != "lutplug-mlp" or cfg.get("version", 1) != 1:
        raise ValueError(f"network format {cfg.get('format')!r} v{cfg.get('version')} is not "
                         "supported by this BlinkScript generator")
    unknown = sorted(k for k in cfg if k not in _KNOWN and cfg[k] not in (None, False, 0, "", [], {}))
    if unknown:
        raise ValueError(f"network options {unknown} are not supported by this BlinkScript generator")
    act = cfg.get("act", "silu")
    skip = cfg.get("skip", "identity")
    if act not in _ACTS or skip not in _SKIPS:
        raise ValueError(f"unsupported network: act={act!r} skip={skip!r}")
    hidden = [int(h) for h in cfg["hidden"]]
    if not hidden:
        raise ValueError("the network needs at least one hidden layer")
    p: Dict[str, np.ndarray] = dequantize_params(nlut.params)
    w = _Writer()
    b = w.body
    b += ["    SampleType(src) p = src();",
          "    float x0 = p.x;", "    float x1 = p.y;", "    float x2 = p.z;"]

    if nlut.shaper is not None:
        s = nlut.shaper
        table = w.array("SHAPER", s.table.T)  # channel-major: [c * M + i]
        w.pwl("lp_shaper", table, s.size)
        smin = s.domain_min.astype(np.float32)
        sscale = (1.0 / (s.domain_max - s.domain_min)).astype(np.float32)
        b.append("    // 1D shaper over its input range")
        for c in range(3):
            b.append(f"    x{c} = lp_shaper({c}, (x{c} - {_f(smin[c])}) * {_f(sscale[c])});")

    dmin = nlut.domain_min.astype(np.float32)
    dscale = (1.0 / (nlut.domain_max - nlut.domain_min)).astype(np.float32)
    b.append("    // input domain -> [0, 1], clamped (NaN -> 0)")
    for c in range(3):
        b += [f"    x{c} = (x{c} - {_f(dmin[c])}) * {_f(dscale[c])};",
              f"    x{c} = x{c} > 0.0f ? (x{c} < 1.0f ? x{c} : 1.0f) : 0.0f;"]

    b += [f"    float u{c} = x{c};" for c in range(3)]
    if cfg.get("in_curve", 0):
        w.pwl("lp_cin", w.array("CIN", p["cin"]), int(cfg["in_curve"]))
        b.append("    // per-channel input curves (residual)")
        b += [f"    x{c} = x{c} + lp_cin({c}, x{c});" for c in range(3)]

    fourier = int(cfg.get("fourier", 0))
    width = 3 + 6 * fourier
    b += [f"    float h0[{width}];", "    h0[0] = x0;", "    h0[1] = x1;", "    h0[2] = x2;"]
    for k in range(fourier):
        freq = _f(math.pi * (2 ** k))
        for c in range(3):
            # feature order of the numpy twin: [x, sin(f0 x), cos(f0 x), sin(f1 x), ...], each (r, g, b)
            b += [f"    h0[{3 + 6 * k + c}] = sin(x{c} * {freq});",
                  f"    h0[{6 + 6 * k + c}] = cos(x{c} * {freq});"]
    if cfg.get("center", False):
        b.append(f"    for (int k = 0; k < {width}; k++) h0[k] = h0[k] * 2.0f - 1.0f;")

    w.funcs += ["  float lp_act(float z) {"] + ["    " + line for line in _act_body(act)] + ["  }"]
    prev, prev_w = "h0", width
    for i, out_w in enumerate(hidden + [3]):
        last = i == len(hidden)
        wt = w.array(f"W{i}", p[f"W{i}"])
        bt = w.array(f"B{i}", p[f"b{i}"])
        cur = f"h{i + 1}"
        b += [f"    float {cur}[{out_w}];",
              f"    for (int o = 0; o < {out_w}; o++) {{",
              f"      float acc = {bt}[o];",
              f"      for (int k = 0; k < {prev_w}; k++) acc += {wt}[o * {prev_w} + k] * {prev}[k];",
              f"      {cur}[o] = {'acc' if last else 'lp_act(acc)'};",
              "    }"]
        prev, prev_w = cur, out_w
    b += [f"    float y{c} = {prev}[{c}];" for c in range(3)]

    if skip == "identity":
        b += [f"    y{c} = y{c} + x{c};" for c in range(3)]
    elif skip == "linear":
        a = w.array("A", p["A"])
        cc = p["c"].astype(np.float32)
        for c in range(3):
            b.append(f"    y{c} = y{c} + ({a}[{3 * c}] * x0 + {a}[{3 * c + 1}] * x1 + {a}[{3 * c + 2}] * x2)"
                     f" + {_f(cc[c])};")

    if cfg.get("out_curve", 0):
        w.pwl("lp_cout", w.array("COUT", p["cout"]), int(cfg["out_curve"]))
        b.append("    // per-channel output curves (residual, read at the clamped output)")
        b += [f"    float z{c} = lp_cout({c}, y{c});" for c in range(3)]
        b += [f"    y{c} = y{c} + z{c};" for c in range(3)]

    if "fix" in cfg:
        rows = p["fix"].reshape(-1, 6).copy()
        rows[:, 3:] *= np.float32(cfg["fix"]["scale"])
        fx = w.array("FIX", rows)
        top = _f(cfg["fix"]["grid"] - 1)
        b += ["    // node corrections: Kuhn-hat-weighted sum over the corrected lattice nodes",
              f"    for (int k = 0; k < {rows.shape[0]}; k++) {{"]
        b += [f"      float v{c} = u{c} * {top} - {fx}[6 * k + {c}];" for c in range(3)]
        b += ["      float hi = v0 > v1 ? v0 : v1;", "      hi = hi > v2 ? hi : v2;", "      hi = hi > 0.0f ? hi : 0.0f;",
              "      float lo = v0 < v1 ? v0 : v1;", "      lo = lo < v2 ? lo : v2;", "      lo = lo < 0.0f ? lo : 0.0f;",
              "      float wt = 1.0f - hi + lo;", "      wt = wt > 0.0f ? wt : 0.0f;"]
        b += [f"      y{c} = y{c} + wt * {fx}[6 * k + {3 + c}];" for c in range(3)]
        b.append("    }")

    b += ["    p.x = y0;", "    p.y = y1;", "    p.z = y2;", "    dst() = p;"]

    head = [f"// lutplug {__version__}: network of .nlut {nlut.content_hash[:16] or '(unsaved)'}"
            f" - generated, do not edit",
            f"// hidden {hidden}, act {act}, skip {skip}, fourier {fourier}, "
            f"center {bool(cfg.get('center', False))}, in_curve {cfg.get('in_curve', 0)}, "
            f"out_curve {cfg.get('out_curve', 0)}, shaper {nlut.shaper is not None}",
            f"kernel {name} : ImageComputationKernel<ePixelWise>",
            "{",
            "  Image<eRead, eAccessPoint, eEdgeClamped> src;",
            "  Image<eWrite> dst;",
            "",
            "local:"]
    lines = head + w.locals + ["", "  void define() {", "  }", "", "  void init() {"] + w.init + ["  }", ""]
    lines += w.funcs + ["", "  void process() {"] + b + ["  }", "};"]
    return "\n".join(lines) + "\n"


def passthrough_source(name: str = KERNEL_NAME) -> str:
    """A kernel copying ``src`` to ``dst``: what a LutPlug node's BlinkScript holds when its file
    has no network (a plain LUT) or nothing is loaded."""
    if not name.isidentifier():
        raise ValueError(f"kernel name {name!r} is not an identifier")
    return (f"// lutplug {__version__}: no network loaded - pass-through\n"
            f"kernel {name} : ImageComputationKernel<ePixelWise>\n{{\n"
            "  Image<eRead, eAccessPoint, eEdgeClamped> src;\n"
            "  Image<eWrite> dst;\n\n"
            "  void process() {\n    dst() = src();\n  }\n};\n")

"""Shader source for a .nlut's network: a function ``vec3 lutplug_apply(vec3 rgb)`` with the weights
as constants, plus ready-to-use compute and fragment shader wrappers.

Every op matches :func:`lutplug.codec.model.forward_numpy` (and the shaper / domain handling of
:class:`~lutplug.codec.nlut.NeuralLUT`); tests run the emitted shaders on Mesa llvmpipe.

The same function is emitted in HLSL and Metal (``function_source(nlut, language="hlsl"|"msl")``,
``float3`` types, ``static const`` / ``constant`` arrays); :func:`pixel_function` wraps it as
``float4 NAME(float4 inPixel)`` (GLSL: ``vec4``), the signature of OpenColorIO's shader function.
"""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np

from lutplug.codec.nlut import NeuralLUT
from lutplug.codec.quantize import dequantize_params

VERSIONS = {"glsl_4.5": "#version 450", "glsl_4.0": "#version 400",
            "glsl_es_3.0": "#version 300 es\nprecision highp float;\nprecision highp int;"}


def _f(v: float) -> str:
    s = repr(float(np.float32(v)))
    if s in ("inf", "-inf", "nan"):
        raise ValueError("non-finite weight")
    return s if ("." in s or "e" in s) else s + ".0"


#: Shading languages of :func:`function_source`: the 3-vector type and a constant float array.
DIALECTS = {
    "glsl": {"vec3": "vec3", "vec4": "vec4",
             "array": "const float {name}[{n}] = float[{n}]({body});"},
    "hlsl": {"vec3": "float3", "vec4": "float4",
             "array": "static const float {name}[{n}] = {{{body}}};"},
    "msl": {"vec3": "float3", "vec4": "float4",
            "array": "constant float {name}[{n}] = {{{body}}};"},
}


def _array(name: str, values: np.ndarray, language: str = "glsl") -> str:
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    body = ",".join(_f(float(v)) for v in flat)
    return DIALECTS[language]["array"].format(name=name, n=flat.size, body=body)


def _vec3(v, language: str = "glsl") -> str:
    return DIALECTS[language]["vec3"] + "(" + ", ".join(_f(x) for x in v) + ")"


def _act(name: str) -> str:
    return {"relu": "max(z, 0.0)", "silu": "z / (1.0 + exp(-z))", "tanh": "tanh(z)",
            "sin": "sin(z)"}[name]


def _pwl_fn(fn: str, table: str, knots: int) -> str:
    """Per-channel PWL curve, ``knots`` values per channel stored channel-major in ``table``."""
    return (f"float {fn}(int ch, float x) {{\n"
            f"    float t = clamp(x, 0.0, 1.0) * {_f(knots - 1)};\n"
            f"    int i = min(int(t), {knots - 2});\n"
            f"    float f = t - float(i);\n"
            f"    float lo = {table}[ch * {knots} + i];\n"
            f"    float hi = {table}[ch * {knots} + i + 1];\n"
            f"    return lo + (hi - lo) * f;\n}}")


def function_source(nlut: NeuralLUT, prefix: str = "LP_", language: str = "glsl") -> str:
    """Declarations and ``vec3 lutplug_apply(vec3 rgb)`` (no #version line) in ``language``:
    "glsl" (any GLSL 3.30+/ES 3.00+), "hlsl" (DirectX 11+) or "msl" (Metal 2), where the
    function reads ``float3 lutplug_apply(float3 rgb)``."""
    if language not in DIALECTS:
        raise ValueError(f"language must be one of {', '.join(DIALECTS)}, got {language!r}")
    lang = language
    V = DIALECTS[lang]["vec3"]
    cfg = nlut.config
    grid = nlut.lattice_grid
    if grid:
        raise ValueError(f"this .nlut stores a {grid}^3 residual lattice (no network met its target), "
                         "which a shader cannot rebuild per pixel: use its baked cube, exact at "
                         f"{grid}^3 (lutplug bake --size {grid}, or lutplug ocio shader --engine cube "
                         f"--size {grid})")
    p: Dict[str, np.ndarray] = dequantize_params(nlut.params)
    decl: List[str] = [f"// lutplug network {nlut.content_hash[:16]} (generated; do not edit)"]
    body: List[str] = [f"{V} lutplug_apply({V} rgb) {{", f"    {V} x = rgb;"]
    if nlut.shaper is not None:
        s = nlut.shaper
        decl.append(_array(prefix + "SHAPER", s.table.T, lang))  # channel-major
        decl.append(_pwl_fn("lp_shaper", prefix + "SHAPER", s.size))
        body += [f"    x = (x - {_vec3(s.domain_min, lang)}) * {_vec3(1.0 / (s.domain_max - s.domain_min), lang)};",
                 f"    x = {V}(lp_shaper(0, x.r), lp_shaper(1, x.g), lp_shaper(2, x.b));"]
    lo, hi = ("0.0", "1.0") if lang == "glsl" else (f"{V}(0.0, 0.0, 0.0)", f"{V}(1.0, 1.0, 1.0)")
    body += [f"    x = clamp((x - {_vec3(nlut.domain_min, lang)}) * "
             f"{_vec3(1.0 / (nlut.domain_max - nlut.domain_min), lang)}, {lo}, {hi});",
             f"    {V} u = x;"]
    if cfg.get("in_curve", 0):
        decl.append(_array(prefix + "CIN", p["cin"], lang))
        decl.append(_pwl_fn("lp_cin", prefix + "CIN", cfg["in_curve"]))
        body.append(f"    x += {V}(lp_cin(0, x.r), lp_cin(1, x.g), lp_cin(2, x.b));")
    fourier = cfg.get("fourier", 0)
    minmax = cfg.get("minmax", False)
    width = 3 + 6 * fourier + (2 if minmax else 0)
    body.append(f"    float h0[{width}];")
    body.append("    h0[0] = x.r; h0[1] = x.g; h0[2] = x.b;")
    for k in range(fourier):
        w = _f(math.pi * (2 ** k))
        for c, ch in enumerate("rgb"):
            # same order as the numpy twin: [x, sin(f0 x), cos(f0 x), sin(f1 x), ...], each (r,g,b)
            body.append(f"    h0[{3 + 6 * k + c}] = sin(x.{ch} * {w}); "
                        f"h0[{6 + 6 * k + c}] = cos(x.{ch} * {w});")
    if minmax:  # max and min of the curved rgb, after the Fourier features (as the numpy twin)
        body.append(f"    h0[{width - 2}] = max(max(x.r, x.g), x.b); h0[{width - 1}] = min(min(x.r, x.g), x.b);")
    if cfg.get("center", False):
        body.append(f"    for (int k = 0; k < {width}; k++) h0[k] = h0[k] * 2.0 - 1.0;")
    decl.append(f"float lp_act(float z) {{ return {_act(cfg['act'])}; }}")
    hidden = cfg["hidden"]
    prev, prev_w = "h0", width
    for i, w in enumerate(hidden + [3]):
        last = i == len(hidden)
        decl.append(_array(f"{prefix}W{i}", p[f"W{i}"], lang))
        decl.append(_array(f"{prefix}B{i}", p[f"b{i}"], lang))
        cur = f"h{i + 1}"
        body += [f"    float {cur}[{w}];",
                 f"    for (int o = 0; o < {w}; o++) {{",
                 f"        float acc = {prefix}B{i}[o];",
                 f"        for (int k = 0; k < {prev_w}; k++) acc += {prefix}W{i}[o * {prev_w} + k] * {prev}[k];",
                 f"        {cur}[o] = {'acc' if last else 'lp_act(acc)'};",
                 "    }"]
        prev, prev_w = cur, w
    body.append(f"    {V} y = {V}({prev}[0], {prev}[1], {prev}[2]);")
    skip = cfg.get("skip", "identity")
    if skip == "identity":
        body.append("    y += x;")
    elif skip == "linear":
        decl.append(_array(prefix + "A", p["A"], lang))
        body.append(f"    y += {V}(dot({V}({prefix}A[0], {prefix}A[1], {prefix}A[2]), x), "
                    f"dot({V}({prefix}A[3], {prefix}A[4], {prefix}A[5]), x), "
                    f"dot({V}({prefix}A[6], {prefix}A[7], {prefix}A[8]), x)) + {_vec3(p['c'], lang)};")
    if cfg.get("out_curve", 0):
        decl.append(_array(prefix + "COUT", p["cout"], lang))
        decl.append(_pwl_fn("lp_cout", prefix + "COUT", cfg["out_curve"]))
        body.append(f"    y += {V}(lp_cout(0, y.r), lp_cout(1, y.g), lp_cout(2, y.b));")
    if "fix" in cfg:  # node corrections: Kuhn-hat-weighted sum over the corrected lattice nodes
        rows = p["fix"].reshape(-1, 6).copy()
        rows[:, 3:] *= np.float32(cfg["fix"]["scale"])
        decl.append(_array(prefix + "FIX", rows, lang))
        F = prefix + "FIX"
        body += [f"    for (int k = 0; k < {rows.shape[0]}; k++) {{",
                 f"        {V} v = u * {_f(cfg['fix']['grid'] - 1)} - {V}({F}[6 * k], {F}[6 * k + 1], {F}[6 * k + 2]);",
                 "        float w = 1.0 - max(max(max(v.x, v.y), v.z), 0.0) + min(min(min(v.x, v.y), v.z), 0.0);",
                 f"        y += max(w, 0.0) * {V}({F}[6 * k + 3], {F}[6 * k + 4], {F}[6 * k + 5]);",
                 "    }"]
    body += ["    return y;", "}"]
    return "\n".join(decl + [""] + body) + "\n"


def pixel_function(nlut: NeuralLUT, language: str = "glsl", name: str = "OCIOMain",
                   prefix: str = "LP_") -> str:
    """:func:`function_source` plus ``vec4 NAME(vec4 inPixel)`` (``float4`` in HLSL/Metal), the
    signature of OpenColorIO's GPU shader function, so a host can swap the two: RGB graded,
    alpha kept."""
    if not name.isidentifier():
        raise ValueError(f"function name {name!r} is not an identifier")
    v4 = DIALECTS[language]["vec4"] if language in DIALECTS else "vec4"
    return (function_source(nlut, prefix, language) +
            f"\n{v4} {name}({v4} inPixel) {{\n"
            f"    return {v4}(lutplug_apply(inPixel.rgb), inPixel.a);\n}}\n")


def compute_shader(nlut: NeuralLUT, version: str = "glsl_4.5", local_size: int = 64) -> str:
    """Compute shader: buffer 0 = input vec4 pixels, buffer 1 = output, uniform ``u_mix``,
    uniform ``u_count`` (pixels); alpha passes through."""
    return (f"{VERSIONS[version]}\nlayout(local_size_x = {local_size}) in;\n"
            "layout(std430, binding = 0) readonly buffer Src { vec4 src[]; };\n"
            "layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };\n"
            "uniform float u_mix;\nuniform uint u_count;\n"
            + function_source(nlut) +
            "void main() {\n    uint i = gl_GlobalInvocationID.x;\n    if (i >= u_count) return;\n"
            "    vec4 c = src[i];\n    dst[i] = vec4(mix(c.rgb, lutplug_apply(c.rgb), u_mix), c.a);\n}\n")


def fragment_shader(nlut: NeuralLUT, version: str = "glsl_4.5") -> str:
    """Fragment shader: samples ``u_image`` at ``v_uv``, writes the graded colour (``u_mix``)."""
    return (f"{VERSIONS[version]}\nuniform sampler2D u_image;\nuniform float u_mix;\n"
            "in vec2 v_uv;\nout vec4 frag_color;\n" + function_source(nlut) +
            "void main() {\n    vec4 c = texture(u_image, v_uv);\n"
            "    frag_color = vec4(mix(c.rgb, lutplug_apply(c.rgb), u_mix), c.a);\n}\n")

"""Run a :class:`~lutplug.hosts.ocio.shaders.ShaderBundle` (GLSL, or HLSL through glslang and
SPIRV-Cross) on the GPU (headless OpenGL through EGL, e.g. Mesa llvmpipe) and compare it with the
CPU: what ``lutplug ocio shader --check`` and the tests do.

The bundle's function is called from a fragment shader that reads each input pixel exactly
(``texelFetch``) from an RGBA32F texture and writes an RGBA32F framebuffer; its textures are
uploaded as the manifest says (3D RGB32F / 2D R32F or RGB32F, clamp to edge, the stated filter).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from lutplug.errors import LutError

_HEADERS = {
    "glsl_4.0": "#version 400 core\n",
    "glsl_es_3.0": ("#version 300 es\nprecision highp float;\nprecision highp int;\n"
                    "precision highp sampler2D;\nprecision highp sampler3D;\n"),
}


def context(require: int = 400):
    """A headless moderngl context (EGL); :class:`LutError` when none can be made."""
    try:
        import moderngl
    except ImportError:
        raise LutError("running shaders needs moderngl: pip install moderngl") from None
    try:
        # (moderngl's stubs type **settings values as dicts; the backend is a string)
        settings: Dict[str, Any] = {"backend": "egl"}
        return moderngl.create_standalone_context(require=require, **settings)
    except Exception as exc:  # noqa: BLE001 - no EGL / driver
        raise LutError(f"no headless OpenGL context (EGL): {exc}") from None


def run(bundle, pixels: np.ndarray, ctx=None) -> np.ndarray:
    """Apply ``bundle`` to float32 ``pixels`` (H, W, 4) on the GPU. GLSL bundles run as they
    are; HLSL ones are first compiled by glslang's HLSL front end to SPIR-V and turned back into
    GLSL by SPIRV-Cross (both command-line tools must be installed), so the HLSL text itself is
    what is checked."""
    if bundle.language in _HEADERS:
        head = _HEADERS[bundle.language]
        fs = (head + bundle.text + "\nuniform sampler2D lutplug_src;\nout vec4 lutplug_out;\n"
              f"void main() {{\n    lutplug_out = {bundle.function}(texelFetch(lutplug_src, "
              "ivec2(gl_FragCoord.xy), 0));\n}\n")
        return _render(head, fs, pixels, bundle.textures, "lutplug_src", lambda t: t.sampler, ctx)
    if bundle.language == "hlsl":
        fs = _hlsl_to_glsl(bundle.text + "\nTexture2D<float4> lutplug_src : register(t15);\n"
                           "float4 main(float4 pos : SV_Position) : SV_Target {\n"
                           f"    return {bundle.function}(lutplug_src.Load(int3(int2(pos.xy), 0)));\n}}\n")
        return _render("#version 450\n", fs, pixels, bundle.textures,
                       "SPIRV_Cross_Combinedlutplug_srcSPIRV_Cross_DummySampler",
                       lambda t: f"SPIRV_Cross_Combined{t.name}{t.sampler}", ctx)
    raise LutError(f"{bundle.language} shaders cannot be run here (GLSL and HLSL only)")


def hlsl_tools() -> Optional[tuple]:
    """(glslangValidator, spirv-cross) paths, or None when either is missing."""
    import shutil

    tools = shutil.which("glslangValidator"), shutil.which("spirv-cross")
    return tools if all(tools) else None


def _hlsl_to_glsl(source: str) -> str:
    import subprocess
    import tempfile
    from pathlib import Path

    tools = hlsl_tools()
    if tools is None:
        raise LutError("checking HLSL needs glslangValidator and spirv-cross "
                       "(Debian: apt-get install glslang-tools spirv-cross)")
    with tempfile.TemporaryDirectory(prefix="lutplug-hlsl-") as tmp:
        src, spv = Path(tmp) / "shader.hlsl", Path(tmp) / "shader.spv"
        src.write_text(source)
        r = subprocess.run([tools[0], "-D", "-V", "-S", "frag", "-e", "main", str(src), "-o", str(spv)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise LutError("glslang refuses the HLSL: " + " ".join((r.stdout + r.stderr).split())[:2000])
        r = subprocess.run([tools[1], str(spv), "--version", "450"], capture_output=True, text=True)
        if r.returncode != 0:
            raise LutError("spirv-cross failed: " + " ".join(r.stderr.split())[:2000])
        return r.stdout


def _render(head: str, fs: str, pixels: np.ndarray, textures, src_name: str, sampler_name, ctx) -> np.ndarray:
    import moderngl

    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if pixels.ndim != 3 or pixels.shape[2] != 4:
        raise LutError(f"pixels must be (height, width, 4), got {pixels.shape}")
    own = ctx is None
    ctx = ctx or context()
    vs = head + "in vec2 pos;\nvoid main() { gl_Position = vec4(pos, 0.0, 1.0); }\n"
    resources = []
    try:
        prog = ctx.program(vertex_shader=vs, fragment_shader=fs)
        resources.append(prog)
        h, w = pixels.shape[:2]
        src = ctx.texture((w, h), 4, pixels.tobytes(), dtype="f4")
        src.filter = (moderngl.NEAREST, moderngl.NEAREST)
        resources.append(src)
        src.use(0)
        if src_name in prog:
            prog[src_name].value = 0
        for unit, t in enumerate(textures, start=1):
            flt = moderngl.NEAREST if t.filter == "nearest" else moderngl.LINEAR
            if t.dims == 3:
                tex = ctx.texture3d((t.width, t.height, t.depth), t.channels, t.values.tobytes(), dtype="f4")
                tex.repeat_z = False
            elif t.dims == 2:
                tex = ctx.texture((t.width, t.height), t.channels, t.values.tobytes(), dtype="f4")
            else:
                raise LutError("1D textures cannot be bound here; make the bundle without them")
            tex.filter = (flt, flt)
            tex.repeat_x = tex.repeat_y = False
            tex.use(unit)
            resources.append(tex)
            name = sampler_name(t)
            if name not in prog:
                raise LutError(f"the shader has no sampler {name!r} for texture {t.name}")
            prog[name].value = unit
        out = ctx.texture((w, h), 4, dtype="f4")
        fbo = ctx.framebuffer(color_attachments=[out])
        resources += [out, fbo]
        fbo.use()
        ctx.viewport = (0, 0, w, h)
        quad = ctx.buffer(np.array([-1, -1, 1, -1, -1, 1, 1, 1], np.float32).tobytes())
        vao = ctx.vertex_array(prog, [(quad, "2f", "pos")])
        resources += [quad, vao]
        vao.render(moderngl.TRIANGLE_STRIP)
        return np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(h, w, 4).copy()
    except moderngl.Error as exc:
        raise LutError(f"the GPU refused the shader: {exc}") from None
    finally:
        for r in reversed(resources):
            r.release()
        if own:
            ctx.release()


def grade_pixels(nlut, width: int = 128, height: int = 64, seed: int = 0) -> np.ndarray:
    """RGBA pixels covering the grade's input domain and 5 % beyond, alpha varying."""
    dmin, dmax = (np.asarray(d, np.float64) for d in nlut.input_domain)
    rng = np.random.default_rng(seed)
    rgb = dmin - 0.05 * (dmax - dmin) + rng.random((height, width, 3)) * 1.1 * (dmax - dmin)
    return np.concatenate([rgb, rng.random((height, width, 1))], -1).astype(np.float32)


def cpu_reference(bundle, nlut, pixels: np.ndarray) -> np.ndarray:
    """What the bundle should compute: OCIO's CPU processor for the cube path, the numpy network
    for the MLP path; alpha passes through."""
    out = pixels.copy()
    if bundle.engine == "cube":
        from lutplug.hosts.ocio.processing import processor
        from lutplug.hosts.ocio.verification import apply_cpu

        out[..., :3] = apply_cpu(processor(nlut, bundle.size), pixels[..., :3])
    else:
        out[..., :3] = nlut.apply(pixels[..., :3])
    return out


def check(bundle, nlut, ctx=None, pixels: Optional[np.ndarray] = None) -> float:
    """Max abs difference between the bundle on the GPU and :func:`cpu_reference`."""
    pixels = grade_pixels(nlut) if pixels is None else pixels
    gpu = run(bundle, pixels, ctx)
    return float(np.max(np.abs(gpu - cpu_reference(bundle, nlut, pixels))))

"""GPU shaders for a grade, in GLSL 4.0, GLSL ES 3.0, HLSL (DirectX 11) or Metal (MSL 2.0).

Two paths, with one interface — a function ``vec4 OCIOMain(vec4 inPixel)`` (``float4`` in HLSL
and Metal) that a host calls per pixel:

* ``cube``: OpenColorIO's own shader for the baked cube (``getDefaultGPUProcessor`` +
  ``extractGpuShaderInfo``), which needs its textures (a 3D LUT, plus a 2D — or 1D — shaper
  texture when the grade has a shaper) uploaded by the host;
* ``mlp``: the network itself (:mod:`lutplug.codec.glsl`), constants only, no textures.

:func:`write_bundle` writes the shader, each texture as raw float32 and a JSON manifest saying
how to bind them (sampler names, sizes, channels, filtering).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write
from lutplug.hosts.ocio import ociolib
from lutplug.hosts.ocio.grades import DEFAULT_SIZE, grade_hash

#: CLI language name → (OCIO GpuLanguage attribute, lutplug.codec.glsl dialect)
LANGUAGES = {"glsl_4.0": ("GPU_LANGUAGE_GLSL_4_0", "glsl"),
             "glsl_es_3.0": ("GPU_LANGUAGE_GLSL_ES_3_0", "glsl"),
             "hlsl": ("GPU_LANGUAGE_HLSL_DX11", "hlsl"),
             "msl": ("GPU_LANGUAGE_MSL_2_0", "msl")}
ENGINES = ("cube", "mlp")


@dataclasses.dataclass
class Texture:
    name: str
    sampler: str
    dims: int          # 1, 2 or 3
    width: int
    height: int
    depth: int
    channels: int      # 1 (red) or 3 (RGB)
    filter: str        # "nearest" or "linear": what the host sets on the sampler
    values: np.ndarray  # float32, x (width) fastest; for the 3D LUT x is blue, z red (OCIO's layout)

    def manifest(self, file: str) -> dict:
        return {"name": self.name, "sampler": self.sampler, "type": f"{self.dims}D",
                "width": self.width, "height": self.height, "depth": self.depth,
                "channels": self.channels, "format": "R32F" if self.channels == 1 else "RGB32F",
                "filter": self.filter, "wrap": "clamp_to_edge", "file": file,
                "bytes": int(self.values.nbytes)}


@dataclasses.dataclass
class ShaderBundle:
    language: str
    engine: str
    function: str
    text: str
    textures: List[Texture]
    uniforms: List[dict]
    grade: str
    size: Optional[int]

    @property
    def signature(self) -> str:
        v4 = "vec4" if self.language.startswith("glsl") else "float4"
        return f"{v4} {self.function}({v4} inPixel)"


def _language(language: str):
    if language not in LANGUAGES:
        raise LutError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return LANGUAGES[language]


def cube_shader(nlut, language: str, size: int = DEFAULT_SIZE, function: str = "OCIOMain",
                resource_prefix: str = "ocio", allow_texture_1d: bool = False) -> ShaderBundle:
    """OpenColorIO's GPU shader for the grade baked to ``size``³ (what an OCIO application
    runs for a look made by ``lutplug ocio add``). 1D textures are off by default: GLSL ES and
    Metal hosts, and many engines, only have 2D ones."""
    from lutplug.hosts.ocio.processing import processor

    o = ociolib.ocio()
    ocio_lang, _ = _language(language)
    if not function.isidentifier():
        raise LutError(f"function name {function!r} is not an identifier")
    size = nlut.bake_size(size)
    proc = processor(nlut, size)
    desc = o.GpuShaderDesc.CreateShaderDesc(language=getattr(o, ocio_lang), functionName=function,
                                            resourcePrefix=resource_prefix)
    desc.setAllowTexture1D(bool(allow_texture_1d))
    proc.getDefaultGPUProcessor().extractGpuShaderInfo(desc)
    textures: List[Texture] = []
    for t in desc.get3DTextures():
        n = int(t.edgeLen)
        textures.append(Texture(t.textureName, t.samplerName, 3, n, n, n, 3,
                                "nearest" if t.interpolation == o.INTERP_NEAREST else "linear",
                                np.asarray(t.getValues(), dtype=np.float32).copy()))
    for t in desc.getTextures():
        ch = 1 if t.channel == o.GpuShaderDesc.TEXTURE_RED_CHANNEL else 3
        dims = 1 if t.dimensions == o.GpuShaderDesc.TEXTURE_1D else 2
        textures.append(Texture(t.textureName, t.samplerName, dims, int(t.width), int(t.height), 1, ch,
                                "nearest" if t.interpolation == o.INTERP_NEAREST else "linear",
                                np.asarray(t.getValues(), dtype=np.float32).copy()))
    uniforms = [{"name": name, "type": str(data.type).split(".")[-1]} for name, data in desc.getUniforms()]
    return ShaderBundle(language, "cube", function, desc.getShaderText(), textures, uniforms,
                        grade_hash(nlut), size)


def mlp_shader(nlut, language: str, function: str = "OCIOMain") -> ShaderBundle:
    """The network as a self-contained shader function (weights as constants)."""
    from lutplug.codec import glsl

    _, dialect = _language(language)
    try:
        text = glsl.pixel_function(nlut, dialect, function)
    except ValueError as exc:
        raise LutError(str(exc)) from None
    return ShaderBundle(language, "mlp", function, text, [], [], grade_hash(nlut), None)


def shader(nlut, language: str, engine: str = "mlp", size: int = DEFAULT_SIZE,
           function: str = "OCIOMain", allow_texture_1d: bool = False) -> ShaderBundle:
    if engine not in ENGINES:
        raise LutError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "cube":
        return cube_shader(nlut, language, size, function, allow_texture_1d=allow_texture_1d)
    return mlp_shader(nlut, language, function)


def header(bundle: ShaderBundle) -> str:
    lang = {"glsl_4.0": "GLSL 4.0", "glsl_es_3.0": "GLSL ES 3.0", "hlsl": "HLSL (DirectX 11)",
            "msl": "Metal Shading Language 2.0"}[bundle.language]
    what = (f"OpenColorIO's shader for the grade baked to {bundle.size}^3"
            if bundle.engine == "cube" else "the grade's network, evaluated directly")
    lines = [f"// lutplug grade {bundle.grade[:16]}: {what}",
             f"// {lang}; call {bundle.signature} per pixel (RGB graded, alpha kept)."]
    if bundle.textures:
        lines.append("// Textures to bind (see the .json manifest beside this file): " +
                     ", ".join(f"{t.sampler} ({t.dims}D {t.width}x{t.height}x{t.depth})"
                               for t in bundle.textures))
    else:
        lines.append("// No textures or uniforms: the weights are constants.")
    return "\n".join(lines) + "\n"


def write_bundle(bundle: ShaderBundle, path: PathLike) -> List[Path]:
    """Write the shader to ``path``; with textures also ``path.<texture>.f32`` (raw float32,
    little-endian) and ``path.json`` (the manifest). Returns the files written."""
    path = Path(path)
    written = []
    textures: List[Dict[str, Any]] = []
    manifest: Dict[str, Any] = {"format": "lutplug-shader", "version": 1, "language": bundle.language,
                "engine": bundle.engine, "function": bundle.function, "signature": bundle.signature,
                "grade": bundle.grade, "cube_size": bundle.size, "uniforms": bundle.uniforms,
                "textures": textures}
    for t in bundle.textures:
        tex_path = path.with_name(f"{path.name}.{t.name}.f32")
        atomic_write(tex_path, t.values.astype("<f4").tobytes())
        written.append(tex_path)
        textures.append(t.manifest(tex_path.name))
    atomic_write(path, header(bundle) + bundle.text)
    written.insert(0, path)
    if bundle.textures or bundle.uniforms:
        man_path = path.with_name(path.name + ".json")
        atomic_write(man_path, json.dumps(manifest, indent=2) + "\n")
        written.append(man_path)
    return written

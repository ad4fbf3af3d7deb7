"""Show a grade on another display: compose an OpenColorIO conversion from the grade's output
colour space (the .nlut's ``colorspace.output`` tag) to a display's colour space after the grade,
so the same grade looks the same on an sRGB and a Display P3 screen.

Colour spaces and displays come from an OCIO config, by default the built-in
``ocio://studio-config-latest`` (displays such as "sRGB - Display", "Display P3 - Display").
A grade without an output tag is taken to produce sRGB display values ("sRGB - Display"), the
reading lutplug's quality metric uses. Host-free; needs PyOpenColorIO.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Tuple

import numpy as np

from lutplug.core.lut import LUT3D
from lutplug.errors import LutError
from lutplug.optional import import_ocio

DEFAULT_CONFIG = "ocio://studio-config-latest"
#: What an untagged grade's output is taken to be.
ASSUMED_OUTPUT = "sRGB - Display"


def _config(config: Optional[str]):
    ocio = import_ocio("a display conversion")
    try:
        return ocio, ocio.Config.CreateFromFile(config or DEFAULT_CONFIG)
    except Exception as exc:  # noqa: BLE001 - OCIO raises its own Exception type
        raise LutError(f"cannot open the OCIO config {config or DEFAULT_CONFIG!r} ({exc})") from None


def display_colorspace(display: str, config: Optional[str] = None) -> str:
    """Colour-space name for ``display``: a display of the config ("Display P3" finds
    "Display P3 - Display"), whose default view's colour space is used, or a colour space name
    or alias."""
    _, cfg = _config(config)
    displays = list(cfg.getDisplays())
    wanted = display.strip().lower()
    match = [d for d in displays if d.lower() == wanted] or \
        [d for d in displays if d.lower() == wanted + " - display"]
    if match:
        d = match[0]
        name = cfg.getDisplayViewColorSpaceName(d, cfg.getDefaultView(d))
        return d if name in ("<USE_DISPLAY_NAME>", "") else name
    cs = cfg.getColorSpace(display)
    if cs is not None:
        return cs.getName()
    raise LutError(f"display {display!r} is neither a display nor a colour space of the OCIO config; "
                   f"displays: {', '.join(displays)}")


def output_space(transform, fallback: str = ASSUMED_OUTPUT) -> str:
    """The grade's output colour-space tag (``colorspace.output`` of a .nlut), else ``fallback``."""
    tags = getattr(transform, "description", {}).get("colorspace", {}) or {}
    return str(tags.get("output") or fallback)


def conversion(source: str, display: str, config: Optional[str] = None):
    """(OCIO CPU processor, float32 in and out, from colour space ``source`` to ``display``'s
    colour space; that colour space's name)."""
    ocio, cfg = _config(config)
    target = display_colorspace(display, config)
    if cfg.getColorSpace(source) is None:
        raise LutError(f"the grade's output colour space {source!r} is not in the OCIO config "
                       f"{config or DEFAULT_CONFIG}")
    proc = cfg.getProcessor(ocio.ColorSpaceTransform(source, target))
    return proc.getOptimizedCPUProcessor(ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32,
                                         ocio.OPTIMIZATION_DEFAULT), target


def convert(rgb: np.ndarray, processor) -> np.ndarray:
    """Apply a CPU processor to RGB (..., 3) or RGBA (..., 4) float values (alpha untouched);
    returns a new float32 array."""
    out = np.array(rgb, dtype=np.float32, order="C", copy=True)
    if out.shape[-1] not in (3, 4):
        raise LutError(f"RGB(A) values expected, got shape {out.shape}")
    flat = out.reshape(-1, out.shape[-1])
    rgb3 = np.ascontiguousarray(flat[:, :3])
    processor.applyRGB(rgb3.reshape(-1))
    flat[:, :3] = rgb3
    return out


@dataclasses.dataclass
class DisplayGrade:
    """``transform`` followed by the conversion to a display: usable wherever a transform is
    (``input_domain``, ``apply``, ``size``, ``title``, ``bake``)."""

    transform: Any
    processor: object
    source: str
    target: str

    @property
    def input_domain(self) -> Tuple[np.ndarray, np.ndarray]:
        return self.transform.input_domain

    @property
    def size(self) -> int:
        return int(getattr(self.transform, "size", 33))

    @property
    def title(self) -> str:
        return str(getattr(self.transform, "title", "") or "")

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        return convert(self.transform.apply(rgb), self.processor)

    def bake(self, size: Optional[int] = None) -> LUT3D:
        """The grade's cube (its own lattice and shaper) with every node converted exactly."""
        from lutplug.evaluate.load import to_cube

        cube = to_cube(self.transform, size)
        return dataclasses.replace(cube, table=convert(cube.table, self.processor),
                                   comments=list(cube.comments) + [f"converted from {self.source} to "
                                                                   f"{self.target} by OpenColorIO"])


def for_display(transform, display: str, config: Optional[str] = None,
                source: Optional[str] = None) -> DisplayGrade:
    """``transform`` shown on ``display``: its output (tag, or ``source``, or sRGB) converted to
    the display's colour space."""
    src = source or output_space(transform)
    proc, target = conversion(src, display, config)
    return DisplayGrade(transform, proc, src, target)


_GLSL_LANGUAGES = {"glsl_4.5": "GPU_LANGUAGE_GLSL_4_0", "glsl_4.0": "GPU_LANGUAGE_GLSL_4_0",
                   "glsl_es_3.0": "GPU_LANGUAGE_GLSL_ES_3_0"}
_GRADE_SIGNATURE = "vec3 lutplug_apply(vec3 rgb) {"


def glsl_display(shader: str, grade: DisplayGrade, version: str = "glsl_4.5") -> str:
    """``shader`` (from :mod:`lutplug.codec.glsl`, defining ``vec3 lutplug_apply(vec3)``) with
    ``grade``'s display conversion composed after the network: OCIO's own GPU shader function for
    the conversion is inserted and ``lutplug_apply`` becomes network, then conversion."""
    ocio = import_ocio("a display conversion")
    _, cfg = _config(None)
    proc = cfg.getProcessor(ocio.ColorSpaceTransform(grade.source, grade.target))
    desc = ocio.GpuShaderDesc.CreateShaderDesc(language=getattr(ocio, _GLSL_LANGUAGES[version]),
                                               functionName="lutplug_display", resourcePrefix="lpd_")
    proc.getOptimizedGPUProcessor(ocio.OPTIMIZATION_DEFAULT).extractGpuShaderInfo(desc)
    if list(desc.getTextures()) or list(desc.get3DTextures()) or list(desc.getUniforms()):
        raise LutError(f"the conversion to {grade.target} needs textures or uniforms in a shader; "
                       "bake it instead (lutplug bake --display)")
    if shader.count(_GRADE_SIGNATURE) != 1:
        raise LutError("shader does not define lutplug_apply exactly once")
    wrapped = (desc.getShaderText() + "\nvec3 lutplug_apply(vec3 rgb) {\n"
               "    return lutplug_display(vec4(lutplug_grade(rgb), 1.0)).rgb;\n}\n")
    out = shader.replace(_GRADE_SIGNATURE, "vec3 lutplug_grade(vec3 rgb) {")
    if out.count("void main()") == 1:
        return out.replace("void main()", wrapped + "void main()")
    return out + wrapped

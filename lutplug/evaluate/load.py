"""Open any file lutplug understands as a transform: a LUT file (→ LUT3D) or a .nlut
(→ NeuralLUT), and turn either into a dense cube."""
from __future__ import annotations

from typing import Any, Optional, Union

from lutplug.codec.nlut import NeuralLUT, Trust, is_nlut_path, load_nlut
from lutplug.core.load import load_lut3d
from lutplug.core.lut import LUT3D
from lutplug.errors import PathLike


def load_transform(path: PathLike, trusted_keys: Trust = (),
                   require_signature: bool = False) -> Union[LUT3D, NeuralLUT]:
    """A :class:`LUT3D` or a decoded :class:`NeuralLUT` — both offer ``input_domain``, ``apply``
    and a ``size``; a NeuralLUT also ``bake(size)``. A file named .nlut, or starting with the
    .nlut magic, is read as one (and refused as one when it is not)."""
    if is_nlut_path(path):
        return load_nlut(path, trusted_keys, require_signature)
    return load_lut3d(path)


def to_cube(transform: Any, size: Optional[int] = None) -> LUT3D:
    """Dense :class:`LUT3D` of a transform (a NeuralLUT is baked; a LUT3D resampled if ``size``)."""
    if isinstance(transform, LUT3D):
        return transform if size in (None, transform.size) else transform.resample(size)
    return transform.bake(size)

"""The OpenColorIO host: compressed grades as entries of OCIO configs and .ocioz look packs, an
in-memory OCIO processor, a ConfigIOProxy that reads .nlut files, and GPU shaders.

Nothing here imports OpenColorIO until it is used (``lutplug`` registers ``lutplug ocio`` at
start-up). The public API, loaded on first access:

* :func:`processor` — a grade as an OCIO ``Processor`` (in-memory ``Lut3DTransform``);
* :class:`NlutIOProxy` — a ``PyConfigIOProxy`` letting a config name ``.nlut`` files directly;
* :func:`add_grade` / :func:`pack` — what ``lutplug ocio add`` / ``pack`` do;
* :func:`shader` — what ``lutplug ocio shader`` emits (also :func:`cube_shader`,
  :func:`mlp_shader`, :func:`write_bundle`).

    from lutplug.hosts.ocio import NlutIOProxy, processor
"""
from __future__ import annotations

_WHERE = {"processor": "processing", "grade_transform": "processing", "NlutIOProxy": "proxy",
          "add_grade": "edit", "AddResult": "edit", "pack": "packing", "PackResult": "packing",
          "shader": "shaders", "cube_shader": "shaders", "mlp_shader": "shaders",
          "write_bundle": "shaders", "ShaderBundle": "shaders"}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"lutplug.hosts.ocio.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'lutplug.hosts.ocio' has no attribute {name!r}")

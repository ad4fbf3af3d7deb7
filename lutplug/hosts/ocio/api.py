"""Everything ``lutplug.ocio`` offers, imported eagerly (re-exported by ``lutplug/ocio.py``)."""
from lutplug.hosts.ocio.edit import AddResult, add_grade
from lutplug.hosts.ocio.packing import PackResult, pack
from lutplug.hosts.ocio.processing import grade_transform, processor
from lutplug.hosts.ocio.proxy import NlutIOProxy
from lutplug.hosts.ocio.shaders import ShaderBundle, cube_shader, mlp_shader, shader, write_bundle

__all__ = ["processor", "grade_transform", "NlutIOProxy", "add_grade", "AddResult", "pack",
           "PackResult", "shader", "cube_shader", "mlp_shader", "write_bundle", "ShaderBundle"]

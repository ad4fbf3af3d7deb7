"""OpenColorIO integration (public API): ``processor(nlut, ...)``, ``NlutIOProxy``, ``add_grade``,
``pack``, shaders. Importing this needs OpenColorIO; see :mod:`lutplug.hosts.ocio`."""
from lutplug.hosts.ocio.api import *  # noqa: F401,F403

"""Nuke host: the LutPlug node (a Python-built Group with a BlinkScript GPU path and a dense-cube
fallback), standalone gizmos and pasteable scripts.

Host-free and unit-tested: :mod:`.source` (load a file, bake the cube, info text), :mod:`.graph`
(the node as data), :mod:`.nk` (script/gizmo text); ``lutplug nuke ...`` is
:mod:`lutplug.cli.nuke`.
Inside Nuke only: :mod:`.node` (builds the graph through the ``nuke`` API) and :mod:`.plugin`
(what ``nuke/init.py`` and ``nuke/menu.py`` call). This module imports nothing.
"""

#: Marker knob name: a Group holding it is a LutPlug node.
MARKER = "lutplug_node"

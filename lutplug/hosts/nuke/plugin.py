"""What the plug-in folder's ``init.py`` and ``menu.py`` call: register, nothing more.

Importing this module imports only ``nuke``; lutplug's codec (numpy) is imported the first time a
LutPlug node needs it, so Nuke starts as fast as before.
"""
from __future__ import annotations

import nuke

from lutplug.hosts.nuke import MARKER

CREATE = "import lutplug.hosts.nuke.node as _lutplug_node; _lutplug_node.create()"
RELOAD_ALL = "import lutplug.hosts.nuke.node as _lutplug_node; _lutplug_node.reload_all()"


def _on_create() -> None:
    node = nuke.thisNode()
    if node is not None and node.knob(MARKER) is not None:
        from lutplug.hosts.nuke import node as lutplug_node

        lutplug_node.on_create()


def _knob_changed() -> None:
    node = nuke.thisNode()
    if node is not None and node.knob(MARKER) is not None:
        from lutplug.hosts.nuke import node as lutplug_node

        lutplug_node.knob_changed()


def init() -> None:
    """init.py (every Nuke session, GUI or render): the LutPlug callbacks, filtered to Groups."""
    nuke.addOnCreate(_on_create, nodeClass="Group")
    nuke.addKnobChanged(_knob_changed, nodeClass="Group")


def menu() -> None:
    """menu.py (GUI sessions): a "lutplug" menu in the Nodes toolbar and LutPlug under Color."""
    if not nuke.GUI:
        return
    toolbar = nuke.menu("Nodes")
    lutplug_menu = toolbar.addMenu("lutplug")
    lutplug_menu.addCommand("LutPlug", CREATE)
    lutplug_menu.addCommand("Reload all LutPlug nodes", RELOAD_ALL)
    toolbar.addCommand("Color/LutPlug", CREATE)

"""Bootstrap of the lutplug plug-in folder (this folder is on NUKE_PATH, hence on sys.path).

Finds the ``lutplug`` package — installed in Nuke's Python, or the checkout this folder sits in —
and hands over to :mod:`lutplug.hosts.nuke.plugin`. Imports nothing heavy: lutplug's codec (numpy)
is loaded the first time a LutPlug node needs it.
"""
import importlib.util
import os
import sys


def _find_lutplug() -> None:
    if importlib.util.find_spec("lutplug") is None:
        checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if os.path.isfile(os.path.join(checkout, "lutplug", "__init__.py")) and checkout not in sys.path:
            sys.path.append(checkout)


def init() -> None:
    _find_lutplug()
    from lutplug.hosts.nuke import plugin

    plugin.init()


def menu() -> None:
    _find_lutplug()
    from lutplug.hosts.nuke import plugin

    plugin.menu()

"""GIMP 3 host: the "Apply Compressed LUT…" filter (PDB procedure ``plug-in-lutplug-apply``).

Layout:

* :mod:`.engine` — host-free, numpy only: load a .nlut or LUT file for the filter (signature
  policy, info text, engine choice), and the fast tiled tetrahedral / network evaluators that run
  inside GIMP's Python. Unit-tested without GIMP.
* :mod:`.plugin.lutplug_apply` — the GIMP plug-in itself (``gi.repository.Gimp``), installed as
  ``PROFILE/plug-ins/lutplug-apply/lutplug-apply.py``.
* :mod:`.install` — ``lutplug gimp install`` / ``uninstall``: writes one self-contained plug-in
  folder (the plug-in, a copy of exactly the lutplug modules it needs, numpy and cryptography
  wheels for GIMP's Python, a manifest) and removes exactly what it wrote.
* :mod:`.cli` — the ``lutplug gimp`` click group.

This module imports nothing (the main CLI imports it at start-up).
"""

#: Name of the plug-in folder (and of its main file, ``lutplug-apply.py``), as GIMP 3 requires.
PLUGIN_NAME = "lutplug-apply"
#: The PDB procedure (scripts and batch jobs rely on this name and its arguments).
PROC_NAME = "plug-in-lutplug-apply"
#: Engine argument values: ``auto`` (network for small areas, baked cube for large ones),
#: ``mlp`` (run the .nlut's network on every pixel), ``cube`` (dense cube).
ENGINES = ("auto", "mlp", "cube")

"""GIMP 3 host: the "Apply Compressed LUT…" filter (PDB procedure ``plug-in-lutplug-apply``).

Layout:

* The filter's host-free core (numpy only; runs inside GIMP's own Python, unit-tested without
  GIMP), gathered in :mod:`.engine`: :mod:`.source` (open the file the user picked — a .nlut
  through :func:`lutplug.codec.nlut.open_nlut` — choose the evaluator, the info texts),
  :mod:`.settings` (the signature policy), :mod:`.kernels` and :mod:`.runner` (the fast
  evaluators), :mod:`.cache` (parsed LUT files), :mod:`.lutimage` (Hald / lookup-strip images).
* :mod:`.plugin` — the GIMP plug-in itself (``gi.repository.Gimp``): :mod:`.plugin.lutplug_apply`
  is installed as ``PROFILE/plug-ins/lutplug-apply/lutplug-apply.py``.
* ``lutplug gimp install`` / ``uninstall`` / ``status`` write one self-contained plug-in folder
  and remove exactly what they wrote: :mod:`.install` (build the folder and swap it in),
  :mod:`.profiles` (where GIMP's profile is), :mod:`.target` (GIMP's Python), :mod:`.wheels`
  (numpy and cryptography for it), :mod:`.vendor` (exactly the lutplug modules the plug-in
  needs), :mod:`.manifest` and :mod:`.installed` (what was installed).
* The ``lutplug gimp`` click group is :mod:`lutplug.cli.gimp`.

This module imports nothing: its names are shared by the engine, the installer and the tests.
"""

#: Name of the plug-in folder (and of its main file, ``lutplug-apply.py``), as GIMP 3 requires.
PLUGIN_NAME = "lutplug-apply"
#: The PDB procedure (scripts and batch jobs rely on this name and its arguments).
PROC_NAME = "plug-in-lutplug-apply"
#: Engine argument values: ``auto`` (network for small areas, baked cube for large ones),
#: ``mlp`` (run the .nlut's network on every pixel), ``cube`` (dense cube).
ENGINES = ("auto", "mlp", "cube")

"""The GIMP side of the filter (``gi.repository.Gimp``): :mod:`.lutplug_apply` is the plug-in
file ``lutplug gimp install`` copies to ``PROFILE/plug-ins/lutplug-apply/lutplug-apply.py``;
:mod:`.pixels` (pixel work) and :mod:`.uitest` (the test suite's dialog check) go to its
``lib/`` with the rest of lutplug it needs. Importing this package imports nothing."""

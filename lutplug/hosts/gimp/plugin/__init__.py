"""The GIMP 3 plug-in folder's files (``lutplug gimp install`` copies :mod:`.lutplug_apply` to
``PROFILE/plug-ins/lutplug-apply/lutplug-apply.py``). Importing this package imports nothing."""

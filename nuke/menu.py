import lutplug_nuke_setup  # the lutplug plug-in folder (see README.md): Nodes > lutplug, Color > LutPlug
lutplug_nuke_setup.menu()

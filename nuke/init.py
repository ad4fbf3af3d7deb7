import lutplug_nuke_setup  # the lutplug plug-in folder (see README.md): registers the LutPlug callbacks
lutplug_nuke_setup.init()

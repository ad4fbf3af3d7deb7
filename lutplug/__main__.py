"""``python -m lutplug``: the ``lutplug`` command."""
from lutplug.cli import main

main()

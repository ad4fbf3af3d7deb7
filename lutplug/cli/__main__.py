"""``python -m lutplug.cli``: the ``lutplug`` command."""
from lutplug.cli import main

main()

"""The ``lutplug`` command: parse, call the library, print, exit.

One module per command group: :mod:`.lut` (info, bake, apply, eval), :mod:`.codec` (compress;
folders through :mod:`.batch`), :mod:`.signing` (keygen, sign, verify), :mod:`.export`,
:mod:`.demo`, :mod:`.pack`, :mod:`.ocio`, :mod:`.nuke`, :mod:`.gimp`, :mod:`.web`; :mod:`.app` holds the group
and its error handling, :mod:`.common` what they share. Each imports nothing heavy until its
command runs.

Exit codes: 0 ok, 1 failure, 2 bad input or usage (the message names the file and what is wrong).
"""
from lutplug.cli import codec, demo, export, gimp, lut, nuke, ocio, pack, signing, web
from lutplug.cli.app import main

for _module in (lut, codec, signing, export, demo):
    for _command in _module.COMMANDS:
        main.add_command(_command)
for _group in (pack.group, ocio.group, nuke.group, gimp.group, web.group):
    main.add_command(_group)

__all__ = ["main"]

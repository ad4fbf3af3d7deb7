"""The ``lutplug`` command group: errors become one line and an exit code."""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from lutplug import __version__
from lutplug.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE
from lutplug.errors import LutError

#: Exit status of a command whose output pipe was closed (``lutplug … | head``): 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


def _thread_only_progress_lock() -> None:
    """Give tqdm a plain thread lock: its default also takes a cross-process semaphore, which a
    process killed while drawing a bar (a worker, a SIGKILLed child) leaves held for good,
    freezing every later progress bar of the processes sharing it."""
    import threading

    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())


def _quiet_broken_pipe() -> None:
    """Point stdout at /dev/null so the interpreter's final flush raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's capture)
        pass


class Group(click.Group):
    """Turns LutError into a one-line message and exit code 2, other errors into exit 1; a
    closed output pipe ends the command quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        _thread_only_progress_lock()
        try:
            return super().invoke(ctx)
        except LutError as exc:
            click.echo(f"lutplug: error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", EXIT_BAD_INPUT))
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            _quiet_broken_pipe()
            ctx.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt:
            click.echo("lutplug: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            click.echo(f"lutplug: failed: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_FAILURE)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lutplug")
def main() -> None:
    """Compress colour LUTs into tiny neural networks and ship them."""

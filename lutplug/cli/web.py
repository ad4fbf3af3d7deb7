"""``lutplug web …``: the browser runtime's static demo page.

Imports only click at module import (the main CLI loads this module at start-up).
"""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

import click


@click.group(name="web")
def group() -> None:
    """Grades in web pages: the .nlut ES module and a static demo page (docs/web.md)."""


@group.command()
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the page (created); serve it with any static web server.")
@click.option("--nlut", "nluts", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A .nlut to copy beside the page (repeatable).")
@click.option("--image", "media", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A picture or video to copy beside the page (repeatable).")
def demo(output: Path, nluts: Tuple[Path, ...], media: Tuple[Path, ...]) -> None:
    """Write the demo page: drop a .nlut and a picture or video, graded live in the browser."""
    from lutplug.hosts.web import page_bytes, write_demo

    write_demo(output, nluts, media)
    click.echo(f"wrote {output}/index.html (HTML + JavaScript {page_bytes():,} bytes)")
    query = ""
    if nluts:
        query = f"?nlut={nluts[0].name}" + (f"&image={media[0].name}" if media else "")
    click.echo(f"serve it, e.g.: python3 -m http.server -d {output} 8000, then open "
               f"http://127.0.0.1:8000/index.html{query}")

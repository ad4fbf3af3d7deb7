"""The browser host: a dependency-free ES module that reads .nlut files and grades pictures with
WebGL2 (``static/nlut.js``, ``nlut-record.js``, ``nlut-net.js``, ``nlut-gl.js``; imported only
when needed: ``nlut-legacy.js`` and a vendored inflate for format versions 1 and 2,
``nlut-cpu.js``, the CPU evaluator), and the static demo page that uses it (``static/index.html``, ``page.js``).

:func:`write_demo` copies the page into a folder, with optional .nlut files and pictures beside
it, for any static web server (docs/web.md). Nothing here runs in the browser; the files are
package data.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from pathlib import Path
from typing import Iterable, Iterator, List

from lutplug.codec.nlut import MAX_NLUT_BYTES, from_bytes_unverified
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write, read_bytes

#: The folder of the page and the module, inside the package.
STATIC = Path(__file__).resolve().parent / "static"
#: The page's files (relative to :data:`STATIC`): what a static server must serve.
PAGE_FILES = ("index.html", "page.js", "nlut.js", "nlut-record.js", "nlut-net.js", "nlut-gl.js",
              "nlut-legacy.js", "vendor/inflate.js", "nlut-cpu.js", "vendor/LICENSE-tiny-inflate.txt")
#: The ES modules of the runtime (without the demo page).
MODULE_FILES = ("nlut.js", "nlut-record.js", "nlut-net.js", "nlut-gl.js", "nlut-legacy.js", "vendor/inflate.js",
                "nlut-cpu.js")
#: Modules a page imports only when needed (dynamic imports): versions 1 and 2, and the CPU
#: evaluator (a residual lattice's nodes where the browser cannot render floats).
LAZY_FILES = ("nlut-legacy.js", "vendor/inflate.js", "nlut-cpu.js")
#: Largest picture or video copied beside the page.
MAX_MEDIA_BYTES = 1 << 30


def page_bytes(names: Iterable[str] = PAGE_FILES, lazy: bool = False) -> int:
    """The page's weight: uncompressed bytes of its HTML and JavaScript as ``lutplug web demo``
    writes them, licence text excluded; without :data:`LAZY_FILES` (what a browser that renders
    floats loads to grade a version 3 file) unless ``lazy``."""
    return sum((STATIC / n).stat().st_size for n in names
               if n.endswith((".html", ".js")) and (lazy or n not in LAZY_FILES))


def write_demo(output: PathLike, nluts: Iterable[PathLike] = (), media: Iterable[PathLike] = ()) -> List[Path]:
    """Write the demo page into the folder ``output`` (created), with copies of ``nluts`` (each
    checked to be a readable .nlut first) and ``media`` (pictures or videos) beside it. Returns
    the files written. Raises :class:`LutError` naming a file that cannot be used."""
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise LutError("is not a folder", out)
    written: List[Path] = []
    for name in PAGE_FILES:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, (STATIC / name).read_bytes())
        written.append(target)
    for path in nluts:
        data = read_bytes(path, MAX_NLUT_BYTES)
        from_bytes_unverified(data, str(path))  # refuse what no page could read, naming the file
        atomic_write(out / Path(path).name, data)
        written.append(out / Path(path).name)
    for path in media:
        src = Path(path)
        if not src.is_file():
            raise LutError("no such picture or video", src)
        if src.stat().st_size > MAX_MEDIA_BYTES:
            raise LutError(f"is larger than the {MAX_MEDIA_BYTES} bytes a demo page takes", src)
        shutil.copyfile(src, out / src.name)
        written.append(out / src.name)
    return written


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@contextlib.contextmanager
def serve(folder: PathLike, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (``port`` 0: a free one) in a background thread,
    for tests, benchmarks and a quick look; yields the base URL. Any static server does as well."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

"""The browser host: a dependency-free ES module that reads .nlut files and grades pictures with
WebGL2 (``static/nlut.js``, ``nlut-record.js``, ``nlut-net.js``, ``nlut-gl.js``, a vendored
raw inflate), and the static demo page that uses it (``static/index.html``, ``page.js``).

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
              "vendor/inflate.js", "vendor/LICENSE-tiny-inflate.txt")
#: The ES modules a page imports (nlut.js and what it imports): the runtime without the demo.
MODULE_FILES = ("nlut.js", "nlut-record.js", "nlut-net.js", "nlut-gl.js", "vendor/inflate.js")
#: Largest picture or video copied beside the page.
MAX_MEDIA_BYTES = 1 << 30


def page_bytes(names: Iterable[str] = PAGE_FILES) -> int:
    """Bytes of the page's HTML and JavaScript (its weight, licence text excluded)."""
    return sum((STATIC / n).stat().st_size for n in names if n.endswith((".html", ".js")))


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

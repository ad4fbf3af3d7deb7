"""The filter's pixel work inside GIMP: which drawables it can filter, reading and writing their
pixels as float32 in their own encoding (GEGL buffers, the shadow buffer, the selection), and
decoding LUT images with GIMP's own loaders. Imported by the plug-in (:mod:`.lutplug_apply`)
once its ``lib/`` and ``vendor/`` folders are on ``sys.path``."""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, Gio  # noqa: E402

import numpy as np  # noqa: E402

from lutplug.errors import LutError  # noqa: E402
from lutplug.hosts.gimp.runner import Runner  # noqa: E402

#: GIMP's tiles are 64x64: reading whole tile rows never fetches a tile twice.
TILE = 64
#: Pixels read from GEGL per block (bounded memory on huge layers; progress per block).
BLOCK_PIXELS = 1 << 20

#: An area of a drawable: x, y, width, height.
Area = Tuple[int, int, int, int]


def pixel_format(drawable: Any) -> Tuple[str, int]:
    """(babl format name, channels): float32 in the drawable's own encoding (linear, non-linear
    "'" or perceptual "~") and its own colour space, so the LUT sees the values as stored."""
    fmt = drawable.get_format()
    alpha = drawable.has_alpha()
    model = Babl.get_name(Babl.format_get_model(fmt))
    if model.startswith("R~G~B~"):
        base = "R~G~B~"
    elif model.startswith("R'G'B'"):
        base = "R'G'B'"
    elif model.startswith("RGB"):
        base = "RGB"
    else:  # not an RGB model (never for RGB images): sRGB-encoded values
        base = "R'G'B'"
    name = base + ("A" if alpha else "") + " float"
    space = Babl.format_get_space(fmt)
    return Babl.get_name(Babl.format_with_space(name, space)), (4 if alpha else 3)


def read_lut_image(path: str) -> Tuple[np.ndarray, str]:
    """Decode a Hald / lookup-strip image with GIMP's own loaders: float32 (H, W, 3) holding the
    stored values (8-bit code / 255 etc.), and a description of the stored precision."""
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    if image is None:
        raise LutError("GIMP cannot open this image", path)
    try:
        layers = image.get_layers()
        if len(layers) != 1:
            raise LutError(f"a LUT image must have one layer, this one has {len(layers)}", path)
        layer = layers[0]
        if not layer.is_rgb():
            raise LutError("a LUT image must be RGB", path)
        w, h = layer.get_width(), layer.get_height()
        fmt, ch = pixel_format(layer)
        buf = layer.get_buffer()
        data = buf.get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.NONE)
        del buf
        px = np.frombuffer(data, np.float32).reshape(h, w, ch)[..., :3]
        depth = image.get_precision().value_nick
        return np.ascontiguousarray(px), depth
    finally:
        image.delete()


def check_drawables(drawables: Sequence[Any]) -> Optional[str]:
    """An error message, or None when every drawable can be filtered."""
    if not drawables:
        return "no layer selected: select one or more RGB layers"
    for d in drawables:
        name = d.get_name()
        is_group = getattr(d, "is_group_layer", None) or getattr(d, "is_group", None)
        if is_group is not None and is_group():
            return f"'{name}' is a layer group: select the layers inside it"
        if not d.is_rgb():
            return f"'{name}' is not an RGB drawable (a layer mask or channel?): select RGB layers"
        if d.get_lock_content():
            return f"'{name}' has its pixels locked"
    return None


def area_of(drawable: Any) -> Optional[Area]:
    """The part of ``drawable`` the selection covers (all of it without one); None if nothing."""
    ok, x, y, w, h = drawable.mask_intersect()
    return (x, y, w, h) if ok and w > 0 and h > 0 else None


def apply_to_drawable(drawable: Any, area: Area, runner: Runner, strength: float,
                      progress: Callable[[float], Any], done: int, total: int,
                      pool: ThreadPoolExecutor, log: Optional[Callable[[str], None]] = None) -> int:
    """Filter ``area`` of ``drawable`` through its shadow buffer; merge_shadow() blends through
    the selection (feathering included) and records the undo step. ``done`` of ``total`` pixels
    were filtered before (``progress`` is told the fraction); returns the new ``done``.
    ``log`` (optional) is told where the time went.

    Pipelined: while block k is computed (``pool``, numpy threads without the GIL), the main
    thread reads block k+1 from GIMP and writes block k-1 back (only the main thread talks to
    GIMP)."""
    x, y, w, h = area
    fmt, ch = pixel_format(drawable)
    source = drawable.get_buffer()
    shadow = drawable.get_shadow_buffer()
    rows = max(TILE, (BLOCK_PIXELS // max(w, 1)) // TILE * TILE)
    rects: List[Any] = []
    top = y
    while top < y + h:
        end = min(y + h, (top // TILE) * TILE + rows)   # blocks end on tile-row boundaries
        rects.append(Gegl.Rectangle.new(x, top, w, end - top))
        top = end
    clock = time.perf_counter
    spent: Dict[str, float] = {"read": 0.0, "wait": 0.0, "write": 0.0}

    def write(rect: Any, job: "Future[np.ndarray]") -> None:
        nonlocal done
        t0 = clock()
        out = job.result()
        t1 = clock()
        shadow.set(rect, fmt, out.tobytes())  # bytes: copied by memcpy (a memoryview is not)
        spent["wait"] += t1 - t0
        spent["write"] += clock() - t1
        done += rect.width * rect.height
        progress(done / total)

    pending: Optional[Tuple[Any, "Future[np.ndarray]"]] = None
    for rect in rects:
        t0 = clock()
        data = source.get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE)
        px = np.frombuffer(data, np.float32).reshape(-1, ch)   # read-only view of GIMP's bytes
        spent["read"] += clock() - t0
        job = pool.submit(runner.run, px, strength)
        if pending is not None:
            write(*pending)
        pending = (rect, job)
    if pending is not None:
        write(*pending)
    t0 = clock()
    shadow.flush()
    t1 = clock()
    drawable.merge_shadow(True)
    drawable.update(x, y, w, h)
    if log is not None:
        log(f"{drawable.get_name()}: {w}x{h} {fmt.split('-')[0]}, {len(rects)} blocks: read "
            f"{spent['read']:.2f} s, waited for compute {spent['wait']:.2f} s, write "
            f"{spent['write']:.2f} s, flush {t1 - t0:.2f} s, merge {clock() - t1:.2f} s")
    return done

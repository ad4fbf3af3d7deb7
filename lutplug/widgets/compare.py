"""``CompareWidget``: an original grade and its compressed version on a picture, in a notebook.

The kernel computes once per setting (numpy, :mod:`lutplug.widgets.comparison`) and sends PNGs of
both graded pictures plus per-pixel values for the hover readout; the browser does the wipe,
toggle, side-by-side and heat map views itself (``static/compare.js``). Only mix, exposure and a
new picture go back to the kernel.
"""
from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

import anywidget
import numpy as np
import traitlets

from lutplug.errors import LutError
from lutplug.metrics.heatmap import colorize
from lutplug.metrics import QUALITY_TARGETS
from lutplug.widgets.comparison import Comparison, Frame, ImageStats
from lutplug.widgets.images import MAX_DISPLAY_PIXELS, ImageLike, encode_png, to_uint8

STATIC = Path(__file__).parent / "static"
VIEWS = ("wipe", "side", "toggle", "heatmap")
#: Largest picture accepted from the browser's upload button (bytes).
MAX_UPLOAD_BYTES = 512 << 20


def ramp_bytes() -> bytes:
    """The heat-map colour scale as 256 RGB uint8 triples: entry i is the colour of
    ΔE = (i / 255) · 2 · threshold (so the threshold sits at entry 127.5, as in lutplug.metrics.heatmap)."""
    return colorize(np.linspace(0.0, 2.0, 256), threshold=1.0).tobytes()


def json_number(value: Optional[float]) -> Optional[float]:
    """JSON-safe: inf/NaN (a PSNR of identical images) become None; ints stay ints."""
    if value is None or isinstance(value, int):
        return value
    return float(value) if math.isfinite(value) else None


class CompareWidget(anywidget.AnyWidget):
    """Compare ``original`` and ``compressed`` (paths or objects: any LUT file, .nlut, LUT3D,
    NeuralLUT) on ``image`` (None: the bundled review plate; a path; an array (H, W, 3)).

    Views (``view``): ``"wipe"`` (drag the split line), ``"side"``, ``"toggle"`` (click or press
    Space/T on the picture) and ``"heatmap"`` (ΔE00 per pixel, colour bar with ``threshold``
    marked). ``mix`` (0–1) blends each grade with the input; ``exposure`` (stops) scales the input
    before grading, for scene-linear HDR/EXR pictures. Readouts: ΔE00 mean/p99/max and PSNR on the
    image (every pixel, full resolution) and over the LUT's input domain, file sizes and ratio;
    hovering shows input, original and compressed RGB and ΔE00 under the cursor.
    """

    _esm = STATIC / "compare.js"
    _css = STATIC / "widgets.css"

    view = traitlets.Enum(VIEWS, default_value="wipe").tag(sync=True)
    mix = traitlets.Float(1.0, min=0.0, max=1.0).tag(sync=True)
    exposure = traitlets.Float(0.0, min=-16.0, max=16.0).tag(sync=True)
    threshold = traitlets.Float(1.5, min=0.01, max=100.0).tag(sync=True)
    #: Initial position of the wipe line (0 left … 1 right); dragging it stays in the browser.
    split = traitlets.Float(0.5, min=0.0, max=1.0).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    original_png = traitlets.Bytes(b"").tag(sync=True)
    compressed_png = traitlets.Bytes(b"").tag(sync=True)
    #: :meth:`Frame.probe_bytes` of the displayed frame (hover readout, heat map).
    probe = traitlets.Bytes(b"").tag(sync=True)
    ramp = traitlets.Bytes(b"").tag(sync=True)
    stats = traitlets.Dict().tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, original: Any, compressed: Any, image: ImageLike = None, *,
                 view: str = "wipe", mix: float = 1.0, exposure: float = 0.0, threshold: float = 1.5,
                 max_display_pixels: int = MAX_DISPLAY_PIXELS, n_random: int = 200_000, **kwargs):
        super().__init__(view=view, mix=mix, exposure=exposure, threshold=threshold,
                         ramp=ramp_bytes(), **kwargs)
        self.comparison = Comparison(original, compressed, image,
                                     max_display_pixels=max_display_pixels, n_random=n_random)
        self.frame: Frame
        self.image_stats: ImageStats
        self._refresh()
        self.on_msg(self._on_message)

    # -- Python API ------------------------------------------------------------------------
    def load(self, original: Any, compressed: Any) -> None:
        """Compare another pair of grades on the same picture."""
        self.comparison.set_grades(original, compressed)
        self._refresh()

    def set_image(self, image: ImageLike) -> None:
        """Show another picture (path, array, or None for the review plate)."""
        self.comparison.set_image(image)
        self._refresh()

    def summary(self) -> str:
        """The readouts as text (what the widget's table shows)."""
        s, d, c = self.image_stats, self.comparison.domain, self.comparison
        sizes = c.sizes()
        ratio = f"{sizes['ratio']:.0f}:1" if sizes["ratio"] else "ratio n/a"
        nbytes = ["unknown size" if n is None else f"{n} B"
                  for n in (sizes["original_bytes"], sizes["compressed_bytes"])]
        return (f"{c.original.name} vs {c.compressed.name} on {c.image_name} ({s.width}x{s.height}, "
                f"mix {self.mix:g}, exposure {self.exposure:+g})\n"
                f"  image       ΔE00 mean {s.de_mean:.3f}  p99 {s.de_p99:.3f}  max {s.de_max:.3f}  "
                f"PSNR {s.psnr:.2f} dB\n"
                f"  LUT domain  {d.summary()}\n"
                f"  sizes       {nbytes[0]} vs {nbytes[1]} ({ratio})")

    # -- kernel side of the front end ------------------------------------------------------
    @traitlets.observe("mix", "exposure")
    def _setting_changed(self, change: Dict[str, Any]) -> None:
        if hasattr(self, "comparison"):  # not during __init__
            self._refresh()

    def _refresh(self) -> None:
        self.busy = True
        try:
            frame, stats = self.comparison.evaluate(self.exposure, self.mix)
            with self.hold_sync():
                self.height, self.width = frame.original.shape[:2]
                self.original_png = encode_png(to_uint8(frame.original))
                self.compressed_png = encode_png(to_uint8(frame.compressed))
                self.probe = frame.probe_bytes()
                self.stats = self._stats_dict(stats)
                self.error = ""
            self.frame, self.image_stats = frame, stats
        finally:
            self.busy = False

    def _stats_dict(self, stats: ImageStats) -> Dict[str, Any]:
        c, d = self.comparison, self.comparison.domain
        target = QUALITY_TARGETS["invisible"]
        return {
            "image": {"name": c.image_name, "width": stats.width, "height": stats.height,
                      "display_width": int(c.display.shape[1]), "display_height": int(c.display.shape[0]),
                      **{k: json_number(getattr(stats, k)) for k in ("de_mean", "de_p99", "de_max", "psnr")}},
            "domain": {"points": d.points,
                       **{k: json_number(getattr(d, k)) for k in ("de_mean", "de_p99", "de_max", "psnr")}},
            "sizes": {"original_name": c.original.name, "compressed_name": c.compressed.name,
                      **{k: json_number(v) for k, v in c.sizes().items()}},
            "target": target.as_dict(),
        }

    def _on_message(self, _widget: Any, content: Dict[str, Any], buffers: list) -> None:
        """Messages from the picker: ``{"type": "path", "path": …}`` or ``{"type": "upload",
        "name": …}`` with the file's bytes as the first buffer."""
        try:
            if content.get("type") == "path":
                self.set_image(str(content.get("path", "")).strip())
            elif content.get("type") == "upload" and buffers:
                self._load_upload(str(content.get("name", "upload")), bytes(buffers[0]))
        except (LutError, OSError) as exc:
            self.error = str(exc)

    def _load_upload(self, name: str, data: bytes) -> None:
        if len(data) > MAX_UPLOAD_BYTES:
            raise LutError(f"uploaded picture is {len(data)} bytes, more than the {MAX_UPLOAD_BYTES} "
                           "accepted: type its path instead", name)
        suffix = Path(name).suffix.lower()
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
            raise LutError("uploaded file has no image extension (.exr, .png, .tif, .jpg …)", name)
        with tempfile.TemporaryDirectory(prefix="lutplug-upload-") as tmp:
            path = Path(tmp) / ("upload" + suffix)
            path.write_bytes(data)
            self.comparison.set_image(path)
        self.comparison.image_name = Path(name).name
        self._refresh()

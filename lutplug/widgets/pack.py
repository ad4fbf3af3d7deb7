"""``PackBrowser``: thumbnails of a folder of LUTs / .nlut files with size, ratio and ΔE00; a click
opens the item in a :class:`~lutplug.widgets.CompareWidget` under the grid."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import anywidget
import ipywidgets
import traitlets

from lutplug.widgets.catalogue import PackItem, Paths, scan_pack
from lutplug.widgets.compare import STATIC, CompareWidget, json_number
from lutplug.widgets.images import ImageLike


class PackGrid(anywidget.AnyWidget):
    """The grid of cards (``static/pack.js``). ``items``: one dict per card, thumbnail PNG bytes
    included; ``selected``: index of the card clicked (-1: none), set by the browser."""

    _esm = STATIC / "pack.js"
    _css = STATIC / "widgets.css"

    items = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)


def _card(item: PackItem) -> Dict[str, Any]:
    shown = item.compressed or item.original
    return {"name": item.name, "file": shown.name if shown is not None else item.name,
            "nbytes": item.nbytes, "original_bytes": item.original_bytes, "ratio": json_number(item.ratio),
            "de_mean": json_number(item.de_mean), "de_max": json_number(item.de_max), "quality": item.quality,
            "error": item.error, "comparable": item.comparable, "thumbnail": item.thumbnail,
            "info": item.info}


class PackBrowser(ipywidgets.VBox):
    """Browse ``paths`` (a folder, a file, or a list of them; see
    :func:`~lutplug.widgets.catalogue.scan_pack`). Clicking a .nlut opens it against its original
    (or, when the original is not in the folder, against its own baked cube) in ``self.compare``,
    shown under the grid; ``image`` is the picture used for thumbnails and the comparison."""

    def __init__(self, paths: Paths, image: ImageLike = None, **kwargs):
        self.image = image
        self.items: List[PackItem] = scan_pack(paths, image)
        self.grid = PackGrid(items=[_card(i) for i in self.items],
                             status=f"{len(self.items)} items: click a .nlut to compare it")
        self.compare: Optional[CompareWidget] = None
        super().__init__(children=[self.grid], **kwargs)
        self.grid.observe(self._clicked, names="selected")

    def select(self, index: int) -> Optional[CompareWidget]:
        """Show item ``index`` in the CompareWidget (what a click does); None if it has no .nlut."""
        item = self.items[index]
        compressed = item.compressed
        if compressed is None or not item.comparable:
            source = item.original.name if item.original is not None else item.name
            self.grid.status = (f"{item.name}: {item.error}" if item.error else
                                f"{item.name}: no .nlut of it here (make one with `lutplug compress "
                                f"{source} -o {item.name}.nlut`)")
            return None
        original: Any = item.original
        note = f"against {item.original.name}" if item.original else ""
        if original is None:
            from lutplug.codec.nlut import open_nlut

            original = open_nlut(compressed).nlut.bake()
            note = f"against its own baked {original.size}³ cube (the original is not in the folder)"
        if self.compare is None:
            self.compare = CompareWidget(original, compressed, self.image)
            self.children = [self.grid, self.compare]
        else:
            self.compare.load(original, compressed)
        self.grid.status = f"{compressed.name} {note}"
        return self.compare

    def _clicked(self, change: Dict[str, Any]) -> None:
        if change["new"] >= 0:
            self.select(change["new"])

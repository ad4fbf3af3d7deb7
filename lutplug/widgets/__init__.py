"""Jupyter widgets (anywidget: JupyterLab, Notebook 7, VS Code, Colab) to judge a compressed grade
by eye: :class:`CompareWidget` (wipe / side by side / toggle / ΔE00 heat map of the original and
the compressed grade on a picture, with the numbers) and :class:`PackBrowser` (a folder of LUTs and
.nlut files as thumbnails). Needs the ``widgets`` extra (``pip install 'lutplug[widgets]'``); the
front-end files are in the package, nothing is loaded from the network.
"""
from lutplug.widgets.compare import CompareWidget
from lutplug.widgets.pack import PackBrowser

__all__ = ["CompareWidget", "PackBrowser"]

"""Example data bundled in the package (licences in LICENSES.md): a photograph and two grades."""
from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of a file bundled in lutplug/data, e.g. ``data_path("astronaut.png")``."""
    return Path(str(resources.files("lutplug") / "data" / name))

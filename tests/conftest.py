"""Shared pytest fixtures (kept small; plain helpers live in tests/helpers.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

#: The developer LUT corpus beside the repository (../shared/luts).
SHARED_LUTS = Path(__file__).resolve().parents[1].parent / "shared" / "luts"


@pytest.fixture(scope="session")
def shared_luts() -> Path:
    """Folder of the shared real-LUT corpus; skips when it is absent."""
    if not SHARED_LUTS.is_dir():
        pytest.skip(f"shared LUT corpus not found at {SHARED_LUTS} (it lives beside the repo)")
    return SHARED_LUTS


@pytest.fixture(scope="session")
def ocio_file_apply():
    """``f(path, rgb, interpolation="tetrahedral") -> rgb``: OpenColorIO's own CPU processor for
    a file (FileTransform, default optimisation), the independent reference for readers."""
    ocio = pytest.importorskip("PyOpenColorIO")
    interps = {"tetrahedral": ocio.INTERP_TETRAHEDRAL, "linear": ocio.INTERP_LINEAR,
               "default": ocio.INTERP_DEFAULT}

    def apply(path, rgb, interpolation: str = "tetrahedral") -> np.ndarray:
        ocio.ClearAllCaches()  # files are rewritten under the same name between tests
        config = ocio.Config.CreateRaw()
        proc = config.getProcessor(ocio.FileTransform(str(path),
                                                      interpolation=interps[interpolation]))
        rgb = np.asarray(rgb, dtype=np.float32)
        buf = np.ascontiguousarray(rgb.reshape(-1)).copy()
        proc.getDefaultCPUProcessor().applyRGB(buf)
        return buf.reshape(rgb.shape)

    return apply

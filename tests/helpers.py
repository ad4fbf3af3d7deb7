"""Small helpers shared by the lead's tests (no fixtures: see conftest.py for those)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_LUTS = REPO.parent / "shared" / "luts"


def require(ok: bool, reason: str) -> None:
    """Skip the test for ``reason`` unless ``ok``; in CI (CI=true) fail instead: a tool the
    browser tests need (chromium, Playwright) must be there."""
    if ok:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI needs it (bash scripts/setup.sh dev installs it)")
    pytest.skip(reason)


def shared_lut(name: str) -> Path:
    """Path of a LUT in ../shared/luts, skipping the test when the corpus is absent."""
    path = SHARED_LUTS / name
    if not path.exists():
        pytest.skip(f"{path} not present (the shared LUT corpus lives beside the repo)")
    return path


def random_table(n: int, seed: int = 0) -> np.ndarray:
    """A smooth but strongly non-separable float32 (n, n, n, 3) table, [b, g, r] layout."""
    g = np.linspace(0, 1, n)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rng = np.random.default_rng(seed)
    m = rng.normal(0, 0.3, (3, 3)) + np.eye(3)
    rgb = np.stack([r, gg, b], -1)
    out = rgb @ m.T + 0.1 * np.sin(3 * rgb[..., [1, 2, 0]]) + rng.normal(0, 0.01, rgb.shape)
    return out.astype(np.float32)


def run_compute_shader(gl, source: str, rgb: np.ndarray, mix: float = 1.0) -> np.ndarray:
    """Run a lutplug compute shader (``glsl.compute_shader``: buffers 0/1, ``u_mix``, ``u_count``,
    64 lanes) on a moderngl context over float32 (N, 3) pixels with alpha 1: float32 (N, 4)."""
    src = gl.buffer(np.concatenate([rgb, np.ones((len(rgb), 1), np.float32)], 1).tobytes())
    dst = gl.buffer(reserve=len(rgb) * 16)
    src.bind_to_storage_buffer(0)
    dst.bind_to_storage_buffer(1)
    prog = gl.compute_shader(source)
    prog["u_mix"].value = mix
    prog["u_count"].value = len(rgb)
    prog.run(group_x=(len(rgb) + 63) // 64)
    return np.frombuffer(dst.read(), np.float32).reshape(-1, 4)

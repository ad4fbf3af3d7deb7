"""Applying a kernel to blocks of RGB/RGBA float pixels, with strength, on several threads
(numpy releases the GIL), in cache-sized pieces."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import numpy as np

from lutplug.hosts.gimp.kernels import Kernel

#: Pixels per kernel call: the working set (a few arrays of this many rows) stays in L2 cache.
PIECE = 8192


class Runner:
    """Applies a kernel to float32 pixel blocks on ``threads`` threads.

    ``run(px, strength, out=None)``: ``px`` is float32 (..., C), C = 3 (RGB) or 4 (RGBA, alpha
    kept), C-contiguous, possibly read-only; RGB becomes ``rgb + strength * (kernel(rgb) - rgb)``,
    written into ``out`` (a new array unless given; ``out=px`` works in place). Returns ``out``.
    """

    def __init__(self, kernel: Kernel, threads: Optional[int] = None, piece: int = PIECE):
        self.kernel = kernel
        self.piece = int(piece)
        self.threads = max(1, int(threads or os.cpu_count() or 1))
        self._pool: Optional[ThreadPoolExecutor] = (ThreadPoolExecutor(self.threads)
                                                     if self.threads > 1 else None)

    def close(self) -> None:
        """Stop the worker threads (the runner can still be used, on one thread)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _piece(self, src: np.ndarray, dst: np.ndarray, strength: float) -> None:
        self.kernel.apply(src, dst, strength)
        if dst.shape[1] > 3 and not np.may_share_memory(src, dst):
            dst[:, 3:] = src[:, 3:]

    def run(self, px: np.ndarray, strength: float = 1.0, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Grade ``px`` into ``out`` (see the class doc); returns ``out``."""
        if px.dtype != np.float32 or px.shape[-1] not in (3, 4) or not px.flags.c_contiguous:
            raise ValueError(f"pixels must be C-contiguous float32 (..., 3 or 4), got "
                             f"{px.dtype} {px.shape}")
        if out is None:
            out = np.empty_like(px)
        elif out.shape != px.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError("out must be a C-contiguous float32 array shaped like the pixels")
        src = px.reshape(-1, px.shape[-1])
        dst = out.reshape(-1, px.shape[-1])
        if strength <= 0.0:
            if out is not px:
                dst[...] = src
            return out
        spans = [(s, min(s + self.piece, len(src))) for s in range(0, len(src), self.piece)]
        if self._pool is None or len(spans) == 1:
            for s, e in spans:
                self._piece(src[s:e], dst[s:e], strength)
        else:
            jobs = [self._pool.submit(self._piece, src[s:e], dst[s:e], strength) for s, e in spans]
            for job in jobs:
                job.result()
        return out

"""Compile generated Blink kernels with g++ against blink_shim.h and run them over pixels."""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

SHIM = Path(__file__).parent
GXX: Optional[str] = shutil.which("g++")


def build(tmp: Path, sources: Sequence[str], sample: str = "float4", sanitize: bool = False) -> Path:
    """One executable running kernels K0, K1, ... (their struct names must be K<i>)."""
    assert GXX is not None, "g++ is needed"
    includes = []
    for i, src in enumerate(sources):
        path = tmp / f"kernel{i}.blink"
        path.write_text(src)
        includes.append(f'#include "{path}"')
    includes.append("#define LUTPLUG_KERNEL_LIST " + " ".join(f"X(K{i})" for i in range(len(sources))))
    (tmp / "kernels.inc").write_text("\n".join(includes) + "\n")
    exe = tmp / f"run_{sample}{'_asan' if sanitize else ''}"
    cmd = [GXX, "-std=c++17", "-O1", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Werror",
           "-Wno-unused-variable", f"-I{SHIM}", f'-DKERNELS_FILE="{tmp / "kernels.inc"}"',
           f"-DBLINK_SAMPLE={sample}", str(SHIM / "run_kernels.cpp"), "-o", str(exe)]
    if sanitize:
        cmd[3:3] = ["-fsanitize=address,undefined,float-cast-overflow", "-fno-sanitize-recover=all", "-g"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-4000:]
    return exe


def run(exe: Path, index: int, rgba: np.ndarray) -> np.ndarray:
    """Kernel ``index`` over (n, 4) float32 pixels; returns (n, 4)."""
    rgba = np.ascontiguousarray(rgba, dtype=np.float32)
    r = subprocess.run([str(exe)], input=struct.pack("<ii", index, len(rgba)) + rgba.tobytes(),
                       capture_output=True)
    assert r.returncode == 0, r.stderr.decode()[-4000:]
    return np.frombuffer(r.stdout, np.float32).reshape(-1, 4)

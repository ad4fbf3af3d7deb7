"""One atheris (libFuzzer) run of one target: ``python -m tests.fuzz.main TARGET [libFuzzer args]``.

lutplug's modules are instrumented for coverage; numpy, OpenColorIO and the like are not. An
input that raises anything but LutError, or breaks the time/memory bound, is a crash: this prints
``LUTPLUG-FUZZ-SIGNATURE: <kind> <where>`` (for de-duplication) and re-raises, and libFuzzer
saves the input as ``crash-*``. ``$LUTPLUG_FUZZ_STATS`` names a JSON file that receives
running figures (inputs, largest allocation, slowest input). Normally started by
:mod:`tests.fuzz.run`.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path


#: Modules the targets reach (imported inside the instrumentation block: a module first
#: imported later would not be instrumented).
INSTRUMENTED = [
    "lutplug.fileio", "lutplug.core.lut", "lutplug.core.interpolate", "lutplug.core.formats",
    *(f"lutplug.core.formats.{m}" for m in ("cube", "threedl", "spi", "csp", "clf", "hald",
                                            "ocio_sampled")),
    "lutplug.codec.tensorfile", "lutplug.codec.container", "lutplug.codec.signing",
    "lutplug.codec.trust", "lutplug.codec.layout", "lutplug.codec.signature",
    *(f"lutplug.codec.model.{m}" for m in ("config", "numpy_net", "bake", "lattice")),
    "lutplug.codec.quantize", "lutplug.codec.nlut", "lutplug.core.load",
    "lutplug.codec.adapters", "lutplug.codec.pack", "lutplug.evaluate.load",
    "lutplug.hosts.ocio.ociolib", "lutplug.hosts.ocio.yamltext", "lutplug.hosts.ocio.grades",
    "lutplug.hosts.ocio.processing", "lutplug.hosts.ocio.edit", "lutplug.hosts.ocio.entries",
    "lutplug.hosts.ocio.verification", "lutplug.hosts.ocio.configfile", "lutplug.imageio",
]


def signature(exc: BaseException) -> str:
    """Exception kind plus the innermost frame in lutplug (else the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/lutplug/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].name}:{ours[-1].lineno}" if ours else "?"
    kind = getattr(exc, "kind", None) or type(exc).__name__
    return f"{kind} {where}"


def main() -> None:
    import atheris

    # heavy dependencies first, uninstrumented; then lutplug (and the targets) instrumented
    import numpy  # noqa: F401
    import PyOpenColorIO  # noqa: F401
    import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
    with atheris.instrument_imports(include=["lutplug"]):
        for module in INSTRUMENTED:
            try:
                importlib.import_module(module)
            except ImportError:  # e.g. the pack code, where it is not there yet
                pass
        from tests.fuzz import targets
    name = sys.argv[1]
    target = targets.TARGETS[name]
    scratch = Path(tempfile.mkdtemp(prefix=f"lutplug-fuzz-{name}-"))
    stats_path = os.environ.get("LUTPLUG_FUZZ_STATS")
    stats = {"target": name, "inputs": 0, "max_alloc_bytes": 0, "max_alloc_input_bytes": 0,
             "max_alloc_ratio_of_limit": 0.0, "max_cpu_seconds": 0.0}

    def save() -> None:
        if stats_path:
            Path(stats_path).write_text(json.dumps(stats))

    def one_input(data: bytes) -> None:
        t0 = time.process_time()
        try:
            peak = targets.check(target, data, scratch)
        except BaseException as exc:
            print(f"LUTPLUG-FUZZ-SIGNATURE: {signature(exc)}", file=sys.stderr, flush=True)
            save()
            raise
        cpu = time.process_time() - t0
        stats["inputs"] += 1
        limit = target.alloc_factor * len(data) + targets.ALLOC_SLACK
        changed = False
        if peak > stats["max_alloc_bytes"]:
            stats.update(max_alloc_bytes=peak, max_alloc_input_bytes=len(data))
            changed = True
        if peak / limit > stats["max_alloc_ratio_of_limit"]:
            stats["max_alloc_ratio_of_limit"] = round(peak / limit, 4)
            changed = True
        if cpu > stats["max_cpu_seconds"]:
            stats["max_cpu_seconds"] = round(cpu, 4)
            changed = True
        if changed or stats["inputs"] % 500 == 0:
            save()

    atheris.Setup([sys.argv[0]] + sys.argv[2:], one_input)
    import tracemalloc

    tracemalloc.start()
    atheris.Fuzz()


if __name__ == "__main__":
    main()

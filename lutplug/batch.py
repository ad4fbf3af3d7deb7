"""Compress many independent LUTs: a local process pool (``jobs``) or a Dask distributed cluster
(``cluster`` address), skipping LUTs whose output is up to date.

Every job is self-contained bytes in, bytes out — :func:`compress_job` gets the source file's name
and bytes plus the settings and returns the .nlut bytes — so cluster workers need lutplug and
torch, not the client's file system; only the client reads sources and writes outputs
(atomically). A job's *key* is the SHA-256 of the source bytes and the canonical JSON of the
settings; it is recorded in the output's provenance (``provenance.job``), and a re-run skips a
source whose output exists, decodes and carries the same key.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from lutplug.errors import LutError, PathLike
from lutplug.fileio import NamedBytes

#: Extensions taken from a folder (other files — READMEs, licences — are ignored).
LUT_EXTENSIONS = (".cube", ".3dl", ".spi3d", ".spi1d", ".csp", ".clf", ".ctf", ".png", ".tif", ".tiff")
MAX_SOURCE_BYTES = 1 << 30
#: How long to wait for the Dask scheduler.
CLUSTER_TIMEOUT = "20s"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a compression depends on besides the source (all JSON-able)."""

    target: Dict[str, float]
    seed: int = 0
    budget_bytes: Optional[int] = None
    colorspace: Dict[str, str] = dataclasses.field(default_factory=dict)
    recipe: Dict[str, object] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Outcome:
    """What happened to one source: ``status`` is ``"done"``, ``"skipped"`` (up to date) or
    ``"failed"`` (``error`` says why)."""

    source: Path
    output: Path
    status: str
    bytes: int = 0
    meets_target: Optional[bool] = None
    seconds: float = 0.0
    worker: str = ""
    error: str = ""


def job_key(data: bytes, settings: Settings) -> str:
    """SHA-256 (hex) of the source bytes and the settings."""
    h = hashlib.sha256(data)
    h.update(json.dumps(settings.as_dict(), sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def find_sources(folder: PathLike) -> List[Path]:
    """LUT files directly inside ``folder`` (by extension), sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise LutError("is not a folder", root)
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in LUT_EXTENSIONS)


def plan(sources: Sequence[Path], out_dir: PathLike) -> List[Tuple[Path, Path]]:
    """(source, output) pairs, output ``OUT_DIR/<stem>.nlut``; two sources with the same stem
    are refused (their outputs would collide)."""
    out_dir = Path(out_dir)
    seen: Dict[str, Path] = {}
    pairs = []
    for src in sources:
        if src.stem in seen:
            raise LutError(f"{seen[src.stem].name} and {src.name} would both be written to "
                           f"{src.stem}.nlut; rename one", src)
        seen[src.stem] = src
        pairs.append((src, out_dir / f"{src.stem}.nlut"))
    return pairs


def is_up_to_date(output: Path, key: str) -> bool:
    """True when ``output`` is a readable .nlut made from the same source and settings."""
    if not output.is_file():
        return False
    from lutplug.codec.nlut import load_nlut

    try:
        return load_nlut(output).description.get("provenance", {}).get("job") == key
    except LutError:
        return False


def compress_job(name: str, data: bytes, settings: dict, threads: int = 1) -> dict:
    """Compress one LUT given as its file ``name`` and ``data``; returns {"nlut": bytes,
    "meets_target", "seconds", "worker", "error"}. Runs in a pool process or on a cluster worker."""
    import torch

    from lutplug.codec.compress import compress
    from lutplug.core.load import load_lut3d
    from lutplug.metrics import QualityTarget

    torch.set_num_threads(threads)
    s = Settings(**settings)
    t0 = time.perf_counter()
    worker = _worker_name()
    try:
        src = NamedBytes(Path(name).name, data)  # the source's own name: it goes into the provenance
        lut = load_lut3d(src)
        result = compress(lut, target=QualityTarget(**s.target), seed=s.seed,
                          budget_bytes=s.budget_bytes, source=src, colorspace=s.colorspace,
                          recipe=s.recipe or None)
        result.nlut.description["provenance"]["job"] = job_key(data, s)
        return {"nlut": result.nlut.to_bytes(), "meets_target": result.meets_target,
                "seconds": time.perf_counter() - t0, "worker": worker, "error": ""}
    except LutError as exc:
        return {"nlut": b"", "meets_target": None, "seconds": time.perf_counter() - t0,
                "worker": worker, "error": str(exc)}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _pool_init() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"


def compress_many(sources: Sequence[PathLike], out_dir: PathLike, settings: Settings, *,
                  jobs: Optional[int] = None, cluster: Optional[str] = None, force: bool = False,
                  on_event: Optional[Callable[[Outcome], None]] = None) -> List[Outcome]:
    """Compress ``sources`` into ``out_dir`` (created if missing), ``jobs`` local processes
    (default: every core) or the Dask scheduler at ``cluster`` (e.g. ``tcp://10.0.0.5:8786``).
    Up-to-date outputs are skipped unless ``force``. ``on_event`` sees each :class:`Outcome` as it
    happens. Returns the outcomes in source order."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs = plan([Path(s) for s in sources], out)
    outcomes: Dict[Path, Outcome] = {}
    todo = []
    for src, dst in pairs:
        if not force and is_up_to_date(dst, job_key(_read(src), settings)):
            outcomes[src] = Outcome(src, dst, "skipped")
            _emit(on_event, outcomes[src])
        else:
            todo.append((src, dst))
    results = (_run_cluster(todo, settings.as_dict(), cluster) if cluster
               else _run_local(todo, settings.as_dict(), jobs))
    for (src, dst), res in results:
        outcomes[src] = _finish(src, dst, res)
        _emit(on_event, outcomes[src])
    return [outcomes[src] for src, _ in pairs]


def _read(src: Path) -> bytes:
    from lutplug.fileio import read_bytes

    return read_bytes(src, MAX_SOURCE_BYTES)


def _windowed(todo, submit, window: int):
    """Submit the first ``window`` jobs; returns (the remaining items, {future: item}). Callers
    submit one more as each finishes, so sources are read only when submitted and a large library
    is never all in memory."""
    items = iter(todo)
    pending = {}
    for item in items:
        pending[submit(item[0].name, _read(item[0]))] = item
        if len(pending) >= window:
            break
    return items, pending


def _emit(on_event, outcome: Outcome) -> None:
    if on_event is not None:
        on_event(outcome)


def _finish(src: Path, dst: Path, res: dict) -> Outcome:
    if res.get("error") or not res.get("nlut"):
        return Outcome(src, dst, "failed", seconds=res.get("seconds", 0.0), worker=res.get("worker", ""),
                       error=res.get("error") or "no output")
    from lutplug.fileio import atomic_write

    atomic_write(dst, res["nlut"])
    return Outcome(src, dst, "done", len(res["nlut"]), res["meets_target"], res["seconds"], res["worker"])


def _run_local(todo, settings: dict, jobs: Optional[int]) -> Iterator[tuple]:
    if not todo:
        return
    import multiprocessing

    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch threads
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pool_init) as pool:
        def submit(name, data):
            return pool.submit(compress_job, name, data, settings)

        items, pending = _windowed(todo, submit, 2 * workers)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), _result(fut)
                nxt = next(items, None)
                if nxt is not None:
                    pending[submit(nxt[0].name, _read(nxt[0]))] = nxt


def _run_cluster(todo, settings: dict, address: str) -> Iterator[tuple]:
    if not todo:
        return
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise LutError("--cluster needs Dask distributed: pip install 'lutplug[cluster]'") from None
    try:
        client = Client(address, timeout=CLUSTER_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise LutError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    with client:
        def submit(name, data):
            return client.submit(compress_job, name, data, settings, pure=False)

        window = max(4, 2 * sum(client.nthreads().values()))
        items, pending = _windowed(todo, submit, window)
        running = as_completed(list(pending))
        for fut in running:
            yield pending.pop(fut), _result(fut)
            nxt = next(items, None)
            if nxt is not None:
                new = submit(nxt[0].name, _read(nxt[0]))
                pending[new] = nxt
                running.add(new)


def _result(fut) -> dict:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a crashed worker fails its LUT, not the batch
        return {"nlut": b"", "error": f"{type(exc).__name__}: {exc}", "seconds": 0.0, "worker": ""}

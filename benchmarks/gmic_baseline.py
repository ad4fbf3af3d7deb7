"""Baseline B: G'MIC's keypoint CLUT codec (``compress_clut`` / ``decompress_clut``) as a reference.

    .venv/bin/python benchmarks/gmic_baseline.py LUT... [--out benchmarks/results/gmic.json]
        [--timeout 600] [--threads 1] [--budget-min 0] [--force] [--workdir /tmp/gmic/work]

For each LUT: G'MIC (the ``gmic`` command-line tool, run under ``nice -n 10``) reads the .cube,
compresses it with ``compress_clut`` at G'MIC's own defaults, the keypoints are saved the way
G'MIC ships its CLUT collection (rounded, clipped to [0, 255], 8-bit) as a ``.cimgz`` file (CImg's
zlib-compressed format): its size in bytes is the codec's size. A second ``gmic`` run reads the
``.cimgz`` back, decompresses it with ``decompress_clut`` to the original grid size and writes a
.cube, which is scored against the original with :func:`lutplug.metrics.quality_report`.

The G'MIC pipeline mirrors G'MIC 2.9.4's own batch command ``compress_cluts`` (stdlib):
``input_cube FILE  c 0,255  [r3dx 33 when larger than 33³]  to_rgb  compress_clut`` and, for the
stored keypoints, ``clean_cluts`` (``round c 0,255``). ``compress_clut``'s defaults in 2.9.4:
max ΔE2000 1.5 and mean ΔE2000 0.75 over the CLUT's nodes, at most 2048 keypoints, sRGB
reconstruction, thin-plate RBF interpolation first, switching to multiscale diffusion (PDE) once
320 keypoints are reached. The keypoint image is 1×N×1×6: ``[x, y, z, R, G, B]`` per keypoint,
coordinates and values in [0, 255]; ``decompress_clut`` picks RBF or PDE from the keypoint order.

The JSON output maps each LUT file name to its result (with the sha256 of the source, so runs
are cached: LUTs whose sha256 already has a finished result are skipped unless ``--force``). The
file is rewritten after every LUT so partial results survive. ``--budget-min`` stops starting new
LUTs after that many minutes (the rest are recorded with status "not_run").
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guard import require_files  # noqa: E402

from lutplug.fileio import file_sha256  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

#: compress_clut's arguments at their G'MIC 2.9.4 defaults (max_error, avg_error,
#: max_nb_points, error_metric=ΔE2000, reconstruction_colorspace=sRGB, try_rbf_first). The
#: command is called with an empty argument (``compress_clut ,``) so G'MIC fills in its own
#: defaults; these values are recorded for the report.
GMIC_DEFAULTS = {"max_error": 1.5, "avg_error": 0.75, "max_nb_points": 2048,
                 "error_metric": "deltaE_2000", "reconstruction_colorspace": "srgb",
                 "try_rbf_first": 1}

#: Statuses an entry can have. "not_run": the CLI never started it (budget spent).
STATUSES = ("ok", "timeout", "error", "not_run")


# --------------------------------------------------------------------------------------------
# Running gmic
# --------------------------------------------------------------------------------------------

def gmic_binary() -> Optional[str]:
    return shutil.which("gmic")


@functools.lru_cache(maxsize=1)
def gmic_version() -> Optional[str]:
    """G'MIC's version string ("2.9.4"), or None when gmic is absent or does not run."""
    exe = gmic_binary()
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=30,
                             env=_gmic_env(Path(tempfile.gettempdir()) / "gmic_home", None))
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Version\s+([0-9][0-9.]*)", _strip_ansi(res.stdout + res.stderr))
    return m.group(1) if m else None


def gmic_available() -> bool:
    """True when a working ``gmic`` command-line tool is on PATH."""
    return gmic_version() is not None


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _gmic_env(home: Path, threads: Optional[int]) -> Dict[str, str]:
    """Environment for gmic: a writable HOME (G'MIC keeps its config/cache there) and, when
    ``threads`` is given (> 0), OMP_NUM_THREADS (gmic 2.9.4 is built with OpenMP/libgomp and
    honours it: 1 thread vs 2 were observed in /proc/PID/task on a 2-core machine)."""
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["HOME"] = str(home)
    env.pop("DISPLAY", None)
    if threads and threads > 0:
        env["OMP_NUM_THREADS"] = str(int(threads))
    return env


class GmicTimeout(Exception):
    pass


class GmicError(Exception):
    pass


def _run_gmic(items: List[str], cwd: Path, log: Path, timeout_s: float,
              threads: Optional[int]) -> float:
    """Run ``nice -n 10 gmic ITEMS...`` in ``cwd`` with stdout+stderr to ``log``; return the
    wall-clock seconds. Kills the whole process group on timeout (GmicTimeout); raises GmicError
    on a non-zero exit."""
    exe = gmic_binary()
    if exe is None:
        raise GmicError("gmic not found on PATH")
    cmd = ["nice", "-n", "10", exe, *items]
    env = _gmic_env(cwd / ".gmic_home", threads)
    with open(log, "wb") as fh:
        fh.write((" ".join(cmd) + "\n").encode())
        fh.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # our own session: nice + gmic
            except ProcessLookupError:
                pass
            proc.wait()
            raise GmicTimeout(f"gmic timed out after {timeout_s:g} s") from None
        except BaseException:  # KeyboardInterrupt etc.: never leave gmic behind
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            raise
        elapsed = time.perf_counter() - t0
    if rc != 0:
        raise GmicError(f"gmic exited with status {rc}: {_log_tail(log)}")
    return elapsed


def _log_tail(log: Path, n: int = 400) -> str:
    try:
        text = _strip_ansi(log.read_text(errors="replace")).replace("\r", "\n")
    except OSError:
        return ""
    lines = [ln for ln in text.splitlines() if "*** Error" in ln]
    return (lines[-1] if lines else text[-n:]).strip()


# --------------------------------------------------------------------------------------------
# CImg .cimgz files
# --------------------------------------------------------------------------------------------

_CIMG_TYPES = {"unsigned_char": "u1", "uchar": "u1", "char": "i1", "unsigned_short": "u2",
               "ushort": "u2", "short": "i2", "unsigned_int": "u4", "uint": "u4", "int": "i4",
               "unsigned_int64": "u8", "int64": "i8", "float": "f4", "double": "f8"}


def read_cimgz(path: Path) -> np.ndarray:
    """Read the first image of a CImg ``.cimg``/``.cimgz`` file as an array (s, d, h, w).

    Format: an ASCII line ``N pixel_type endianness``, then per image ``w h d s [#bytes]`` and its
    data (planar, x fastest), zlib-compressed when ``#bytes`` is present.
    """
    raw = Path(path).read_bytes()
    nl1 = raw.index(b"\n")
    _, ptype, endian = raw[:nl1].decode().split()[:3]
    nl2 = raw.index(b"\n", nl1 + 1)
    fields = raw[nl1 + 1:nl2].decode().split()
    w, h, d, s = (int(v) for v in fields[:4])
    dtype = np.dtype(("<" if endian.startswith("little") else ">") + _CIMG_TYPES[ptype])
    body = raw[nl2 + 1:]
    if len(fields) > 4 and fields[4].startswith("#"):
        body = zlib.decompress(body[:int(fields[4][1:])])
    data = np.frombuffer(body, dtype=dtype, count=w * h * d * s)
    return data.reshape(s, d, h, w)


def keypoints_from_cimgz(path: Path) -> np.ndarray:
    """The keypoints of a compress_clut ``.cimgz`` as float64 (N, 3 + channels):
    ``[x, y, z, values...]`` in [0, 255]."""
    arr = read_cimgz(path)  # (s, 1, N, 1)
    return arr[:, 0, :, 0].T.astype(np.float64)


def keypoint_method(kp: np.ndarray) -> str:
    """Which reconstruction decompress_clut (2.9.4) uses for these keypoints: "pde" for 320 or
    more keypoints or keypoints sorted in decreasing lexicographic order, else "rbf"."""
    def val(p):
        return p[0] * 65536 + p[1] * 256 + p[2]
    return "pde" if len(kp) >= 320 or val(kp[0]) > val(kp[-1]) else "rbf"


# --------------------------------------------------------------------------------------------
# The codec
# --------------------------------------------------------------------------------------------

def compress_with_gmic(cube_path: Path, workdir: Path, timeout_s: float = 600, threads: int = 1,
                       size: Optional[int] = None, float_variant: bool = True) -> dict:
    """Compress a plain 3D .cube with G'MIC's ``compress_clut`` (its defaults), store the keypoints
    as 8-bit ``keypoints.cimgz``, decompress that file with ``decompress_clut`` to a ``size``³
    cube (default: the source's grid size) and write it as ``decompressed.cube``.

    ``threads`` > 0 sets OMP_NUM_THREADS for gmic (0: leave the environment alone). With
    ``float_variant`` the unrounded float keypoints are also saved (``keypoints_float.cimgz``)
    and decompressed (``decompressed_float.cube``): not the shipped codec, a diagnostic of what
    the 8-bit rounding costs.

    Returns a dict: bytes (size of keypoints.cimgz), keypoints, method ("rbf"/"pde"),
    compress_s, compress_cpu_s (CPU seconds gmic used, also on timeout), decompress_s,
    cube (path of the decompressed .cube), status ("ok"/"timeout"/"error"), error (message,
    "" when ok), threads, timeout_s, and the float variant's bytes_float / cube_float when
    made.
    """
    cube_path = Path(cube_path).resolve()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    out = {"bytes": None, "keypoints": None, "method": None, "compress_s": None,
           "decompress_s": None, "cube": None, "status": "error", "error": "",
           "threads": threads, "timeout_s": timeout_s}
    if not gmic_available():
        out["error"] = "gmic not available"
        return out
    if size is None:
        size = _cube_size(cube_path)
    # G'MIC splits arguments at commas, so give it simple file names in workdir.
    src = workdir / "source.cube"
    if src != cube_path:
        shutil.copyfile(cube_path, src)
    keys, keys_f = workdir / "keypoints.cimgz", workdir / "keypoints_float.cimgz"
    dec, dec_f = workdir / "decompressed.cube", workdir / "decompressed_float.cube"
    for p in (keys, keys_f, dec, dec_f):
        p.unlink(missing_ok=True)

    # As G'MIC's own compress_cluts: read, clip to [0,255], 33³ at most, RGB, compress_clut with
    # its defaults ("," = empty argument -> defaults). Then as clean_cluts: round, clip, 8-bit.
    items = ["input_cube", src.name, "c", "0,255", "if", "w>33", "r3dx", "33", "fi", "to_rgb",
             "compress_clut", ","]
    if float_variant:
        items += ["o", f"{keys_f.name},float"]
    items += ["round", "c", "0,255", "o", f"{keys.name},uchar"]
    try:
        cpu0 = _children_cpu_s()
        try:
            out["compress_s"] = round(_run_gmic(items, workdir, workdir / "compress.log",
                                                timeout_s, threads), 3)
        finally:  # CPU time gmic got (user+sys): tells contention from work on a busy machine
            out["compress_cpu_s"] = round(_children_cpu_s() - cpu0, 3)
        if not keys.is_file():
            raise GmicError("gmic wrote no keypoints file")
        out["bytes"] = keys.stat().st_size
        kp = keypoints_from_cimgz(keys)
        out["keypoints"] = int(len(kp))
        out["method"] = keypoint_method(kp)
        dec_items = ["i", keys.name, "decompress_clut", f"{size},{size},{size}", "o", dec.name]
        out["decompress_s"] = round(_run_gmic(dec_items, workdir, workdir / "decompress.log",
                                              timeout_s, threads), 3)
        if not dec.is_file():
            raise GmicError("gmic wrote no decompressed cube")
        out["cube"] = str(dec)
        if float_variant and keys_f.is_file():
            out["bytes_float"] = keys_f.stat().st_size
            _run_gmic(["i", keys_f.name, "decompress_clut", f"{size},{size},{size}", "o",
                       dec_f.name], workdir, workdir / "decompress_float.log", timeout_s, threads)
            out["cube_float"] = str(dec_f)
        out["status"] = "ok"
    except GmicTimeout as exc:
        out["status"], out["error"] = "timeout", str(exc)
    except (GmicError, OSError, ValueError, KeyError) as exc:
        out["status"], out["error"] = "error", str(exc)
    return out


def _children_cpu_s() -> float:
    """User+system CPU seconds of this process's waited-for children so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cube_size(path: Path) -> int:
    with open(path, errors="replace") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[0].upper() == "LUT_3D_SIZE":
                return int(parts[1])
    raise ValueError(f"{path}: no LUT_3D_SIZE line")


# --------------------------------------------------------------------------------------------
# Benchmark driver
# --------------------------------------------------------------------------------------------



def _finite(x):
    """JSON-safe float: inf/nan become strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def prepare_input(source: Path, workdir: Path):
    """(original Transform for scoring, LUT3D the G'MIC input represents, plain .cube for G'MIC).

    A plain .cube (no shaper, unit domain) is given to G'MIC as is. Anything else is converted
    with ``lutplug bake SOURCE -o workdir/baked.cube`` first; when the result still has a shaper or
    a non-unit domain, its 3D table alone is written as a unit-domain cube for G'MIC and the
    shaper/domain are put back on the decompressed table for scoring (they are not counted in
    the bytes).
    """
    from lutplug import LUT3D, read_lut, write_lut

    workdir.mkdir(parents=True, exist_ok=True)
    original = read_lut(source)
    lut = original
    cube = source
    if source.suffix.lower() != ".cube" or not isinstance(original, LUT3D):
        baked = workdir / "baked.cube"
        subprocess.run([str(REPO / ".venv" / "bin" / "lutplug"), "bake", str(source), "-o",
                        str(baked)], check=True, capture_output=True, text=True, timeout=600)
        lut, cube = read_lut(baked), baked
    if not isinstance(lut, LUT3D):
        raise ValueError("not a 3D LUT after baking")
    unit = np.allclose(lut.domain_min, 0) and np.allclose(lut.domain_max, 1)
    if lut.shaper is not None or not unit:
        plain = dataclasses.replace(lut, shaper=None, domain_min=np.zeros(3),
                                    domain_max=np.ones(3), comments=[])
        cube = workdir / "gmic_input.cube"
        write_lut(plain, cube)
    return original, lut, cube


def score(original, template, cube: Path) -> dict:
    """quality_report of the decompressed ``cube`` (its table put on ``template``'s domain and
    shaper) against ``original``."""
    from lutplug import read_lut
    from lutplug.metrics import quality_report

    dec = read_lut(cube)
    cand = dataclasses.replace(template, table=dec.table, comments=list(template.comments))
    rep = quality_report(original, cand).as_dict()
    return {k: _finite(v) for k, v in rep.items()}


def run_one(source: Path, workdir: Path, timeout_s: float, threads: int) -> dict:
    entry = {"source": str(source), "sha256": file_sha256(source),
             "gmic_version": gmic_version(), "params": dict(GMIC_DEFAULTS),
             "storage": "keypoints rounded to uint8, CImg .cimgz (zlib)", "nice": 10}
    try:
        original, template, cube = prepare_input(source, workdir)
        entry["size"] = int(template.size)
        res = compress_with_gmic(cube, workdir, timeout_s=timeout_s, threads=threads,
                                 size=template.size)
    except Exception as exc:  # noqa: BLE001 - a failed LUT must not stop the run
        entry.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return entry
    entry.update(res)
    if res["status"] == "ok":
        try:
            entry["quality"] = score(original, template, Path(res["cube"]))
            if res.get("cube_float"):
                entry["quality_float"] = score(original, template, Path(res["cube_float"]))
        except Exception as exc:  # noqa: BLE001
            entry.update(status="error", error=f"scoring: {type(exc).__name__}: {exc}")
    return entry


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _cached(entry: Optional[dict], sha: str, timeout_s: float) -> bool:
    """A finished result for this file content: ok, or a timeout at least as long as asked."""
    if not entry or entry.get("sha256") != sha:
        return False
    if entry.get("status") == "ok":
        return True
    return (entry.get("status") == "timeout" and not entry.get("budget_cut")
            and float(entry.get("timeout_s") or 0) >= timeout_s)


def _row(name: str, e: dict) -> str:
    q = e.get("quality") or {}

    def f(v, fmt):
        if isinstance(v, (int, float)):
            return format(v, fmt)
        return "-".rjust(int(fmt.split(".")[0].rstrip("df")))
    return (f"{name:42s} {e.get('status', '?'):8s} {f(e.get('bytes'), '6d')} "
            f"{f(e.get('keypoints'), '5d')} {f(q.get('de_mean'), '6.3f')} "
            f"{f(q.get('de_p99'), '6.3f')} {f(q.get('de_max'), '6.3f')} "
            f"{f(q.get('psnr'), '6.2f')} {f(e.get('compress_s'), '8.1f')} "
            f"{f(e.get('decompress_s'), '6.2f')}")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("luts", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "gmic.json")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per gmic run")
    ap.add_argument("--threads", type=int, default=1,
                    help="OMP_NUM_THREADS for gmic (0: leave the environment alone)")
    ap.add_argument("--budget-min", type=float, default=0.0,
                    help="start no LUT after this many minutes (0: no limit); the per-LUT "
                         "timeout is cut to what is left; unstarted LUTs get status not_run")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "gmic" / "work")
    ap.add_argument("--force", action="store_true", help="rerun LUTs that have cached results")
    args = ap.parse_args(argv)
    require_files(args.luts)

    if not gmic_available():
        print("gmic not found on PATH", file=sys.stderr)
        return 2
    data = json.loads(args.out.read_text()) if args.out.is_file() else {}
    t_start = time.monotonic()
    print(f"G'MIC {gmic_version()}, {platform.node()}, {os.cpu_count()} cpus, threads "
          f"{args.threads}, timeout {args.timeout:g} s", flush=True)
    print(f"{'lut':42s} {'status':8s} {'bytes':>6s} {'kp':>5s} {'mean':>6s} {'p99':>6s} "
          f"{'max':>6s} {'psnr':>6s} {'comp_s':>8s} {'dec_s':>6s}", flush=True)
    for source in args.luts:
        name = source.name
        sha = file_sha256(source)
        if not args.force and _cached(data.get(name), sha, args.timeout):
            print(_row(name, data[name]) + "  (cached)", flush=True)
            continue
        timeout = args.timeout
        budget_cut = False
        if args.budget_min > 0:
            left = args.budget_min * 60 - (time.monotonic() - t_start)
            if left <= 5:
                data[name] = {"source": str(source), "sha256": sha, "status": "not_run",
                              "error": f"budget of {args.budget_min:g} min spent"}
                _write_json(args.out, data)
                print(_row(name, data[name]), flush=True)
                continue
            if left < timeout:
                timeout, budget_cut = left, True
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", source.stem)
        entry = run_one(source, args.workdir / stem, timeout, args.threads)
        if budget_cut:
            entry["budget_cut"] = True
        entry["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        data[name] = entry
        _write_json(args.out, data)
        print(_row(name, entry) + (f"  [{entry.get('error')}]" if entry.get("error") else ""),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

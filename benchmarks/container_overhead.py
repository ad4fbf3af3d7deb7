"""What a .nlut spends besides its network: format version 3's container overhead, per file.

    .venv/bin/python benchmarks/container_overhead.py [--dir ../ref/old] [FILE.nlut ...] \
        [--out benchmarks/results]

Every .nlut given (default: every ``*.nlut`` in ``--dir``, the grades the version 2 code wrote)
is loaded with ``lutplug.codec.nlut.load_nlut``, written again with ``to_bytes()`` (version 3),
read back and written once more. Checked per file: the version 3 network evaluates bit-identically
to the original on the 17³ lattice (``lutplug.core.lut.lattice(17)``), the description comes
back equal (types included), and re-writing gives the same bytes.

*Overhead* (docs/nlut-format.md, "Version 3"): the file's size minus its tensor block as stored
(the raw DEFLATE stream, or the raw bytes when deflating does not shrink them) = header (magic,
version) + field map + tensor facts + description record + CRC-32 (+ 96 B of key and signature
when signed). "Signed" is the same file signed by one fixed Ed25519 key (``lutplug sign``: the
description names its signer, 8 bytes more). For version 2 the tensors share one zlib stream with
the JSON, so its overhead is given as its size minus the version 3 tensor block (the same tensors,
deflated alone).

Writes container_overhead.json and container_overhead.md into ``--out``. A run with no .nlut to
read stops with exit status 2 before anything is written (benchmarks/guard.py).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from guard import require, require_files  # noqa: E402

from lutplug.codec import lean, record  # noqa: E402
from lutplug.codec.nlut import from_bytes, load_nlut, sign_file  # noqa: E402
from lutplug.core.lut import lattice  # noqa: E402

DEFAULT_DIR = REPO.parent / "ref" / "old"


def _key():
    """A fixed Ed25519 key (constant seed), so signed sizes are reproducible."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _same_description(a: dict, b: dict) -> bool:
    return record.same(json.loads(json.dumps(a)), json.loads(json.dumps(b)))


def measure(path: Path, scratch: Path) -> Dict[str, Any]:
    """One file's sizes and checks (see the module docstring)."""
    old = path.read_bytes()
    original = load_nlut(path)
    data = original.to_bytes()
    back = from_bytes(data, path.name)
    x = lattice(17).reshape(-1, 3)
    spans = lean.sections(data, path.name)
    block = spans["tensors"][1] - spans["tensors"][0]
    signed_path = scratch / path.name
    signed_path.write_bytes(data)
    sign_file(signed_path, _key())
    signed = signed_path.read_bytes()
    part = {name: end - start for name, (start, end) in spans.items() if name != "tensors"}
    return {
        "file": path.name, "v_old": old[4], "bytes_old": len(old), "bytes": len(data),
        "tensor_block": block, "deflated": bool(data[5] & lean.FLAG_DEFLATED),
        "overhead": len(data) - block, "parts": part,
        "overhead_old": len(old) - block,
        "signed_bytes": len(signed), "signed_overhead": len(signed) - block,
        "bit_identical": bool(np.array_equal(back.apply(x), original.apply(x))),
        "description_equal": _same_description(back.description, original.description),
        "rewrite_identical": back.to_bytes() == data,
    }


def main(argv: List[str] = sys.argv[1:]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of .nlut files")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)
    files = require_files(args.files) if args.files else require(
        sorted(args.dir.glob("*.nlut")), f".nlut files in {args.dir}",
        "pass --dir DIR or the files; the version 2 reference grades live in ../ref/old")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(p, Path(tmp)) for p in files]
    rows = require(rows, "file measured")
    med = {k: statistics.median(r[k] for r in rows)
           for k in ("bytes_old", "bytes", "overhead", "overhead_old", "signed_overhead")}
    summary = {"files": len(rows), "median": med,
               "all_bit_identical": all(r["bit_identical"] for r in rows),
               "all_descriptions_equal": all(r["description_equal"] for r in rows),
               "all_rewrites_identical": all(r["rewrite_identical"] for r in rows),
               "at_most_96": sum(r["overhead"] <= 96 for r in rows),
               "python": platform.python_version(), "numpy": np.__version__,
               "command": "benchmarks/container_overhead.py " + " ".join(argv)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "container_overhead.json").write_text(json.dumps({"summary": summary, "files": rows}, indent=1) + "\n")
    (args.out / "container_overhead.md").write_text(_markdown(summary, rows))
    print(f"{len(rows)} files: median overhead {med['overhead']} B (v3, unsigned), "
          f"{med['signed_overhead']} B signed; median size {med['bytes_old']} -> {med['bytes']} B")
    return 0


def _markdown(summary: dict, rows: List[dict]) -> str:
    med = summary["median"]
    lines = [
        "# .nlut container overhead, format version 3",
        "",
        "Written by `benchmarks/container_overhead.py` (see its docstring). *Overhead* = file size "
        "minus the tensor block as stored (docs/nlut-format.md, \"Version 3\"); *parts*: header "
        "(magic + version) / field map / tensor facts / description record / CRC-32. "
        "Old: the file as the version 1/2 code wrote it; its overhead is its size minus the same "
        "tensor block. Signed: the same file signed by one Ed25519 key (signer id + 96 B).",
        "",
        f"**{summary['files']} files. Median overhead {med['overhead']} B** (version 3, unsigned; "
        f"{summary['at_most_96']} files at most 96 B), {med['signed_overhead']} B signed; "
        f"old {med['overhead_old']} B. Median size {med['bytes_old']} B → {med['bytes']} B. "
        f"Every network evaluates bit-identically on the 17³ lattice: "
        f"{'yes' if summary['all_bit_identical'] else 'NO'}; descriptions equal: "
        f"{'yes' if summary['all_descriptions_equal'] else 'NO'}; re-writing gives the same bytes: "
        f"{'yes' if summary['all_rewrites_identical'] else 'NO'}.",
        "",
        "| file | old v | old B | v3 B | tensor block B | overhead B | parts | old overhead B | signed overhead B |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        p = r["parts"]
        parts = f"{p['header']}/{p['map']}/{p['facts']}/{p['record']}/{p['crc']}"
        lines.append(f"| {r['file']} | {r['v_old']} | {r['bytes_old']:,} | {r['bytes']:,} | "
                     f"{r['tensor_block']:,}{'' if r['deflated'] else ' (raw)'} | **{r['overhead']}** | "
                     f"{parts} | {r['overhead_old']} | {r['signed_overhead']} |")
    lines += ["", f"Command: `{summary['command'].strip()}` (Python {summary['python']}, "
                  f"numpy {summary['numpy']}).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

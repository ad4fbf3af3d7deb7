#!/usr/bin/env python3
"""Generate ocio/example/: a studio OCIO config with a compressed grade added as a look, a colour
space and a named transform, built only with `lutplug` commands (never edited by hand).

    .venv/bin/python ocio/make_example.py            # rebuild ocio/example/
    .venv/bin/python ocio/make_example.py --size 65 --out /tmp/show   # production-size cube

The grade is the CC0 freshluts "cool cinema" LUT bundled with lutplug (an sRGB-encoded photo
grade), compressed with `lutplug compress --quality draft` and tagged "sRGB Encoded Rec.709
(sRGB)", the studio config's name for sRGB-encoded Rec.709, so `lutplug ocio add` picks that
process space by itself. The grade is not trained again unless asked: an existing .nlut in
OUT/grades is used, else the committed one (ocio/example/grades/) is copied there, so any --out
gives the same grade as the committed example. --recompress trains it (about a minute on 2 CPU
cores, with `lutplug compress`'s progress bar; its hash, and so the cube's name, then change:
the .nlut records when it was made). Everything else is rebuilt from scratch and is
deterministic: the baked cube is named by the grade's content hash and the descriptions carry
no dates. The committed example uses a 17³ cube to stay small in git; use 65 (the default of
`lutplug ocio add`) for real work.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "lutplug" / "data"
BIN = Path(sys.executable).parent
GRADES = [  # (bundled LUT, .nlut name, entry name, entry kind)
    ("freshluts_cool_cinema.cube", "cool_cinema", "Cool Cinema", "look"),
    ("freshluts_cool_cinema.cube", "cool_cinema", "Cool Cinema (graded sRGB)", "colorspace"),
    ("freshluts_cool_cinema.cube", "cool_cinema", "Cool Cinema (grade only)", "named-transform"),
]
TAG = "sRGB Encoded Rec.709 (sRGB)"
#: The trained grades of the committed example, reused for any --out.
COMMITTED = HERE / "example" / "grades"


def lutplug(*args: object, live: bool = False) -> None:
    """Run ``lutplug ARGS`` (this Python's), echoing the command and its output; ``live``: its
    output (a progress bar) goes straight to this terminal."""
    exe = BIN / "lutplug"
    cmd = [str(exe) if exe.exists() else "lutplug", *map(str, args)]
    print("$ lutplug " + " ".join(f'"{a}"' if " " in str(a) else str(a) for a in args), flush=True)
    if live:
        code = subprocess.run(cmd).returncode
        if code != 0:
            sys.exit(f"failed ({code})")
        return
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout, end="")
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {r.stderr.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "example")
    ap.add_argument("--size", type=int, default=17, help="cube size (17 keeps the committed example small)")
    ap.add_argument("--recompress", action="store_true", help="train the .nlut files again")
    args = ap.parse_args()
    out: Path = args.out
    grades = out / "grades"
    grades.mkdir(parents=True, exist_ok=True)
    # 1. reuse (or compress) the grades
    for stem, lut in {stem: lut for lut, stem, _, _ in GRADES}.items():
        nlut = grades / f"{stem}.nlut"
        committed = COMMITTED / f"{stem}.nlut"
        if not args.recompress:
            if nlut.exists():
                print(f"using {nlut}")
                continue
            if committed.exists():
                shutil.copyfile(committed, nlut)
                print(f"using the committed grade {committed.relative_to(REPO)} "
                      "(--recompress to train it again)")
                continue
        print(f"compressing {lut} (about a minute on 2 CPU cores) …", flush=True)
        lutplug("compress", DATA / lut, "-o", nlut, "--quality", "draft", "--device", "cpu",
                "--input-space", TAG, "--output-space", TAG, live=True)
    # 2. rebuild the config from the built-in studio config
    config = out / "config.ocio"
    for old in [config, *out.glob("config.ocio.*.bak")]:
        old.unlink(missing_ok=True)
    shutil.rmtree(out / "luts", ignore_errors=True)
    first = True
    for _, stem, name, kind in GRADES:
        base = "ocio://studio-config-latest" if first else config
        extra = ["-o", config] if first else []
        lutplug("ocio", "add", base, grades / f"{stem}.nlut", "--look", name, "--as", kind,
                "--size", args.size, *extra)
        first = False
    for bak in out.glob("config.ocio.*.bak"):  # backups of a generated file are noise here
        bak.unlink()
    # 3. check it with OpenColorIO's own tool
    check = BIN / "ociocheck"
    if check.exists():
        r = subprocess.run([str(check), "-i", str(config)], capture_output=True, text=True)
        tail = [ln for ln in r.stdout.splitlines() if ln.startswith(("Validation", "Warnings", "Tests"))]
        print("$ ociocheck -i", config, "\n  " + "\n  ".join(tail))
        if r.returncode != 0:
            sys.exit("ociocheck failed")
    print(f"example written to {out}")


if __name__ == "__main__":
    main()

"""Speed of the browser runtime (lutplug/hosts/web) in Debian's chromium with software WebGL.

Usage::

    .venv/bin/python benchmarks/web_speed.py [--out DIR] [--frames 5] [--before OLD.json] [FILE.nlut | DIR ...]

Default input: the five files of tests/data/web. The committed results
(benchmarks/results/web_speed.md) are of the 39 .nlut files that ``benchmarks/frontier.py
--out DIR`` writes to DIR/nlut (not committed; the five test files are among them), with
``--before`` the web_speed.json of the runtime before the constant-weight shader (commit
f770987, measured the same way, ``--frames 3``).

For every .nlut the demo page (``lutplug web demo``) is served on 127.0.0.1 and opened by
Playwright with a 1920×1080 picture, twice: exact (the network per pixel, the page's default) and
with ``bake=65`` (the baked preview). Each time the page's own timings of the decode (parse,
signature, dequantise) and the build (shader source, compile, link, textures, lattice nodes
rendered), then frames per second: the 1080p picture graded into the canvas ``--frames`` times
(each finished with gl.finish and a one-pixel read, at most 20 s a file). Chromium runs with
SwiftShader (no GPU): the numbers describe this machine's CPU, not a graphics card.

Writes DIR/web_speed.json and DIR/web_speed.md (default DIR: benchmarks/results).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.guard import require, require_files  # noqa: E402
from lutplug.hosts.web import page_bytes, serve, write_demo  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
#: The preview's lattice size (the page's ``bake=``).
BAKE = 65
FRAMES_JS = """async (frames) => { const g = window.lutplug.grader, gl = g.gl, px = new Uint8Array(4);
  const one = () => { g.draw(1, 0.5); gl.finish(); gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px); };
  one();  // the first frame also finishes compiling
  const t0 = performance.now(); let n = 0;
  while (n < frames && performance.now() - t0 < 20000) { one(); n++; }
  return {frames: n, ms: performance.now() - t0}; }"""


def picture_1080p(path: Path) -> None:
    """A photo-like 1920×1080 8-bit PNG: gradients and soft structure."""
    from PIL import Image

    y, x = np.mgrid[0:1080, 0:1920].astype(np.float32)
    img = np.stack([0.1 + 0.8 * x / 1920, 0.15 + 0.7 * y / 1080,
                    0.5 + 0.4 * np.sin(x / 97.0) * np.cos(y / 61.0)], axis=-1)
    Image.fromarray((img.clip(0, 1) * 255 + 0.5).astype(np.uint8), "RGB").save(path)


def files(args: list) -> list:
    out = []
    for a in args or [str(REPO / "tests" / "data" / "web")]:
        p = Path(a)
        out += sorted(p.glob("*.nlut")) if p.is_dir() else [p]
    return require_files(require(out, ".nlut files", "give files or folders of .nlut"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="*")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--before", type=Path, default=None,
                    help="a web_speed.json of an earlier version: its fps per file as a column 'fps before'")
    args = ap.parse_args()
    nluts = files(args.inputs)
    before = {r["file"]: r.get("fps_1080p_exact", r.get("fps_1080p"))
              for r in json.loads(args.before.read_text())["files"]} if args.before else {}
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        write_demo(tmp, nluts)
        picture_1080p(Path(tmp) / "frame1080.png")
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"])
        version = browser.version
        page = browser.new_page()
        page.set_default_timeout(120_000)
        with serve(tmp) as url:
            for path in nluts:
                row = {"file": path.name, "bytes": path.stat().st_size}
                for bake in (0, BAKE):  # the exact grade (the page's default), then the baked preview
                    page.goto(f"{url}/index.html?nlut={path.name}&image=frame1080.png&bake={bake}")
                    page.wait_for_function("() => !['loading', 'waiting', undefined].includes(document.documentElement.dataset.lutplug)")
                    state = page.evaluate("document.documentElement.dataset.lutplug")
                    if state != "ready":
                        raise SystemExit(f"{path.name}: the page says {state}")
                    t = page.evaluate("window.lutplug.timings")
                    f = page.evaluate(FRAMES_JS, args.frames)
                    kind = "baked" if page.evaluate("window.lutplug.baked") else "exact"
                    row.setdefault("network", page.evaluate("window.lutplug.network.summary()").split(" · ")[0])
                    row.setdefault("decode_ms", round(t["decode"], 2))
                    row.setdefault(f"build_ms_{kind}", round(t["shader"], 2))
                    row.setdefault(f"fps_1080p_{kind}", round(1000 * f["frames"] / f["ms"], 3))
                    if kind == "exact" and before.get(path.name):
                        row["fps_1080p_before"] = before[path.name]
                rows.append(row)
                print(f"{path.name:60s} decode {row['decode_ms']:7.2f} ms  exact: build {row['build_ms_exact']:8.2f} ms "
                      f"{row['fps_1080p_exact']:7.3f} fps  baked: build {row.get('build_ms_baked', 0):8.2f} ms "
                      f"{row.get('fps_1080p_baked', 0):7.3f} fps", flush=True)
        browser.close()
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg(),
                          "browser": f"chromium {version}, SwiftShader (software WebGL2)"},
              "page_bytes": page_bytes(), "page_bytes_with_lazy_modules": page_bytes(lazy=True),
              "date": time.strftime("%Y-%m-%d"), "bake": BAKE, "files": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web_speed.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "web_speed.md").write_text(markdown(result, version))


def markdown(result: dict, version: str) -> str:
    """The results as the Markdown table of benchmarks/results/web_speed.md."""
    rows, fmt = result["files"], lambda r, k, f: format(r[k], f) if k in r else "—"  # noqa: E731
    med = lambda k: statistics.median(r[k] for r in rows if k in r)  # noqa: E731
    has_before = any("fps_1080p_before" in r for r in rows)
    lines = ["# The browser runtime: decode, shader build, frames per second at 1080p", "",
             f"chromium {version} with SwiftShader (software WebGL2, no GPU), {result['machine']['cpus']} CPUs, "
             f"load {result['machine']['load'][0]:.1f} (other work on the machine); `benchmarks/web_speed.py`, "
             f"{result['date']}. Page weight (HTML + JS, uncompressed, what a page loads for a version 3 file): "
             f"{result['page_bytes']:,} bytes; with the modules imported only when needed: "
             f"{result['page_bytes_with_lazy_modules']:,}.", "",
             "Exact: the network per pixel (the page's default, `lutplugPixels()`); baked: `bake="
             f"{result['bake']}`, the network rendered at {result['bake']}³ nodes and read tetrahedrally (a residual "
             "lattice is always read from its own nodes: —). Build: source, compile, link, textures and nodes "
             "rendered (the baked preview's program; the exact one compiles on first use)."
             + (" Fps before: the exact fps of `--before`'s run (an earlier runtime), measured at another "
                "time under another load: differences of ±30% are noise (docs/web.md)." if has_before else ""), "",
             f"Median over {len(rows)} files: decode {med('decode_ms'):.1f} ms; exact: build {med('build_ms_exact'):.1f} ms, "
             f"{med('fps_1080p_exact'):.2f} fps" + (f" ({med('fps_1080p_before'):.2f} before)" if has_before else "")
             + (f"; baked: build {med('build_ms_baked'):.1f} ms, {med('fps_1080p_baked'):.2f} fps"
                if any("fps_1080p_baked" in r for r in rows) else "") + " at 1920×1080.", "",
             "| file | bytes | network | decode ms | exact: build ms | fps |" + (" fps before |" if has_before else "")
             + " baked: build ms | fps |", "|---|---:|---|---:|---:|---:|" + ("---:|" if has_before else "") + "---:|---:|"]
    lines += [f"| {r['file']} | {r['bytes']:,} | {r['network']} | {r['decode_ms']:.1f} | {r['build_ms_exact']:.1f} | "
              f"{r['fps_1080p_exact']:.2f} |" + (f" {fmt(r, 'fps_1080p_before', '.2f')} |" if has_before else "")
              + f" {fmt(r, 'build_ms_baked', '.1f')} | {fmt(r, 'fps_1080p_baked', '.2f')} |" for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

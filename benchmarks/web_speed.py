"""Speed of the browser runtime (lutplug/hosts/web) in Debian's chromium with software WebGL.

Usage::

    .venv/bin/python benchmarks/web_speed.py [--out DIR] [--frames 5] [FILE.nlut | DIR ...]

(the committed results: the 39 files `frontier.py` writes to benchmarks/results/nlut)

For every .nlut (default: tests/data/web) the demo page (``lutplug web demo``) is served on
127.0.0.1 and opened by Playwright with a 1920×1080 picture: the page's own timings of the decode
(parse, signature, dequantise) and the shader build (source, residual-lattice nodes, compile,
link, textures), then frames per second: the 1080p picture graded into the canvas ``--frames``
times (each finished with gl.finish and a one-pixel read, at most 20 s a file). Chromium runs
with SwiftShader (no GPU): the numbers describe this machine's CPU, not a graphics card.

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
FRAMES_JS = """async ([frames, exact]) => { const g = window.lutplug.grader, gl = g.gl, px = new Uint8Array(4);
  const one = () => { g.draw(1, 0.5, null, exact); gl.finish(); gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px); };
  one();  // the first frame also finishes compiling (the exact program: compiled on first use)
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
    args = ap.parse_args()
    nluts = files(args.inputs)
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
                page.goto(f"{url}/index.html?nlut={path.name}&image=frame1080.png")
                page.wait_for_function("() => !['loading', 'waiting', undefined].includes(document.documentElement.dataset.lutplug)")
                state = page.evaluate("document.documentElement.dataset.lutplug")
                if state != "ready":
                    raise SystemExit(f"{path.name}: the page says {state}")
                t = page.evaluate("window.lutplug.timings")
                fps = {}
                for exact in (False, True):
                    f = page.evaluate(FRAMES_JS, [args.frames, exact])
                    fps[exact] = round(1000 * f["frames"] / f["ms"], 3)
                net = page.evaluate("window.lutplug.network.summary()")
                rows.append({"file": path.name, "bytes": path.stat().st_size, "network": net.split(" · ")[0],
                             "decode_ms": round(t["decode"], 2), "shader_ms": round(t["shader"], 2),
                             "baked": page.evaluate("window.lutplug.baked"),
                             "fps_1080p": fps[False], "fps_1080p_exact": fps[True]})
                print(f"{path.name:60s} decode {t['decode']:7.2f} ms  build {t['shader']:8.2f} ms  "
                      f"{fps[False]:7.3f} fps shown, {fps[True]:7.3f} fps exact", flush=True)
        browser.close()
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg(),
                          "browser": f"chromium {version}, SwiftShader (software WebGL2)"},
              "page_bytes": page_bytes(), "date": time.strftime("%Y-%m-%d"), "files": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web_speed.json").write_text(json.dumps(result, indent=1) + "\n")
    med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
    lines = ["# The browser runtime: decode, shader build, frames per second at 1080p", "",
             f"chromium {version} with SwiftShader (software WebGL2, no GPU), {os.cpu_count()} CPUs, load "
             f"{os.getloadavg()[0]:.1f}; `benchmarks/web_speed.py`, {result['date']}. Page weight (HTML + JS, "
             f"uncompressed): {result['page_bytes']:,} bytes.", "",
             f"Median over {len(rows)} files: decode {med('decode_ms'):.1f} ms, shader build {med('shader_ms'):.1f} ms, "
             f"{med('fps_1080p'):.2f} fps at 1920×1080.", "",
             "| file | bytes | network | decode ms | shader build ms | fps 1080p |", "|---|---:|---|---:|---:|---:|"]
    lines += [f"| {r['file']} | {r['bytes']:,} | {r['network']} | {r['decode_ms']:.1f} | {r['shader_ms']:.1f} | "
              f"{r['fps_1080p']:.2f} |" for r in rows]
    (args.out / "web_speed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

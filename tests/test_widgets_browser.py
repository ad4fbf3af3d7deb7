"""CompareWidget in a real browser. JupyterLab runs on 127.0.0.1 (random free port, a token, a
copy of notebooks/01-quickstart.ipynb, autosave off) and Debian's chromium, driven by Playwright,
runs the notebook, flips the toggle, drags the wipe line and opens the heat map.

Every check reads pixels from screenshots and compares them with the grades computed here
independently: OpenColorIO for the original .cube, the torch evaluator for the notebook's .nlut.
Screenshots are kept in build/screenshots/ (CI artifacts). Without chromium the test skips
locally and fails in CI (CI=true)."""
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import require

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "01-quickstart.ipynb"
EDGE = 24  # pixels left out around the wipe line and at the top/bottom (labels, handle, hint)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """JupyterLab user settings: no news pop-up, no update check, no autosave."""
    for plugin, values in (("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
                           ("docmanager-extension/plugin", {"autosave": False})):
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM (the server shuts its kernels down), then SIGKILL to its own process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require(CHROMIUM.exists(), f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    for module in ("playwright", "jupyterlab", "anywidget"):
        require(importlib.util.find_spec(module) is not None, f"Python package {module} is not installed")
    tmp = tmp_path_factory.mktemp("lab")
    (tmp / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / NOTEBOOK, tmp / "notebooks" / NOTEBOOK)  # the repo copy stays clean
    _settings(tmp / "settings")
    port, token = _free_port(), secrets.token_hex(24)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               LUTPLUG_NOTEBOOK_OUT=str(tmp / "out"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={tmp / 'notebooks'}", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={tmp / 'settings'}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp / "jupyterlab.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, f"JupyterLab exited: {log_path.read_text()[-2000:]}"
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"JupyterLab not up in 90 s: {log_path.read_text()[-2000:]}"
                    time.sleep(0.5)
            yield {"url": url, "token": token, "out": tmp / "out", "log": log_path}
        finally:
            _stop(proc)


def _rgb8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def references(lab):
    """Expected pictures, computed without the widget: (original uint8, compressed uint8, ΔE00)."""
    from lutplug import read_lut
    from lutplug.codec.nlut import load_nlut
    from lutplug.codec.torch_eval import apply_image_torch
    from lutplug.data import data_path
    from lutplug.evaluate.ocio_cpu import apply_image
    from lutplug.metrics import delta_e2000_rgb
    from lutplug.widgets.images import load_image

    plate, _ = load_image(None)
    a = apply_image(read_lut(data_path("freshluts_cool_cinema.cube")), plate)
    b = apply_image_torch(load_nlut(lab["out"] / "freshluts_cool_cinema.nlut"), plate, device="cpu")
    return _rgb8(a), _rgb8(b), delta_e2000_rgb(a, b)


KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""


@pytest.fixture(scope="module")
def comm_frames():
    """Widget messages (comm_msg) the page sends to the kernel, as they are sent."""
    return []


def _comm_count(frames) -> int:
    return sum(1 for f in frames if (b"comm_msg" if isinstance(f, bytes) else "comm_msg") in f)


@pytest.fixture(scope="module")
def page(lab, comm_frames):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), timeout=60_000,
                                     args=["--force-color-profile=srgb", "--disable-gpu"])
        try:
            pg = browser.new_page(viewport={"width": 1700, "height": 1300}, device_scale_factor=1)
            pg.set_default_timeout(60_000)
            pg.on("websocket", lambda ws: ws.on("framesent", lambda payload: comm_frames.append(payload)))
            pg.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
            pg.wait_for_function(KERNEL_IDLE, timeout=120_000)
            pg.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            pg.wait_for_selector(".lutplug-compare[data-ready='1']", timeout=240_000)
            yield pg
            pg.screenshot(path=str(SHOTS / "jupyterlab-page.png"))
        finally:
            browser.close()


def _widget(page):
    return page.locator(".lutplug-compare").first


def _view(page, name: str) -> None:
    _widget(page).locator(f"button[data-view='{name}']").click()
    page.wait_for_function(f"() => document.querySelector('.lutplug-compare').dataset.view === '{name}'")


def _shot(page, name: str, selector: str = ".lp-canvas") -> np.ndarray:
    """Screenshot of an element of the first CompareWidget (``""``: the whole widget), clipped to
    whole pixels (an element screenshot rounds a fractional box outwards, adding a row)."""
    from PIL import Image

    target = _widget(page).locator(selector) if selector else _widget(page)
    target.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.mouse.move(1, 1)  # no hover state in the picture
    box = target.bounding_box()
    clip = {k: round(box[k]) for k in ("x", "y", "width", "height")}
    page.screenshot(path=str(SHOTS / name), clip=clip, animations="disabled")
    return np.asarray(Image.open(SHOTS / name).convert("RGB")).astype(int)


def _diff(shot: np.ndarray, ref: np.ndarray, cols: slice) -> np.ndarray:
    rows = slice(EDGE + 8, ref.shape[0] - EDGE - 8)
    return np.abs(shot[rows, cols] - ref[rows, cols].astype(int))


def _canvas_box(page):
    box = _widget(page).locator(".lp-canvas").bounding_box()
    natural = _widget(page).locator(".lp-canvas").evaluate("c => [c.width, c.height]")
    return box, natural


def test_toggle_shows_each_grade_exactly(page, references, comm_frames):
    ref_a, ref_b, _ = references
    box, natural = _canvas_box(page)
    assert natural == [1024, 768] and round(box["width"]) == 1024, "picture must show at 1:1"
    everywhere = slice(0, 1024)
    assert (_diff(ref_a, ref_b, everywhere).max(axis=-1) > 2).mean() > 0.05, "grades too alike to test"
    _view(page, "toggle")
    page.wait_for_timeout(300)  # let the view change reach the kernel before counting
    sent = _comm_count(comm_frames)
    shown_a = _shot(page, "toggle-A-original.png")
    assert _widget(page).get_attribute("data-showing") == "A"
    _widget(page).locator(".lp-canvas").press("t")  # the key flips without the kernel
    page.wait_for_function("() => document.querySelector('.lutplug-compare').dataset.showing === 'B'")
    shown_b = _shot(page, "toggle-B-compressed.png")
    for shot, ref in ((shown_a, ref_a), (shown_b, ref_b)):
        d = _diff(shot, ref, everywhere)
        assert d.mean() < 0.5 and np.percentile(d, 99.9) <= 2, d.mean()
    _widget(page).locator(".lp-canvas").click()  # and so does a click
    page.wait_for_function("() => document.querySelector('.lutplug-compare').dataset.showing === 'A'")
    assert _comm_count(comm_frames) == sent, "flipping A/B sent a message to the kernel"


def test_dragging_the_wipe_line_moves_the_split(page, references, comm_frames):
    ref_a, ref_b, _ = references
    _view(page, "wipe")
    before = _shot(page, "wipe-at-50.png")
    left, right = slice(0, 512 - EDGE), slice(512 + EDGE, 1024)
    assert _diff(before, ref_a, left).mean() < 0.5 and _diff(before, ref_b, right).mean() < 0.5
    box, _ = _canvas_box(page)
    y = box["y"] + box["height"] / 2
    sent = _comm_count(comm_frames)
    page.mouse.move(box["x"] + 512, y)
    page.mouse.down()
    page.mouse.move(box["x"] + 256, y, steps=12)
    page.mouse.up()
    assert float(_widget(page).get_attribute("data-split")) == pytest.approx(0.25, abs=0.005)
    assert _comm_count(comm_frames) == sent, "dragging the wipe line sent a message to the kernel"
    after = _shot(page, "wipe-at-25.png")
    band = slice(256 + EDGE, 512 - EDGE)  # was original, now compressed
    assert _diff(after, ref_a, slice(0, 256 - EDGE)).mean() < 0.5
    assert _diff(after, ref_b, slice(256 + EDGE, 1024)).mean() < 0.5
    assert _diff(after, before.astype(np.uint8), band).mean() == pytest.approx(
        _diff(ref_b, ref_a, band).mean(), abs=0.3)
    assert _diff(after, before.astype(np.uint8), slice(512 + EDGE, 1024)).mean() < 0.2  # unchanged


def test_side_by_side_shows_both_grades(page, references):
    ref_a, ref_b, _ = references
    page.set_viewport_size({"width": 2900, "height": 1300})  # room for 2 × 1024 px at 1:1
    try:
        _view(page, "side")
        page.wait_for_function("() => document.querySelector('.lutplug-compare .lp-canvas')"
                               ".getBoundingClientRect().width === 2 * 1024 + 8", timeout=10_000)
        both = _shot(page, "side-by-side.png")
    finally:
        page.set_viewport_size({"width": 1700, "height": 1300})
    assert both.shape[1] == 2 * 1024 + 8  # 8 px gap
    everywhere = slice(0, 1024)
    assert _diff(both[:, :1024], ref_a, everywhere).mean() < 0.5
    assert _diff(both[:, 1024 + 8:], ref_b, everywhere).mean() < 0.5


def test_hover_reads_delta_e_under_the_cursor(page, references):
    _, _, de = references
    _view(page, "wipe")
    box, _ = _canvas_box(page)
    x, y = 700, 300
    page.mouse.move(box["x"] + x + 0.5, box["y"] + y + 0.5)
    text = _widget(page).locator(".lp-hover").inner_text()
    assert f"x {x}  y {y}" in text, text
    shown = float(re.search(r"ΔE00 ([0-9.]+)", text).group(1))
    assert shown == pytest.approx(de[y, x], abs=0.02)


def test_heat_map_is_rendered_with_its_colour_bar(page, references):
    from lutplug.metrics.heatmap import colorize

    ref_a, _, de = references
    _view(page, "heatmap")
    heat = _shot(page, "heatmap.png")
    expected = colorize(de, threshold=1.5)
    d = np.abs(heat[EDGE:-EDGE] - expected[EDGE:-EDGE].astype(int))
    assert d.mean() < 1.5 and np.percentile(d, 99) <= 24, d.mean()
    assert np.abs(heat - ref_a.astype(int)).mean() > 30  # the map, not the photo
    bar = _widget(page).locator(".lp-colorbar")
    assert bar.is_visible() and "threshold 1.5" in bar.inner_text() and "≥ 3" in bar.inner_text()
    ramp = _shot(page, "heatmap-colour-bar.png", ".lp-colorbar-ramp")
    mid_row = ramp[ramp.shape[0] // 2]
    w = mid_row.shape[0]
    assert np.abs(mid_row[3] - colorize(np.array([0.0]))[0]).max() <= 12
    assert np.abs(mid_row[w - 4] - colorize(np.array([3.0]))[0]).max() <= 12
    assert (mid_row[w // 2 - 2: w // 2 + 3] >= 250).all(axis=-1).any()  # the white threshold mark
    _shot(page, "widget-heatmap.png", "")


def test_mix_round_trips_to_the_kernel(page, comm_frames):
    from lutplug.widgets.images import load_image

    _view(page, "wipe")
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)

    def set_mix(value: float) -> None:
        _widget(page).locator(".lp-slider input[type='range']").first.evaluate(
            "(e, v) => { e.value = v; e.dispatchEvent(new Event('change')); }", value)

    sent = _comm_count(comm_frames)
    set_mix(0)  # no grade: both sides are the input picture, identical
    page.wait_for_function("() => document.querySelector('.lutplug-compare .lp-stats').innerText.includes('∞')",
                           timeout=60_000)
    page.wait_for_function("() => document.querySelector('.lutplug-compare').dataset.ready === '1'")
    assert _comm_count(comm_frames) > sent  # mix is computed by the kernel
    shot = _shot(page, "wipe-mix-0.png")
    plate = _rgb8(load_image(None)[0])
    line = round(float(_widget(page).get_attribute("data-split")) * 1024)
    assert _diff(shot, plate, slice(0, line - EDGE)).mean() < 0.5
    assert _diff(shot, plate, slice(line + EDGE, 1024)).mean() < 0.5
    set_mix(1)
    page.wait_for_function("() => !document.querySelector('.lutplug-compare .lp-stats').innerText.includes('∞')",
                           timeout=60_000)


def test_pack_browser_opens_a_comparison(page):
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)  # the notebook's last cell has run
    card = page.locator(".lutplug-pack .lp-card", has_text=".nlut").first
    card.scroll_into_view_if_needed()
    tooltip = card.get_attribute("title") or ""  # where ΔE00 comes from, then the .nlut's info text
    assert tooltip.startswith("measured against freshluts_cool_cinema.cube") and \
        "\n\nsource:    freshluts_cool_cinema.nlut (.nlut v" in tooltip and "\nsignature: unsigned" in tooltip
    card.click()
    page.wait_for_function("() => document.querySelectorAll(\".lutplug-compare[data-ready='1']\").length >= 2",
                           timeout=120_000)
    status = page.locator(".lutplug-pack .lp-pack-status").inner_text()
    assert "freshluts_cool_cinema.nlut against freshluts_cool_cinema.cube" in status
    page.locator(".widget-vbox", has=page.locator(".lutplug-pack")).screenshot(path=str(SHOTS / "pack-browser.png"))

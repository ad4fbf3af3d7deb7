"""The browser runtime (lutplug/hosts/web/static) in Debian's chromium, driven by Playwright with
software WebGL (SwiftShader): the demo page grades real pictures exactly as ``NeuralLUT.apply``,
signed files are checked with WebCrypto, hostile files end in an error, never a hang.

The page is written by :func:`lutplug.hosts.web.write_demo` into a temporary folder and served by
a static HTTP server on 127.0.0.1 (a free port). Pixels are read with ``window.lutplugPixels()``
(full resolution, float). Without chromium or Playwright the tests skip locally and fail in CI
(CI=true)."""
import base64
import hashlib
import importlib.util
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from lutplug.codec import container, record
from lutplug.codec.nlut import from_bytes, load_nlut
from lutplug.errors import LutError
from lutplug.hosts.web import serve, write_demo
from tests.helpers import require
from tests.nlut_helpers import described, fit_stored_nlut, lattice_nlut, legacy_bytes, random_nlut

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "web"
FUZZ = REPO / "tests" / "data" / "fuzz"
CHROMIUM = Path("/usr/bin/chromium")
#: Made by ``lutplug compress`` from ../shared/luts: a plain network, node corrections, a residual
#: lattice over a network, a shaper (+ lattice, domain -0.1..3), node corrections on a domain
#: beyond [0, 1] — every network with input and output curves.
REAL = ("freshluts_cool_cinema.nlut", "freshluts_sunset_orange.nlut", "freshluts_golden_years_film.nlut",
        "colour-test_resolve_Three_Dimensional_Table_With_Shaper.nlut", "colour-test_iridas_eotf_sRGB_3D.nlut")
TOLERANCE = 2e-3
PIXELS_JS = """(which) => { const p = lutplugPixels(which); const u = new Uint8Array(p.data.buffer); let s = '';
  for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode(...u.subarray(i, i + 8192));
  return {w: p.width, h: p.height, c: p.channels, b: btoa(s)}; }"""
READ_JS = """async ([name, b64, keys]) => { const m = await import('./nlut.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const t0 = performance.now();
  try { const n = await m.readNlut(bytes, {source: name, trustedKeys: keys.map(m.parseKey)});
        return {ok: true, ms: performance.now() - t0, state: n.signature.state}; }
  catch (e) { return {ok: false, ms: performance.now() - t0, error: String(e.message)}; } }"""


def _picture(path: Path, seed: int = 0) -> np.ndarray:
    """An 8-bit PNG without colour tags: random colours, a grey ramp and the cube's corners;
    returns its values / 255 (what the page grades)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (72, 96, 3), dtype=np.uint8)
    img[0, :, :] = np.linspace(0, 255, 96).round().astype(np.uint8)[:, None]
    img[1, :8] = [[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)]
    Image.fromarray(img, "RGB").save(path)
    return img.astype(np.float32) / 255


def _synthetic(folder: Path) -> dict:
    """Networks of every kind the model has, in every format version: name -> NeuralLUT."""
    nets = {
        "silu_fourier_v3.nlut": (random_nlut(1, act="silu", fourier=2, center=True), 3),
        "tanh_minmax_shaper_v3.nlut": (random_nlut(2, act="tanh", fourier=0, minmax=True, skip="identity", shaper=True), 3),
        "sin_none_fix_v3.nlut": (random_nlut(3, act="sin", fourier=3, skip="none", fixes=7), 3),
        "packed_fix_v2.nlut": (described(fit_stored_nlut(4, hidden=(6, 5))), 2),
        "rowscaled_shaper_v1.nlut": (random_nlut(5, shaper=True, minmax=True, fourier=2), 1),
        "trilinear_int16_lattice_v3.nlut": (lattice_nlut(6, grid=5, wide=True, interpolation="trilinear"), 3),
        "lattice_shaper_v3.nlut": (lattice_nlut(7, grid=4, shaper=True), 3),
    }
    out = {}
    for name, (n, version) in nets.items():
        data = n.to_bytes() if version == 3 else legacy_bytes(n, version)
        assert data[4] == version
        (folder / name).write_bytes(data)
        out[name] = from_bytes(data, name)
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require(CHROMIUM.exists(), f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    require(importlib.util.find_spec("playwright") is not None, "Python package playwright is not installed")
    root = tmp_path_factory.mktemp("web")
    write_demo(root, [DATA / n for n in REAL])
    pictures = {"plate.png": _picture(root / "plate.png")}
    from PIL import Image

    astronaut = REPO / "lutplug" / "data" / "astronaut.png"
    (root / "astronaut.png").write_bytes(astronaut.read_bytes())
    pictures["astronaut.png"] = np.asarray(Image.open(astronaut).convert("RGB")).astype(np.float32) / 255
    fuzz = root / "fuzz"
    fuzz.mkdir()
    hostile = sorted(p for p in FUZZ.rglob("*") if p.is_file())
    for i, p in enumerate(hostile):
        (fuzz / f"{i}.nlut").write_bytes(p.read_bytes())
    with serve(root) as url:
        yield {"root": root, "url": url, "pictures": pictures,
               "synthetic": _synthetic(root), "fuzz": [f"fuzz/{i}.nlut" for i in range(len(hostile))]}


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), timeout=60_000,
                               args=["--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser):
    pg = browser.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    pg.close()


def _open(page, site, query: str, timeout_ms: int = 60_000) -> str:
    """Load index.html?query and wait until the page says ready or error; its data-lutplug."""
    page.goto(f"{site['url']}/index.html?{query}")
    pending = ["loading"] + (["waiting"] if query else [])  # without a query the page waits for a drop
    page.wait_for_function("(pending) => ![...pending, undefined].includes(document.documentElement.dataset.lutplug)",
                           arg=pending, timeout=timeout_ms)
    return page.evaluate("document.documentElement.dataset.lutplug")


def _pixels(page, which: str = "exact") -> np.ndarray:
    r = page.evaluate(PIXELS_JS, which)
    return np.frombuffer(base64.b64decode(r["b"]), np.float32).reshape(r["h"], r["w"], r["c"])


def _graded_difference(page, site, name: str, nlut, picture: str) -> float:
    state = _open(page, site, f"nlut={name}&image={picture}")
    assert state == "ready", state
    shown = _pixels(page)
    expected = nlut.apply(site["pictures"][picture])
    assert shown.shape[:2] == expected.shape[:2]  # full resolution
    assert np.all(shown[..., 3] == 1.0)
    return float(np.abs(shown[..., :3] - expected).max())


@pytest.mark.parametrize("name", REAL)
def test_page_grades_like_neural_lut_apply(page, site, name):
    nlut = load_nlut(site["root"] / name)
    for picture in ("plate.png", "astronaut.png"):
        diff = _graded_difference(page, site, name, nlut, picture)
        assert diff <= TOLERANCE, f"{name} on {picture}: max abs difference {diff:.3g}"
    facts = page.inner_text("#facts")
    assert name in facts and "decode" in facts and "shader build" in facts and f"{(site['root'] / name).stat().st_size:,} B" in facts


def test_every_network_kind_and_format_version(page, site):
    """Activations, Fourier and min/max features, skips, node corrections, shapers, int16 and
    trilinear residual lattices; versions 1 (per-row scales, one tensor a parameter), 2 (packed)
    and 3 (packed and indexed)."""
    for name, nlut in site["synthetic"].items():
        diff = _graded_difference(page, site, name, nlut, "plate.png")
        assert diff <= TOLERANCE, f"{name}: max abs difference {diff:.3g}"
        assert f".nlut v{name[-6]}" in page.inner_text("#facts")
        loaded = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
        for module in ("/nlut-legacy.js", "/vendor/inflate.js"):  # only for versions 1 and 2
            assert any(n.endswith(module) for n in loaded) == (name[-6] != "3"), (name, module)
        assert not any(n.endswith("/nlut-cpu.js") for n in loaded)  # this browser renders floats


CPU_JS = """async ([name, rgb]) => { const m = await import('./nlut.js'), cpu = await import('./nlut-cpu.js');
  const bytes = new Uint8Array(await (await fetch(name)).arrayBuffer());
  const net = await m.readNlut(bytes, {source: name});
  return rgb.map((p) => cpu.apply(net, p)); }"""


def test_the_cpu_evaluator_is_neural_lut_apply(page, site):
    """nlut-cpu.js (imported by pages only where floats cannot be rendered) on every kind of file."""
    _open(page, site, "")
    rgb = np.concatenate([site["pictures"]["plate.png"].reshape(-1, 3)[::37], [[-0.2, 0.5, 1.7], [3.0, 2.5, -1.0]]])
    for name in [*REAL, *site["synthetic"]]:
        nlut = load_nlut(site["root"] / name)
        got = np.asarray(page.evaluate(CPU_JS, [name, rgb.tolist()]), np.float32)
        assert np.abs(got - nlut.apply(rgb.astype(np.float32))).max() <= 2e-5 * max(1, np.abs(got).max()), name


@pytest.mark.parametrize("name, tolerance", [("freshluts_sunset_orange.nlut", 2e-5), ("freshluts_cool_cinema.nlut", 2e-5),
                                             ("sin_none_fix_v3.nlut", TOLERANCE)])  # the shader's sin: see docs/web.md
def test_the_baked_preview_is_the_network_at_65_cubed_nodes(page, site, name, tolerance):
    """With ``bake=65`` the canvas shows the network baked on the GPU to 65³ nodes, read
    tetrahedrally: numpy's bake of NeuralLUT (apply_lattice) read by lutplug.core.interpolate
    gives the same; lutplugPixels() stays exact. Without ``bake`` the canvas is exact."""
    from lutplug.core.interpolate import tetrahedral

    nlut = load_nlut(site["root"] / name)
    picture = site["pictures"]["plate.png"]
    exact = nlut.apply(picture)
    assert _open(page, site, f"nlut={name}&image=plate.png&bake=65") == "ready"
    assert "preview baked to 65³" in page.inner_text("#facts")
    preview = _pixels(page, "preview")[..., :3]
    expected = tetrahedral(nlut.apply_lattice(65), nlut.lattice_coordinates(picture).clip(0, 1))
    assert np.abs(preview - expected).max() <= tolerance
    assert np.abs(preview - exact).max() > 1e-5  # a bake, not the network per pixel
    assert np.abs(_pixels(page)[..., :3] - exact).max() <= TOLERANCE
    assert _open(page, site, f"nlut={name}&image=plate.png") == "ready"
    assert "baked" not in page.inner_text("#facts")
    assert np.abs(_pixels(page, "preview")[..., :3] - exact).max() <= TOLERANCE
    for bad in ("1", "130", "x"):
        state = _open(page, site, f"nlut={name}&image=plate.png&bake={bad}")
        assert state.startswith(f"error: bake = {'NaN' if bad == 'x' else bad}: 0 or a lattice size of 2 to 129"), state


def _shown(page) -> np.ndarray:
    """The canvas as 8-bit values / 255, rows top to bottom."""
    w, h, px = page.evaluate("""() => { const c = document.getElementById('view');
      const g = c.getContext('webgl2'); const px = new Uint8Array(c.width * c.height * 4);
      g.readPixels(0, 0, c.width, c.height, g.RGBA, g.UNSIGNED_BYTE, px); return [c.width, c.height, Array.from(px)]; }""")
    return np.asarray(px, np.float32).reshape(h, w, 4)[::-1, :, :3] / 255  # bottom row first


def test_without_float_rendering_lattices_are_built_on_the_cpu(browser, site):
    """A browser without EXT_color_buffer_float: residual-lattice nodes come from the CPU
    (nlut-cpu.js), networks run per pixel (``bake`` is ignored); what is shown is NeuralLUT.apply."""
    pg = browser.new_page()
    try:
        pg.add_init_script("""{ const real = WebGL2RenderingContext.prototype.getExtension;
          WebGL2RenderingContext.prototype.getExtension = function (name) {
            return name === 'EXT_color_buffer_float' ? null : real.call(this, name); }; }""")
        picture = site["pictures"]["plate.png"]
        for name in ("freshluts_golden_years_film.nlut", "freshluts_cool_cinema.nlut"):
            assert _open(pg, site, f"nlut={name}&image=plate.png&split=0&bake=65") == "ready"
            assert "baked" not in pg.inner_text("#facts")
            loaded = pg.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
            assert any(n.endswith("/nlut-cpu.js") for n in loaded) == (name == "freshluts_golden_years_film.nlut")
            graded = load_nlut(site["root"] / name).apply(picture).clip(0, 1)
            assert np.abs(_shown(pg) - graded).max() <= 1 / 255 + 1e-6, name
        assert "EXT_color_buffer_float" in pg.evaluate("() => { try { lutplugPixels(); } catch (e) { return e.message; } }")
    finally:
        pg.close()


def test_a_network_too_large_for_a_shader_is_refused_by_name(page, site):
    random_nlut(1, act="relu", fourier=0, hidden=(256, 256, 32)).save(site["root"] / "huge.nlut")
    state = _open(page, site, "nlut=huge.nlut&image=plate.png")
    assert state == "error: huge.nlut: network of 74,592 weights is more than the 65,536 a shader holds here", state


def test_wipe_and_strength_change_what_is_shown(page, site):
    state = _open(page, site, "nlut=freshluts_cool_cinema.nlut&image=plate.png&split=0.5")
    assert state == "ready"
    picture = site["pictures"]["plate.png"]
    graded = load_nlut(site["root"] / "freshluts_cool_cinema.nlut").apply(picture)
    shown = _shown(page)
    w = shown.shape[1]
    left, right = slice(0, w // 2 - 1), slice(w // 2 + 1, w)
    assert np.abs(shown[:, left] - picture[:, left]).max() <= 1 / 255 + 1e-6  # the original
    assert np.abs(shown[:, right] - graded[:, right].clip(0, 1)).max() <= 1 / 255 + 1e-6  # graded
    page.evaluate("() => { const s = document.getElementById('mix'); s.value = 0; s.dispatchEvent(new Event('input')); }")
    half = _pixels(page)  # lutplugPixels is always the full grade, whatever the slider says
    assert np.abs(half[..., :3] - graded).max() <= TOLERANCE


def _signed(tmp_path: Path, name: str = "freshluts_cool_cinema.nlut"):
    from lutplug.codec.nlut import sign_file
    from lutplug.codec.signing import generate_keypair, load_private_key, load_public_key, public_raw

    keys = []
    for k in ("a", "b"):
        generate_keypair(tmp_path / f"{k}.pem", tmp_path / f"{k}.pub")
        keys.append("ed25519:" + base64.b64encode(public_raw(load_public_key(tmp_path / f"{k}.pub"))).decode())
    signed = tmp_path / "signed.nlut"
    sign_file(DATA / name, load_private_key(tmp_path / "a.pem"), signed)
    return signed.read_bytes(), keys


def test_signatures_are_checked_with_webcrypto(page, site, tmp_path):
    data, (good, other) = _signed(tmp_path)
    tampered = bytearray(data)
    tampered[len(data) // 3] ^= 0x10
    raw = lambda k: base64.b64decode(k.split(":")[1])  # noqa: E731
    with pytest.raises(LutError, match="altered"):
        from_bytes(bytes(tampered), "t.nlut", [raw(good)])
    _open(page, site, "")
    assert page.evaluate("async () => (await import('./nlut.js')).hasEd25519()"), \
        "this chromium's WebCrypto has no Ed25519"
    read = lambda b, keys: page.evaluate(READ_JS, ["f.nlut", base64.b64encode(b).decode(), keys])  # noqa: E731
    accepted = read(data, [good])
    assert accepted["ok"] and accepted["state"] == "valid", accepted
    assert read(data, [])["state"] == "untrusted"
    refused = read(data, [other])
    assert not refused["ok"] and "not trusted" in refused["error"]
    for keys in ([good], []):  # altered: refused with or without trusted keys
        out = read(bytes(tampered), keys)
        assert not out["ok"] and "altered after signing" in out["error"], out
    # through the page's URL: the trusted key as &key=, the tampered file refused
    (site["root"] / "signed.nlut").write_bytes(data)
    (site["root"] / "tampered.nlut").write_bytes(bytes(tampered))
    assert _open(page, site, f"nlut=signed.nlut&image=plate.png&key={quote(good)}") == "ready"
    assert "signature valid" in page.inner_text("#facts")
    state = _open(page, site, f"nlut=tampered.nlut&image=plate.png&key={good}")  # "+" unescaped: read as "+"
    assert state.startswith("error: tampered.nlut: signature does not match the contents"), state
    assert _open(page, site, "nlut=freshluts_cool_cinema.nlut&image=plate.png&require=1").startswith(
        "error: freshluts_cool_cinema.nlut: file is not signed but a signature is required")


def test_without_ed25519_a_required_signature_is_refused(browser, site, tmp_path):
    """A browser whose WebCrypto lacks Ed25519: a signed file reads "unverified" when nothing is
    required, and is refused when a trusted key is given."""
    data, (good, _) = _signed(tmp_path)
    pg = browser.new_page()
    try:
        pg.add_init_script("""{ const real = crypto.subtle.importKey.bind(crypto.subtle);
          crypto.subtle.importKey = (f, k, alg, ...rest) => (alg && alg.name === 'Ed25519')
            ? Promise.reject(new DOMException('no Ed25519', 'NotSupportedError')) : real(f, k, alg, ...rest); }""")
        _open(pg, site, "")
        read = lambda keys: pg.evaluate(READ_JS, ["f.nlut", base64.b64encode(data).decode(), keys])  # noqa: E731
        assert read([])["state"] == "unverified"
        out = read([good])
        assert not out["ok"] and "cannot verify Ed25519" in out["error"], out
    finally:
        pg.close()


def test_hostile_files_end_in_an_error_never_a_hang(page, site):
    for name in site["fuzz"]:  # tests/data/fuzz, every reader's saved crashes, as .nlut
        state = _open(page, site, f"nlut={name}&image=plate.png", timeout_ms=20_000)
        assert state.startswith(f"error: {name}: "), (name, state)


def _mutants(data: bytes):
    """Every single-bit flip and every truncation of ``data``."""
    for i in range(len(data)):
        for bit in range(8):
            m = bytearray(data)
            m[i] ^= 1 << bit
            yield f"flip {i}.{bit}", bytes(m)
    for n in range(len(data)):
        yield f"first {n} bytes", data[:n]


def _python_accepts(data: bytes) -> bool:
    try:
        from_bytes(data, "m.nlut")
        return True
    except LutError:
        return False


@pytest.mark.parametrize("version", [3, 2])
def test_every_bit_flip_and_truncation_agrees_with_python(page, site, version):
    """The JavaScript reader accepts exactly what the Python reader accepts, quickly."""
    n = described(fit_stored_nlut(9, hidden=(4,), fixes=3))
    data = n.to_bytes() if version == 3 else legacy_bytes(n, version)
    _open(page, site, "")
    cases = list(_mutants(data))
    results = page.evaluate("""async (cases) => { const m = await import('./nlut.js'); const out = [];
      for (const b64 of cases) { const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const t0 = performance.now(); let ok = true, error = '';
        try { await m.readNlut(bytes, {source: 'm.nlut'}); } catch (e) { ok = false; error = e.message; }
        out.push([ok, performance.now() - t0, error]); }
      return out; }""", [base64.b64encode(b).decode() for _, b in cases])
    disagree = [(what, js) for (what, b), js in zip(cases, results) if js[0] != _python_accepts(b)]
    assert not disagree, disagree[:5]
    assert max(ms for _, ms, _ in results) < 2000
    unnamed = [e for ok, _, e in results if not ok and not e.startswith("m.nlut: ")]
    assert not unnamed, sorted(set(unnamed))[:5]


def test_the_module_knows_the_python_format_tables(page, site):
    _open(page, site, "")
    js = page.evaluate("""async () => { const m = await import('./nlut.js'), legacy = await import('./nlut-legacy.js');
      return {slots: m.SLOTS, zdict: Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', legacy.ZDICT)))}; }""")
    assert [tuple(s) for s in js["slots"]] == [tuple(s) for s in record.SLOTS]
    assert bytes(js["zdict"]) == hashlib.sha256(container.ZDICT).digest()

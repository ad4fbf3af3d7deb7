#!/usr/bin/env python3
"""GIMP 3 plug-in: Filters > Colors > Apply Compressed LUT... (lutplug).

Installed by ``lutplug gimp install`` as ``plug-ins/lutplug-apply/lutplug-apply.py`` next to
``lib/`` (a copy of the lutplug modules it needs) and ``vendor/`` (numpy and cryptography wheels
for GIMP's Python). The folder is self-contained.

PDB procedure ``plug-in-lutplug-apply`` (scripts and batch jobs rely on it):

  run-mode, image, drawables   the standard image-procedure arguments
  lut-file   (GFile)           a .nlut, or any LUT file lutplug reads without OpenColorIO
                               (.cube .3dl .spi3d .spi1d .csp, Hald / lookup-strip .png/.tif)
  strength   (double 0..1)     0 = original, 1 = full grade (default 1)
  engine     (string)          "auto" (default), "mlp" (the .nlut's network on every pixel) or
                               "cube" (dense cube: a .nlut baked to 65^3, a LUT file as it is)

The LUT is applied to the pixel values as the image stores them: the drawable's own encoding
(linear, or non-linear/perceptual) and its own colour space (no conversion to sRGB), like
``lutplug apply`` on an exported file. RGB and RGBA layers at any precision; alpha is kept; the
selection (feathered too) is respected through the shadow buffer; one undo step per call.
Errors (missing or unreadable file, tampered signed .nlut, ...) are returned as EXECUTION_ERROR
(CALLING_ERROR for bad arguments) with a message naming the file and the reason; the image is
not touched then.

Signature policy: ``settings.json`` in this folder (``trusted_keys``, ``require_signature``;
written by ``lutplug gimp install --trust KEY.pub [--require-signature]``) plus the environment
variables LUTPLUG_TRUSTED_KEYS and LUTPLUG_REQUIRE_SIGNATURE=1.
"""

import time

_T0 = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

#: LUTPLUG_GIMP_TIMING=1 logs where the time goes (stderr), for benchmarks/gimp_speed.py.
TIMING = os.environ.get("LUTPLUG_GIMP_TIMING", "") == "1"


def _log_time(what):
    if TIMING:
        print(f"[lutplug-apply] {time.perf_counter() - _T0:7.3f} s  {what}", file=sys.stderr, flush=True)


HERE = os.path.dirname(os.path.abspath(__file__))
# lib/ (lutplug) first, then vendor/ (numpy, cryptography): this folder never depends on what
# GIMP's Python happens to have installed.
for _sub in ("vendor", "lib"):
    _p = os.path.join(HERE, _sub)
    if os.path.isdir(_p) and _p not in sys.path:
        sys.path.insert(0, _p)
# lutplug's network module tries torch at import; GIMP never needs it (and it is slow to load).
sys.modules.setdefault("torch", None)
# The filter runs its own worker threads; BLAS threads on top of them (the network's small
# matrix products) only oversubscribe the cores: 6x more CPU for the same result.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, Gio, GLib, GObject  # noqa: E402

_log_time("gi + Gimp/Gegl/Babl imported")
try:
    import numpy as np

    _log_time("numpy imported")
    from lutplug.hosts.gimp import engine as lp_engine

    _log_time("lutplug imported")
    _IMPORT_ERROR = None
except Exception as _exc:  # noqa: BLE001 - reported when the procedure runs, never at registration
    np = None
    lp_engine = None
    _IMPORT_ERROR = f"{type(_exc).__name__}: {_exc}"

PLUGIN_NAME = "lutplug-apply"
PROC_NAME = "plug-in-lutplug-apply"
ENGINES = ("auto", "mlp", "cube")
ENGINE_LABELS = {"auto": "Auto", "mlp": "Network (MLP)", "cube": "Baked cube"}
#: GIMP's tiles are 64x64: reading whole tile rows never fetches a tile twice.
TILE = 64
#: Pixels read from GEGL per block (bounded memory on huge layers; progress per block).
BLOCK_PIXELS = 1 << 20


# ------------------------------------------------------------------------ pixel formats --

def pixel_format(drawable):
    """(babl format name, channels): float32 in the drawable's own encoding (linear, non-linear
    "'" or perceptual "~") and its own colour space, so the LUT sees the values as stored."""
    fmt = drawable.get_format()
    alpha = drawable.has_alpha()
    model = Babl.get_name(Babl.format_get_model(fmt))
    if model.startswith("R~G~B~"):
        base = "R~G~B~"
    elif model.startswith("R'G'B'"):
        base = "R'G'B'"
    elif model.startswith("RGB"):
        base = "RGB"
    else:  # not an RGB model (never for RGB images): sRGB-encoded values
        base = "R'G'B'"
    name = base + ("A" if alpha else "") + " float"
    space = Babl.format_get_space(fmt)
    return Babl.get_name(Babl.format_with_space(name, space)), (4 if alpha else 3)


def read_lut_image(path):
    """Decode a Hald / lookup-strip image with GIMP's own loaders: float32 (H, W, 3) holding the
    stored values (8-bit code / 255 etc.), and a description of the stored precision."""
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    if image is None:
        raise lp_engine.LutError("GIMP cannot open this image", path)
    try:
        layers = image.get_layers()
        if len(layers) != 1:
            raise lp_engine.LutError(f"a LUT image must have one layer, this one has {len(layers)}", path)
        layer = layers[0]
        if not layer.is_rgb():
            raise lp_engine.LutError("a LUT image must be RGB", path)
        w, h = layer.get_width(), layer.get_height()
        fmt, ch = pixel_format(layer)
        buf = layer.get_buffer()
        data = buf.get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.NONE)
        del buf
        px = np.frombuffer(data, np.float32).reshape(h, w, ch)[..., :3]
        depth = image.get_precision().value_nick
        return np.ascontiguousarray(px), depth
    finally:
        image.delete()


# ---------------------------------------------------------------------------- the filter --

def _check_drawables(drawables):
    """An error message, or None when every drawable can be filtered."""
    if not drawables:
        return "no layer selected: select one or more RGB layers"
    for d in drawables:
        name = d.get_name()
        is_group = getattr(d, "is_group_layer", None) or getattr(d, "is_group", None)
        if is_group is not None and is_group():
            return f"'{name}' is a layer group: select the layers inside it"
        if not d.is_rgb():
            return f"'{name}' is not an RGB drawable (a layer mask or channel?): select RGB layers"
        if d.get_lock_content():
            return f"'{name}' has its pixels locked"
    return None


def _area(drawable):
    ok, x, y, w, h = drawable.mask_intersect()
    return (x, y, w, h) if ok and w > 0 and h > 0 else None


def apply_to_drawable(drawable, area, runner, strength, progress, done, total, pool):
    """Filter ``area`` of ``drawable`` through its shadow buffer; merge_shadow() blends through
    the selection (feathering included) and records the undo step.

    Pipelined: while block k is computed (``pool``, numpy threads without the GIL), the main
    thread reads block k+1 from GIMP and writes block k-1 back (only the main thread talks to
    GIMP)."""
    x, y, w, h = area
    fmt, ch = pixel_format(drawable)
    source = drawable.get_buffer()
    shadow = drawable.get_shadow_buffer()
    rows = max(TILE, (BLOCK_PIXELS // max(w, 1)) // TILE * TILE)
    rects = []
    top = y
    while top < y + h:
        end = min(y + h, (top // TILE) * TILE + rows)   # blocks end on tile-row boundaries
        rects.append(Gegl.Rectangle.new(x, top, w, end - top))
        top = end
    clock = time.perf_counter
    spent = {"read": 0.0, "wait": 0.0, "write": 0.0}

    def write(rect, job):
        nonlocal done
        t0 = clock()
        out = job.result()
        t1 = clock()
        shadow.set(rect, fmt, out.tobytes())  # bytes: copied by memcpy (a memoryview is not)
        spent["wait"] += t1 - t0
        spent["write"] += clock() - t1
        done += rect.width * rect.height
        progress(done / total)

    pending = None
    for rect in rects:
        t0 = clock()
        data = source.get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE)
        px = np.frombuffer(data, np.float32).reshape(-1, ch)   # read-only view of GIMP's bytes
        spent["read"] += clock() - t0
        job = pool.submit(runner.run, px, strength)
        if pending is not None:
            write(*pending)
        pending = (rect, job)
    if pending is not None:
        write(*pending)
    t0 = clock()
    shadow.flush()
    t1 = clock()
    drawable.merge_shadow(True)
    drawable.update(x, y, w, h)
    if TIMING:
        _log_time(f"{drawable.get_name()}: {w}x{h} {fmt.split('-')[0]}, {len(rects)} blocks: read "
                  f"{spent['read']:.2f} s, waited for compute {spent['wait']:.2f} s, write "
                  f"{spent['write']:.2f} s, flush {t1 - t0:.2f} s, merge {clock() - t1:.2f} s")
    return done


def _fail(procedure, message, status=None):
    status = Gimp.PDBStatusType.EXECUTION_ERROR if status is None else status
    return procedure.new_return_values(status, GLib.Error(message))


def _trust():
    return lp_engine.Trust.from_settings(HERE)


def _cache():
    """Parsed LUT files, in GIMP's cache folder (e.g. ~/.cache/GIMP/3.0/lutplug-apply)."""
    try:
        return lp_engine.LutCache(os.path.join(Gimp.cache_directory(), PLUGIN_NAME))
    except Exception:  # noqa: BLE001 - no cache only costs speed
        return None


def _path_of(gfile):
    if gfile is None:
        return ""
    return gfile.get_path() or gfile.get_uri() or ""


def run(procedure, run_mode, image, drawables, config, data):
    _log_time("run() entered")
    if run_mode == Gimp.RunMode.INTERACTIVE:
        if not show_dialog(procedure, config):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())

    gfile = config.get_property("lut-file")
    strength = float(config.get_property("strength"))
    engine = str(config.get_property("engine") or "auto").strip().lower()
    path = _path_of(gfile)
    if not path:
        return _fail(procedure, "lut-file: no LUT file given", Gimp.PDBStatusType.CALLING_ERROR)
    if gfile.get_path() is None:
        return _fail(procedure, f"{path}: only local files can be read",
                     Gimp.PDBStatusType.CALLING_ERROR)
    if engine not in ENGINES:
        return _fail(procedure, f"engine {engine!r} is not one of {', '.join(ENGINES)}",
                     Gimp.PDBStatusType.CALLING_ERROR)
    if not 0.0 <= strength <= 1.0:
        return _fail(procedure, f"strength {strength} is outside 0..1", Gimp.PDBStatusType.CALLING_ERROR)
    if _IMPORT_ERROR is not None:
        return _fail(procedure, _missing_modules_message())
    problem = _check_drawables(drawables)
    if problem:
        return _fail(procedure, problem, Gimp.PDBStatusType.CALLING_ERROR)

    areas = [(d, _area(d)) for d in drawables]
    areas = [(d, a) for d, a in areas if a is not None]
    total = sum(a[2] * a[3] for _, a in areas)
    try:
        source = lp_engine.load_source(path, _trust(), read_lut_image, _cache())
        kernel, used = source.kernel(engine, total)
    except lp_engine.LutError as exc:
        status = (Gimp.PDBStatusType.CALLING_ERROR if isinstance(exc, lp_engine.EngineError)
                  else Gimp.PDBStatusType.EXECUTION_ERROR)
        return _fail(procedure, lp_engine.error_text(exc, path), status)
    except Exception as exc:  # noqa: BLE001 - every failure becomes GIMP's error message
        return _fail(procedure, lp_engine.error_text(exc, path))
    _log_time(f"loaded {source.name}; engine: {used}; {total} pixels")
    for warning in source.warnings:
        Gimp.message(f"{source.name}: {warning}")
    if total == 0 or strength == 0.0:
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())

    Gimp.progress_init(f"Applying {source.name} ({used})")
    image.undo_group_start()
    try:
        with lp_engine.Runner(kernel, Gimp.get_num_processors()) as runner, \
                ThreadPoolExecutor(1) as pool:
            done = 0
            for drawable, area in areas:
                done = apply_to_drawable(drawable, area, runner, strength, Gimp.progress_update,
                                         done, total, pool)
    except Exception as exc:  # noqa: BLE001 - e.g. MemoryError on a huge layer
        return _fail(procedure, lp_engine.error_text(exc, path))
    finally:
        image.undo_group_end()
        Gimp.progress_end()
    Gimp.displays_flush()
    _log_time("done")
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _missing_modules_message():
    version = "%d.%d" % sys.version_info[:2]
    return (f"the lutplug filter cannot load its Python modules in GIMP's Python {version} "
            f"({_IMPORT_ERROR}). Reinstall it for this Python: `lutplug gimp install "
            f"--python-version {version}` (plug-in folder: {HERE})")


# ------------------------------------------------------------------------------- dialog --

def show_dialog(procedure, config):
    """The GimpProcedureDialog: LUT file, strength, engine and an info line (source, quality,
    signature) that follows the chosen file. True when the user pressed OK."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init(PLUGIN_NAME)
    # The dialog edits the aux arguments (a file chooser that only opens existing files, an
    # engine combo); the PDB arguments stay a plain GFile and string for scripts.
    if config.get_property("lut-file") is not None:
        config.set_property("lut-file-ui", config.get_property("lut-file"))
    current = str(config.get_property("engine") or "auto").lower()
    config.set_property("engine-ui", ENGINES.index(current) if current in ENGINES else 0)

    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Apply Compressed LUT")

    def info_for(gfile):
        path = _path_of(gfile)
        if _IMPORT_ERROR is not None:
            return _missing_modules_message(), ""
        if not path:
            return lp_engine.describe(""), ""
        try:
            source = lp_engine.load_source(path, _trust(), read_lut_image, _cache())
            return source.summary(), source.info()
        except Exception as exc:  # noqa: BLE001 - shown in the dialog
            return "ERROR: " + lp_engine.error_text(exc, path), ""

    summary, detail = info_for(config.get_property("lut-file-ui"))
    label = dialog.get_label("lutplug-info", summary, False, False)
    label.set_line_wrap(True)
    label.set_xalign(0.0)
    label.set_selectable(True)
    label.set_tooltip_text(detail or None)

    def on_file_changed(cfg, _pspec):
        text, tip = info_for(cfg.get_property("lut-file-ui"))
        label.set_text(text)
        label.set_tooltip_text(tip or None)

    config.connect("notify::lut-file-ui", on_file_changed)
    store = GimpUi.IntStore.new([ENGINE_LABELS[e] for e in ENGINES])
    combo = dialog.get_int_combo("engine-ui", store)
    combo.set_tooltip_text("Auto: the network on small areas, a baked 65³ cube on large ones. "
                           "Network: the .nlut's network on every pixel (exact, slower). "
                           "Baked cube: a dense cube (a .nlut baked to 65³; a LUT file as it is).")
    dialog.fill(["lut-file-ui", "strength", "engine-ui", "lutplug-info"])
    if os.environ.get("LUTPLUG_GIMP_UI_TEST"):
        GLib.timeout_add(300, _ui_test_step, dialog, config, label, combo, [0])
    ok = dialog.run()
    dialog.destroy()
    if ok:
        config.set_property("lut-file", config.get_property("lut-file-ui"))
        config.set_property("engine", ENGINES[int(config.get_property("engine-ui"))])
    return ok


def _ui_test_step(dialog, config, label, combo, state):
    """Automated dialog check (LUTPLUG_GIMP_UI_TEST=REPORT.json, used by the test suite under
    Xvfb): record what the dialog shows, pick LUTPLUG_GIMP_UI_TEST_FILE as a user would (the
    info line must follow), choose LUTPLUG_GIMP_UI_TEST_ENGINE, record again, press OK."""

    from gi.repository import Gtk

    inner = combo.get_widget() if hasattr(combo, "get_widget") else combo  # GimpLabelIntWidget

    def active_engine():
        got = inner.get_active()  # GimpIntComboBox: (ok, value)
        return got[1] if isinstance(got, tuple) else got

    def snapshot():
        return {"title": dialog.get_title(), "info": label.get_text(),
                "tooltip": label.get_tooltip_text(), "engine_index": active_engine(),
                "engine_labels": [row[1] for row in inner.get_model()],
                "strength": config.get_property("strength"),
                "file": _path_of(config.get_property("lut-file-ui")), "visible": dialog.get_visible()}

    report = os.environ["LUTPLUG_GIMP_UI_TEST"]
    step = state[0]
    state[0] += 1
    try:
        return _ui_test_do(step, report, snapshot, config, inner, dialog, Gtk)
    except Exception as exc:  # noqa: BLE001 - a broken check must not leave the dialog open
        with open(report + ".error", "w") as f:
            f.write(f"{type(exc).__name__}: {exc}")
        dialog.response(Gtk.ResponseType.CANCEL)
        return False


def _ui_test_do(step, report, snapshot, config, inner, dialog, Gtk):
    import json

    if step == 0:
        data = {"initial": snapshot()}
        chosen = os.environ.get("LUTPLUG_GIMP_UI_TEST_FILE")
        if chosen:
            config.set_property("lut-file-ui", Gio.File.new_for_path(chosen))
        engine = os.environ.get("LUTPLUG_GIMP_UI_TEST_ENGINE")
        if engine in ENGINES:
            inner.set_active(ENGINES.index(engine))  # GimpIntComboBox: by value (= index)
        with open(report, "w") as f:
            json.dump(data, f)
        return True  # once more, after GTK has processed the changes
    with open(report) as f:
        data = json.load(f)
    data["after_choice"] = snapshot()
    with open(report, "w") as f:
        json.dump(data, f)
    dialog.response(Gtk.ResponseType.OK)
    return False


# ------------------------------------------------------------------------- registration --

class LutplugApply(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False  # no translations shipped

    def do_query_procedures(self):
        return [PROC_NAME]

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*")
        procedure.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES)
        procedure.set_menu_label("Apply _Compressed LUT...")
        procedure.add_menu_path("<Image>/Filters/Colors")
        procedure.set_documentation(
            "Apply a compressed LUT (.nlut) or a 3D LUT file to the selected layers",
            "Applies a lutplug .nlut (a tiny neural network) or any LUT file lutplug reads "
            "(.cube .3dl .spi3d .spi1d .csp, Hald images) to the pixel values as the image "
            "stores them. Respects the selection and alpha; one undo step. engine: 'auto' runs "
            "the network on small areas and a baked 65^3 cube on large ones, 'mlp' always runs "
            "the network, 'cube' always the dense cube.",
            name)
        procedure.set_attribution("lutplug", "lutplug", "2025")
        # The PDB arguments (contract: lut-file GFile, strength double, engine string).
        # FileChooserAction.ANY: GIMP would reject a missing file itself with a message that
        # names neither the file nor the reason; the plug-in reports it properly instead.
        procedure.add_file_argument(
            "lut-file", "LUT file", "The .nlut or LUT file to apply",
            Gimp.FileChooserAction.ANY, False, None, GObject.ParamFlags.READWRITE)
        procedure.add_double_argument(
            "strength", "Stre_ngth", "0 = original, 1 = full grade",
            0.0, 1.0, 1.0, GObject.ParamFlags.READWRITE)
        procedure.add_string_argument(
            "engine", "Engine", "auto, mlp (the .nlut's network) or cube (dense cube)",
            "auto", GObject.ParamFlags.READWRITE)
        # Dialog-only (aux) arguments: an open-file chooser and an engine combo.
        procedure.add_file_aux_argument(
            "lut-file-ui", "LUT _file", "A .nlut, .cube, .3dl, .spi3d, .spi1d, .csp or Hald image",
            Gimp.FileChooserAction.OPEN, True, None, GObject.ParamFlags.READWRITE)
        # (an int, shown as a combo: GIMP 3.0's Gimp.Choice in an aux argument misbehaves)
        procedure.add_int_aux_argument(
            "engine-ui", "_Engine", "0 auto, 1 network (MLP), 2 baked cube", 0, len(ENGINES) - 1,
            0, GObject.ParamFlags.READWRITE)
        return procedure


if __name__ == "__main__":
    Gimp.main(LutplugApply.__gtype__, sys.argv)

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
written by ``lutplug gimp install --trust KEY.pub [--require-signature]``) merged with the policy
the environment sets for every lutplug host ($LUTPLUG_TRUST, $LUTPLUG_TRUSTED_KEYS,
$LUTPLUG_REQUIRE_SIGNATURE=1). The dialog shows the .nlut info text every host shows.

This file only talks to GIMP; the pixel work is :mod:`lutplug.hosts.gimp.plugin.pixels`, the
host-free core :mod:`lutplug.hosts.gimp.engine` (both in ``lib/``).
"""

import time

_T0 = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any, Optional, Tuple, cast  # noqa: E402

#: LUTPLUG_GIMP_TIMING=1 logs where the time goes (stderr), for benchmarks/gimp_speed.py.
TIMING = os.environ.get("LUTPLUG_GIMP_TIMING", "") == "1"


def _log_time(what: str) -> None:
    if TIMING:
        print(f"[lutplug-apply] {time.perf_counter() - _T0:7.3f} s  {what}", file=sys.stderr, flush=True)


HERE = os.path.dirname(os.path.abspath(__file__))
# lib/ (lutplug) first, then vendor/ (numpy, cryptography): this folder never depends on what
# GIMP's Python happens to have installed.
for _sub in ("vendor", "lib"):
    _p = os.path.join(HERE, _sub)
    if os.path.isdir(_p) and _p not in sys.path:
        sys.path.insert(0, _p)
# Nothing the filter runs needs torch; should a code path try it, it fails at once instead of
# loading torch into GIMP's Python (slow, and GIMP never needs it).
sys.modules.setdefault("torch", cast(ModuleType, None))
# The filter runs its own worker threads; BLAS threads on top of them (the network's small
# matrix products) only oversubscribe the cores: 6x more CPU for the same result.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

_log_time("gi + Gimp/Gegl/Babl imported")
#: Why lutplug (or numpy) cannot be imported; reported when the procedure runs, never at
#: registration (the filter must still appear, and say what is wrong).
IMPORT_ERROR: Optional[str] = None
try:
    import numpy  # noqa: F401

    _log_time("numpy imported")
    from lutplug.hosts.gimp import engine as lp_engine
    from lutplug.hosts.gimp.plugin import pixels

    _log_time("lutplug imported")
except Exception as _exc:  # noqa: BLE001 - reported when the procedure runs
    IMPORT_ERROR = f"{type(_exc).__name__}: {_exc}"

# Also lutplug.hosts.gimp's PLUGIN_NAME, PROC_NAME and ENGINES: repeated here because the
# procedure must register even when lutplug cannot be imported (tests check they agree).
PLUGIN_NAME = "lutplug-apply"
PROC_NAME = "plug-in-lutplug-apply"
ENGINES = ("auto", "mlp", "cube")
ENGINE_LABELS = {"auto": "Auto", "mlp": "Network (MLP)", "cube": "Baked cube"}


# ---------------------------------------------------------------------------- the filter --

def _fail(procedure: Any, message: str, status: Any = None) -> Any:
    status = Gimp.PDBStatusType.EXECUTION_ERROR if status is None else status
    return procedure.new_return_values(status, GLib.Error(message))


def _trust() -> "lp_engine.Trust":
    """The signature policy: this folder's settings.json and the environment's."""
    return lp_engine.Trust.from_settings(HERE)


def _cache() -> "Optional[lp_engine.LutCache]":
    """Parsed LUT files, in GIMP's cache folder (e.g. ~/.cache/GIMP/3.0/lutplug-apply)."""
    try:
        return lp_engine.LutCache(os.path.join(Gimp.cache_directory(), PLUGIN_NAME))
    except Exception:  # noqa: BLE001 - no cache only costs speed
        return None


def _load(path: str) -> "lp_engine.Source":
    """Open the LUT file for the filter (GIMP decodes LUT images)."""
    return lp_engine.load_source(path, _trust(), pixels.read_lut_image, _cache())


def _path_of(gfile: Any) -> str:
    if gfile is None:
        return ""
    return str(gfile.get_path() or gfile.get_uri() or "")


def run(procedure: Any, run_mode: Any, image: Any, drawables: Any, config: Any, data: Any) -> Any:
    """The procedure: check the arguments, open the file, filter every drawable (one undo step)."""
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
    if IMPORT_ERROR is not None:
        return _fail(procedure, _missing_modules_message())
    problem = pixels.check_drawables(drawables)
    if problem:
        return _fail(procedure, problem, Gimp.PDBStatusType.CALLING_ERROR)

    areas = [(d, pixels.area_of(d)) for d in drawables]
    todo = [(d, a) for d, a in areas if a is not None]
    total = sum(a[2] * a[3] for _, a in todo)
    try:
        source = _load(path)
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
            for drawable, area in todo:
                done = pixels.apply_to_drawable(drawable, area, runner, strength,
                                                Gimp.progress_update, done, total, pool,
                                                _log_time if TIMING else None)
    except Exception as exc:  # noqa: BLE001 - e.g. MemoryError on a huge layer
        return _fail(procedure, lp_engine.error_text(exc, path))
    finally:
        image.undo_group_end()
        Gimp.progress_end()
    Gimp.displays_flush()
    _log_time("done")
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _missing_modules_message() -> str:
    version = "%d.%d" % sys.version_info[:2]
    return (f"the lutplug filter cannot load its Python modules in GIMP's Python {version} "
            f"({IMPORT_ERROR}). Reinstall it for this Python: `lutplug gimp install "
            f"--python-version {version}` (plug-in folder: {HERE})")


# ------------------------------------------------------------------------------- dialog --

def _info_for(gfile: Any) -> Tuple[str, str]:
    """(the dialog's one-line status, the info text in its tooltip) for the chosen file."""
    path = _path_of(gfile)
    if IMPORT_ERROR is not None:
        return _missing_modules_message(), ""
    if not path:
        return lp_engine.describe(""), ""
    try:
        source = _load(path)
        return source.summary(), source.info()
    except Exception as exc:  # noqa: BLE001 - shown in the dialog
        return "ERROR: " + lp_engine.error_text(exc, path), ""


def show_dialog(procedure: Any, config: Any) -> bool:
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
    summary, detail = _info_for(config.get_property("lut-file-ui"))
    label = dialog.get_label("lutplug-info", summary, False, False)
    label.set_line_wrap(True)
    label.set_xalign(0.0)
    label.set_selectable(True)
    label.set_tooltip_text(detail or None)

    def on_file_changed(cfg: Any, _pspec: Any) -> None:
        text, tip = _info_for(cfg.get_property("lut-file-ui"))
        label.set_text(text)
        label.set_tooltip_text(tip or None)

    config.connect("notify::lut-file-ui", on_file_changed)
    store = GimpUi.IntStore.new([ENGINE_LABELS[e] for e in ENGINES])
    combo = dialog.get_int_combo("engine-ui", store)
    combo.set_tooltip_text("Auto: the network on small areas, a baked 65³ cube on large ones. "
                           "Network: the .nlut's network on every pixel (exact, slower). "
                           "Baked cube: a dense cube (a .nlut baked to 65³; a LUT file as it is).")
    dialog.fill(["lut-file-ui", "strength", "engine-ui", "lutplug-info"])
    if os.environ.get("LUTPLUG_GIMP_UI_TEST") and IMPORT_ERROR is None:
        from lutplug.hosts.gimp.plugin import uitest  # the test suite's automated check

        uitest.schedule(dialog, config, label, combo, _path_of)
    ok = bool(dialog.run())
    dialog.destroy()
    if ok:
        config.set_property("lut-file", config.get_property("lut-file-ui"))
        config.set_property("engine", ENGINES[int(config.get_property("engine-ui"))])
    return ok


# ------------------------------------------------------------------------- registration --

class LutplugApply(Gimp.PlugIn):
    """The plug-in GIMP queries: one image procedure, :func:`run`."""

    def do_set_i18n(self, name: str) -> bool:
        return False  # no translations shipped

    def do_query_procedures(self) -> list:
        return [PROC_NAME]

    def do_create_procedure(self, name: str) -> Any:
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

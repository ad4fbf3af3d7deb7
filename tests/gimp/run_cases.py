"""Batch script run INSIDE GIMP 3 (gimp-console, python-fu-eval) by tests/test_gimp_plugin.py
and benchmarks/gimp_speed.py through ../shared/tools/gimp3/gimp3-chroot.sh:

    gimp3-chroot.sh run --bind DATA:cases --out OUT PLUGIN_DIR tests/gimp/run_cases.py

DATA/cases.json lists cases; for each one this script builds an image in GIMP from the case's
.npy pixels (values as the image stores them), optionally selects an area, calls
``plug-in-lutplug-apply`` through the PDB like any script would, and writes what came back to
OUT: ``NAME.npy`` (the layer's pixels, stored values, float32), ``NAME.mask.npy`` (the selection
mask, when there is one) and an entry in ``results.json`` (status, message, seconds). The host
side (pytest) judges the numbers. A case that raises is recorded as such; the script itself only
fails when it cannot run at all.

Case fields: name, pixels (.npy, H x W x 3|4 float32), precision (GIMP precision nick, e.g.
"float-linear", "u8-non-linear"), lut (file name in DATA, or an absolute path), strength,
engine, optional: selection [x, y, w, h], feather (px), profile ("adobe" = AdobeRGB image),
layers (number of layers given in one call, default 1), drawable ("mask" | "group": pass a layer
mask / a layer group instead), repeat (time the call N times, from the same pixels each time),
no_readback (save no pixels). Top-level "warm_bytecode": true compiles the plug-in folder's
bytecode first (what GIMP's Python does on a user's first run).
"""

import json
import os
import sys
import time
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, Gio  # noqa: E402

import numpy as np  # noqa: E402  (the installed plug-in's vendor/ is on sys.path)

import gimp3ci  # noqa: E402

PROC = "plug-in-lutplug-apply"
DATA = os.path.join(gimp3ci.DATA_DIR, "cases")
OUT = gimp3ci.OUT_DIR


def precision(nick):
    for value in Gimp.Precision.__enum_values__.values():
        if value.value_nick == nick:
            return value
    raise ValueError(f"unknown precision {nick!r}")


def stored_format(drawable):
    """float32 in the drawable's own encoding and space: the values as the image stores them
    (the same rule as the plug-in, written independently)."""
    fmt = drawable.get_format()
    model = Babl.get_name(Babl.format_get_model(fmt))
    base = "R~G~B~" if model.startswith("R~") else ("R'G'B'" if model.startswith("R'") else "RGB")
    name = base + ("A" if drawable.has_alpha() else "") + " float"
    return Babl.get_name(Babl.format_with_space(name, Babl.format_get_space(fmt)))


def write_pixels(drawable, px):
    h, w = px.shape[:2]
    buf = drawable.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, w, h), stored_format(drawable),
            np.ascontiguousarray(px, np.float32).tobytes())
    buf.flush()


def read_pixels(drawable, channels):
    w, h = drawable.get_width(), drawable.get_height()
    buf = drawable.get_buffer()
    data = buf.get(Gegl.Rectangle.new(0, 0, w, h), 1.0, stored_format(drawable),
                   Gegl.AbyssPolicy.NONE)
    del buf
    return np.frombuffer(data, np.float32).reshape(h, w, channels).copy()


def read_mask(image):
    sel = image.get_selection()
    w, h = image.get_width(), image.get_height()
    buf = sel.get_buffer()
    # the selection's own encoding: GIMP blends through these values as stored
    model = Babl.get_name(Babl.format_get_model(sel.get_format()))
    fmt = ("Y'" if model.startswith("Y'") else "Y~" if model.startswith("Y~") else "Y") + " float"
    data = buf.get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.NONE)
    del buf
    return np.frombuffer(data, np.float32).reshape(h, w).copy()


def lut_path(name):
    return name if os.path.isabs(name) else os.path.join(DATA, name)


def run_case(case):
    px = np.load(os.path.join(DATA, case["pixels"]))
    h, w, ch = px.shape
    image = Gimp.Image.new_with_precision(w, h, Gimp.ImageBaseType.RGB, precision(case["precision"]))
    try:
        if case.get("profile") == "adobe":
            image.set_color_profile(Gimp.ColorProfile.new_rgb_adobe())
        kind = Gimp.ImageType.RGBA_IMAGE if ch == 4 else Gimp.ImageType.RGB_IMAGE
        layers = []
        for i in range(int(case.get("layers", 1))):
            layer = Gimp.Layer.new(image, f"layer{i}", w, h, kind, 100, Gimp.LayerMode.NORMAL)
            image.insert_layer(layer, None, 0)
            write_pixels(layer, px if i == 0 else px[:, ::-1])
            layers.append(layer)
        targets = list(layers)
        if case.get("drawable") == "mask":
            mask = layers[0].create_mask(Gimp.AddMaskType.WHITE)
            layers[0].add_mask(mask)
            targets = [mask]
        elif case.get("drawable") == "group":
            group = Gimp.GroupLayer.new(image, "group")
            image.insert_layer(group, None, 0)
            targets = [group]
        if case.get("selection"):
            x, y, sw, sh = case["selection"]
            image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, sw, sh)
            if case.get("feather"):
                Gimp.Selection.feather(image, float(case["feather"]))
        args = dict(image=image, drawables=targets,
                    lut_file=Gio.File.new_for_path(lut_path(case["lut"])),
                    strength=float(case.get("strength", 1.0)), engine=case.get("engine", "auto"))
        times = []
        status, message = "success", ""
        for _ in range(int(case.get("repeat", 1))):
            if case.get("repeat", 1) > 1:  # benchmark: start from the same pixels each time
                for i, layer in enumerate(layers):
                    write_pixels(layer, px if i == 0 else px[:, ::-1])
            t0 = time.perf_counter()
            try:
                gimp3ci.run_procedure(PROC, **args)
            except gimp3ci.ProcedureFailed as exc:
                status, message = exc.status.value_nick, exc.message
            times.append(time.perf_counter() - t0)
        result = {"status": status, "message": message, "seconds": times}
        if not case.get("no_readback"):
            for i, layer in enumerate(layers):
                np.save(os.path.join(OUT, f"{case['name']}.{i}.npy"), read_pixels(layer, ch))
            if case.get("selection"):
                np.save(os.path.join(OUT, f"{case['name']}.mask.npy"), read_mask(image))
        result["layers_after"] = len(image.get_layers())
        return result
    finally:
        image.delete()


def main():
    with open(os.path.join(DATA, "cases.json")) as f:
        spec = json.load(f)
    gimp3ci.require_procedure(PROC)
    if spec.get("warm_bytecode"):
        # What GIMP's Python writes on a user's first run: the benchmark measures later runs.
        import compileall

        folder = os.path.join(os.environ["GIMP3_DIRECTORY"], "plug-ins", "lutplug-apply")
        t0 = time.perf_counter()
        compileall.compile_dir(folder, quiet=1, workers=1)
        print(f"[cases] compiled the plug-in's bytecode in {time.perf_counter() - t0:.1f} s")
    only = set(sys.argv[1:])
    results = {"gimp": Gimp.version(), "numpy": np.__version__,
               "numpy_from": os.path.dirname(np.__file__), "cases": {}}
    for case in spec["cases"]:
        if only and case["name"] not in only:
            continue
        try:
            results["cases"][case["name"]] = run_case(case)
        except Exception as exc:  # noqa: BLE001 - recorded; pytest reports it
            results["cases"][case["name"]] = {"status": "script-error",
                                              "message": f"{type(exc).__name__}: {exc}",
                                              "traceback": traceback.format_exc()}
        r = results["cases"][case["name"]]
        secs = ", ".join(f"{s:.2f}" for s in r.get("seconds", []))
        print(f"[cases] {case['name']}: {r['status']} {r.get('message', '')[:160]} ({secs} s)")
        with open(os.path.join(OUT, "results.json"), "w") as f:
            json.dump(results, f, indent=1)


main()

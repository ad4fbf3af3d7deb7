"""Batch script run INSIDE GIMP 3 under Xvfb by tests/test_gimp_plugin.py: opens the filter's
dialog for real (run-mode INTERACTIVE), lets the plug-in's UI test hook (LUTPLUG_GIMP_UI_TEST)
record what the dialog shows, choose a file and an engine as a user would, and press OK; then
saves the layer's pixels to OUT for the host to check.

    gimp3-chroot.sh run --env DISPLAY=:99 --env LUTPLUG_GIMP_UI_TEST=/tmp/ci/out/ui.json
        --env LUTPLUG_GIMP_UI_TEST_FILE=... --bind DATA:cases --out OUT PLUGIN tests/gimp/ui_dialog.py
"""

import json
import os
import subprocess
import time

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

import numpy as np  # noqa: E402

import gimp3ci  # noqa: E402

PROC = "plug-in-lutplug-apply"
DATA = os.path.join(gimp3ci.DATA_DIR, "cases")
OUT = gimp3ci.OUT_DIR
FMT = "RGBA float"   # a float-linear sRGB image: its stored values

display = os.environ["DISPLAY"]
xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(100):
    if os.path.exists(f"/tmp/.X11-unix/X{display.lstrip(':')}"):
        break
    time.sleep(0.05)

px = np.load(os.path.join(DATA, "ui.npy"))
h, w = px.shape[:2]
image = Gimp.Image.new_with_precision(w, h, Gimp.ImageBaseType.RGB, Gimp.Precision.FLOAT_LINEAR)
layer = Gimp.Layer.new(image, "ui", w, h, Gimp.ImageType.RGBA_IMAGE, 100, Gimp.LayerMode.NORMAL)
image.insert_layer(layer, None, 0)
buf = layer.get_buffer()
buf.set(Gegl.Rectangle.new(0, 0, w, h), FMT, px.tobytes())
buf.flush()
del buf

proc = gimp3ci.require_procedure(PROC)
config = proc.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [layer])
first = os.environ.get("LUTPLUG_UI_FIRST_FILE")
if first:
    config.set_property("lut-file", Gio.File.new_for_path(first))
t0 = time.perf_counter()
result = proc.run(config)
status = result.index(0)
message = result.index(1) if result.length() > 1 else ""
data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, FMT, Gegl.AbyssPolicy.NONE)
np.save(os.path.join(OUT, "ui.out.npy"), np.frombuffer(data, np.float32).reshape(h, w, 4))
with open(os.path.join(OUT, "ui.result.json"), "w") as f:
    json.dump({"status": status.value_nick, "message": message,
               "seconds": time.perf_counter() - t0}, f)
print(f"[ui] {status.value_nick} {message}")
image.delete()
xvfb.terminate()

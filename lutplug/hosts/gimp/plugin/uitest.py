"""Automated check of the filter's dialog, for the test suite (tests/test_gimp_plugin.py runs
GIMP under Xvfb with ``LUTPLUG_GIMP_UI_TEST=REPORT.json``): record what the dialog shows, pick
``LUTPLUG_GIMP_UI_TEST_FILE`` as a user would (the info line must follow), choose
``LUTPLUG_GIMP_UI_TEST_ENGINE``, record again, press OK. Never used otherwise."""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Optional

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import Gio, GLib, Gtk  # noqa: E402

from lutplug.hosts.gimp import ENGINES  # noqa: E402

#: Environment variable naming the report file; the check runs only when it is set.
ENV_REPORT = "LUTPLUG_GIMP_UI_TEST"


def schedule(dialog: Any, config: Any, label: Any, combo: Any,
             path_of: Callable[[Any], str]) -> None:
    """Run the check once the dialog is up (``path_of``: a GFile's path, as the plug-in reads
    it)."""
    GLib.timeout_add(300, _step, dialog, config, label, combo, path_of, [0])


def _step(dialog: Any, config: Any, label: Any, combo: Any, path_of: Callable[[Any], str],
          state: List[int]) -> bool:
    """One timer tick: True to be called again."""
    inner = combo.get_widget() if hasattr(combo, "get_widget") else combo  # GimpLabelIntWidget

    def active_engine() -> Optional[int]:
        got = inner.get_active()  # GimpIntComboBox: (ok, value)
        return got[1] if isinstance(got, tuple) else got

    def snapshot() -> Dict[str, Any]:
        return {"title": dialog.get_title(), "info": label.get_text(),
                "tooltip": label.get_tooltip_text(), "engine_index": active_engine(),
                "engine_labels": [row[1] for row in inner.get_model()],
                "strength": config.get_property("strength"),
                "file": path_of(config.get_property("lut-file-ui")), "visible": dialog.get_visible()}

    report = os.environ[ENV_REPORT]
    step = state[0]
    state[0] += 1
    try:
        return _do(step, report, snapshot, config, inner, dialog)
    except Exception as exc:  # noqa: BLE001 - a broken check must not leave the dialog open
        with open(report + ".error", "w") as f:
            f.write(f"{type(exc).__name__}: {exc}")
        dialog.response(Gtk.ResponseType.CANCEL)
        return False


def _do(step: int, report: str, snapshot: Callable[[], Dict[str, Any]], config: Any, inner: Any,
        dialog: Any) -> bool:
    """Step 0: record, choose the file and engine; step 1: record again, press OK."""
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

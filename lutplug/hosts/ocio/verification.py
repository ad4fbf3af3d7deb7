"""Checking an edited config before it replaces the original (:func:`verify`), and the pixel
sampling it and the pack's archive check share (:func:`sample_points`, :func:`apply_cpu`).

:func:`verify` re-reads the edited text with OpenColorIO and refuses the edit — raising
:class:`~lutplug.errors.LutError`, so nothing is written — unless the new entry is there under its
name, every other entry serialises exactly as before, every comment line is still there in order,
every file that resolved still resolves, the entry's pixels equal the grade's in-memory processor,
and a config that validated still validates.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, List, Optional

import numpy as np

from lutplug.errors import LutError
from lutplug.hosts.ocio import ociolib
from lutplug.hosts.ocio.entries import KIND_WORDS, entry_names, entry_processor, without_entry
from lutplug.hosts.ocio.yamltext import ConfigText


def sample_points(nlut: Any, count: int = 4096, seed: int = 0) -> np.ndarray:
    """A 9³ lattice over the grade's input domain plus random points 5 % beyond it, float32."""
    from lutplug.core.lut import lattice

    dmin, dmax = (np.asarray(d, np.float64) for d in nlut.input_domain)
    span = dmax - dmin
    rnd = dmin - 0.05 * span + np.random.default_rng(seed).random((count, 3)) * 1.1 * span
    return np.concatenate([lattice(9, dmin, dmax), rnd]).astype(np.float32)


def apply_cpu(proc: Any, rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (…, 3) through an OCIO ``Processor`` on the CPU, float32."""
    buf = np.ascontiguousarray(rgb, dtype=np.float32).reshape(-1).copy()
    proc.getDefaultCPUProcessor().applyRGB(buf)
    return buf.reshape(rgb.shape)


def _others_unchanged(old_here: Any, new: Any, kind: str, name: str, sp_entries: List[str],
                      where: str) -> None:
    """Every entry but ``name`` serialises as before (the search path: as before plus
    ``sp_entries``)."""
    before = without_entry(old_here, kind, name)
    after = without_entry(new, kind, name)
    if sp_entries:
        expected = [e for e in old_here.getSearchPaths() if e.strip()] + list(sp_entries)
        got = [e for e in new.getSearchPaths()]
        if got != expected:
            raise LutError(f"editing the search path gave {got}, expected {expected}; nothing was "
                           "changed", where)
        after.clearSearchPaths()
        for e in old_here.getSearchPaths():
            after.addSearchPath(e)
    if before.serialize() != after.serialize():
        diff = [ln for ln in difflib.unified_diff(before.serialize().splitlines(),
                                                  after.serialize().splitlines(), lineterm="", n=0)
                if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
        raise LutError("the edit would change other entries of the config "
                       f"({'; '.join(diff[:4])}); nothing was changed", where)


def _pixels_match(new: Any, nlut: Any, kind: str, name: str, process_space: Optional[str],
                  size: int, where: str) -> float:
    """Max abs difference between the entry read by OCIO and the grade's in-memory processor."""
    from lutplug.hosts.ocio.processing import processor

    try:
        got_proc = entry_processor(new, kind, name, process_space)
    except Exception as exc:  # noqa: BLE001
        raise LutError(f"OpenColorIO cannot use the new entry: {ociolib.oneline(exc)}; nothing "
                       "was changed", where) from None
    x = sample_points(nlut)
    want = apply_cpu(processor(nlut, size), x)
    got = apply_cpu(got_proc, x)
    max_abs = float(np.max(np.abs(got - want)))
    scale = max(1.0, float(np.max(np.abs(want))))
    tol = (5e-4 if kind == "colorspace" else 2e-5) * scale
    if not np.isfinite(max_abs) or max_abs > tol:
        raise LutError(f"the new entry does not reproduce the grade (max abs difference "
                       f"{max_abs:.3g} > {tol:.1g}); nothing was changed", where)
    return max_abs


def verify(base_text: str, old_home: Any, old_here: Any, new_text: str, out: Path, nlut: Any,
           kind: str, name: str, process_space: Optional[str], size: int, sp_entries: List[str],
           old_item: str) -> float:
    """Check the edited config; raise :class:`LutError` (config untouched) when anything is off.

    ``old_home`` / ``old_here``: the original config read in its own folder / in ``out``'s;
    ``old_item``: the text of the entry being replaced ("" when adding). Returns the largest
    difference between the entry and the in-memory grade."""
    where = str(out)
    new = ociolib.config_from_text(new_text, out.parent, where)
    # 1. the new entry is there, under its name, of its kind
    if name.lower() not in [n.lower() for n in entry_names(new, kind)]:
        raise LutError(f"internal error: the edited config has no {KIND_WORDS[kind]} {name!r}; "
                       "nothing was changed", where)
    # 2. everything else is exactly as before
    _others_unchanged(old_here, new, kind, name, sp_entries, where)
    # 3. comments: every comment line is still there, in order (but those of a replaced entry)
    old_comments = [c for c in ConfigText(base_text).comments()
                    if c not in {ln.strip() for ln in old_item.splitlines()}]
    new_comments = iter(ConfigText(new_text).comments())
    if not all(any(c == n for n in new_comments) for c in old_comments):
        raise LutError("the edit would lose or reorder comments; nothing was changed", where)
    # 4. every file that resolved where the config was still resolves where it is written
    now = ociolib.resolvable_files(new)
    lost = [src for src, path in ociolib.resolvable_files(without_entry(old_home, kind, name)).items()
            if path is not None and now.get(src) is None]
    if lost:
        raise LutError(f"written to {out.parent}, the config could no longer find "
                       f"{', '.join(lost[:5])} (its search path is relative to its folder); write "
                       "it beside the original, or copy those files along", where)
    # 5. the entry's pixels are the grade's
    max_abs = _pixels_match(new, nlut, kind, name, process_space, size, where)
    # 6. a config that validated still validates
    try:
        old_here.validate()
        valid_before = True
    except Exception:  # noqa: BLE001
        valid_before = False
    if valid_before:
        try:
            new.validate()
        except Exception as exc:  # noqa: BLE001
            raise LutError(f"the edited config does not validate: {ociolib.oneline(exc)}; nothing "
                           "was changed", where) from None
    return max_abs

"""What a stored network may hold: the reader's limits, the checks of a network configuration
against its tensors, and the packing of its tensors into two (format version 2; version 3 keeps a
residual lattice apart, see :func:`packed_specs`).

Shared by the .nlut reader (:mod:`lutplug.codec.nlut`) and look packs (:mod:`lutplug.codec.pack`).
Every check takes either arrays or tensor-header specs (anything with ``dtype`` and ``shape``), so
a file is refused before its tensor data is inflated.
"""
from __future__ import annotations

import contextlib
import re
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from lutplug.codec.model import FORMAT, param_shapes
from lutplug.core.lut import LUT1D
from lutplug.errors import LutError

#: Prefix of the network tensors' names in a .nlut; the shaper's tensor name.
MODEL_PREFIX = "m."
SHAPER = "shaper"
#: Version 2 layout: every int8 network tensor, flattened in :func:`param_shapes` order, in one
#: tensor ``m.q``, and their float16 scales in ``m.s`` (the curves one a row, every other tensor
#: one; node corrections and residual lattices none) — what :func:`lutplug.codec.train.fit`
#: stores, minus a tensor-index entry per parameter (110–244 bytes a file over the 39 benchmark
#: grades).
PACKED_Q, PACKED_S = MODEL_PREFIX + "q", MODEL_PREFIX + "s"
#: Version 3 keeps the residual lattice apart from ``m.q``, as int8 or int16.
LATTICE = "lattice"
PACKED_LATTICE = MODEL_PREFIX + LATTICE
#: Tensors quantised with one scale per row (per channel).
ROW_SCALED = ("cin", "cout")
#: Tensors stored as plain integers (their scale is in the configuration) and their integer types.
UNSCALED = {"fix": (np.dtype(np.int8),), "lattice": (np.dtype(np.int8), np.dtype(np.int16))}

#: Largest shaper (entries per channel) accepted.
MAX_SHAPER = 1 << 16
#: Node corrections: largest grid (coordinates are int8) and row count accepted.
MAX_FIX_GRID, MAX_FIX_ROWS = 128, 4096
#: Residual lattice: largest grid accepted (129³ int16 nodes: 12.9 MB decompressed).
MAX_LATTICE_GRID = 129
#: Largest step * |residual| accepted (in the log-compressed space: e^63 is far beyond any grade).
MAX_LATTICE_SPAN = 64.0
#: Largest value of each curve/feature setting, and the allowed values of the choice settings.
LIMITS = {"in_curve": 4096, "out_curve": 4096, "fourier": 12}
CHOICES = {"act": ("relu", "silu", "tanh", "sin"), "skip": ("identity", "linear", "none")}
KNOWN_KEYS = {"format", "version", "in_curve", "out_curve", "fourier", "hidden", "act", "skip",
              "center", "minmax", "quant", "fix", "lattice"}
#: Description field holding the key id of the signer (see :mod:`lutplug.codec.signature`).
SIGNER_PATTERN = re.compile(r"[0-9a-f]{16}")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_lattice(spec: object) -> None:
    """Raise ValueError unless ``spec`` is a residual-lattice setting (grid, step, interpolation)."""
    if not isinstance(spec, dict) or set(spec) != {"grid", "step", "interpolation"}:
        raise ValueError("lattice must hold exactly grid, step and interpolation")
    grid, step = spec["grid"], spec["step"]
    if not _is_int(grid) or not 2 <= grid <= MAX_LATTICE_GRID:
        raise ValueError(f"lattice grid = {grid!r} is out of range")
    if not isinstance(step, (int, float)) or isinstance(step, bool) or not 0 < step <= 1:
        raise ValueError(f"lattice step = {step!r} must be in (0, 1]")
    if spec["interpolation"] not in ("tetrahedral", "trilinear"):
        raise ValueError(f"lattice interpolation = {str(spec['interpolation'])[:40]!r} is not "
                         "tetrahedral or trilinear")


def check_fix(fix: object) -> None:
    """Raise ValueError unless ``fix`` is a node-correction setting (grid, count, scale)."""
    if not isinstance(fix, dict) or set(fix) != {"grid", "count", "scale"}:
        raise ValueError("fix must hold exactly grid, count and scale")
    for key, top in (("grid", MAX_FIX_GRID), ("count", MAX_FIX_ROWS)):
        v = fix[key]
        if not _is_int(v) or not (2 if key == "grid" else 1) <= v <= top:
            raise ValueError(f"fix {key} = {v!r} is out of range")
    scale = fix["scale"]
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0 < scale < 1e4:
        raise ValueError(f"fix scale = {scale!r} must be a positive number")


def check_config(config: dict) -> None:
    """Raise ValueError unless ``config`` is a network configuration this reader knows
    (:mod:`lutplug.codec.model`), every setting within the limits above."""
    if config.get("format") != FORMAT:
        raise ValueError(f"unknown network format {config.get('format')!r}")
    for key, limit in LIMITS.items():
        v = config.get(key, 0)
        if not _is_int(v) or not (v == 0 or 2 <= v <= limit):
            raise ValueError(f"{key} = {v!r} is out of range")
    hidden = config.get("hidden")
    if (not isinstance(hidden, list) or not 1 <= len(hidden) <= 8
            or not all(_is_int(h) and 1 <= h <= 1024 for h in hidden)):
        raise ValueError(f"hidden = {str(hidden)[:60]} must be 1 to 8 widths of 1..1024")
    for key, allowed in CHOICES.items():
        if config.get(key, allowed[0]) not in allowed:
            raise ValueError(f"{key} = {config.get(key)!r} is not one of {allowed}")
    for key in ("center", "minmax"):
        if not isinstance(config.get(key, False), bool):
            raise ValueError(f"{key} = {config.get(key)!r} must be true or false")
    if "fix" in config:
        check_fix(config["fix"])
    if "lattice" in config:
        check_lattice(config["lattice"])
    unknown = set(config) - KNOWN_KEYS
    if unknown:  # a newer writer's feature this reader would silently ignore: refuse
        raise ValueError(f"unknown network settings {sorted(unknown)}")


@contextlib.contextmanager
def network_mismatch(source: str) -> Iterator[None]:
    """Turn what a configuration/tensor check raises into the LutError naming ``source``."""
    try:
        yield
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise LutError(f"network does not match its configuration: {str(exc)[:300]}", source) from None


def check_params(config: dict, params: Mapping[str, object], source: str) -> None:
    """Refuse (:class:`LutError`) a configuration or tensors (``dtype``/``shape`` holders) that
    disagree with the architecture: every tensor present with its exact shape, quantised ones
    with a matching scale, no other tensor."""
    with network_mismatch(source):
        check_config(config)
        seen = set()
        for name, shape in param_shapes(config).items():
            arr: object
            if name in UNSCALED:  # node corrections, residual lattice: plain integers
                arr = params.get(name)
                if arr is None or getattr(arr, "dtype") not in UNSCALED[name]:
                    raise ValueError(f"tensor {name} must be {' or '.join(map(str, UNSCALED[name]))}")
                seen.add(name)
            elif name in params:
                arr = params[name]
                if getattr(arr, "dtype").kind != "f":
                    raise ValueError(f"{name} must be float, got {getattr(arr, 'dtype')}")
                seen.add(name)
            elif name + ".q" in params and name + ".s" in params:
                arr, scale = params[name + ".q"], params[name + ".s"]
                if getattr(arr, "dtype") != np.int8 or getattr(scale, "dtype").kind != "f":
                    raise ValueError(f"{name} must be int8 with a float scale")
                if tuple(getattr(scale, "shape")) not in ((), (1,), (shape[0],)):
                    raise ValueError(f"{name}.s has shape {getattr(scale, 'shape')}, not a per-tensor "
                                     f"or per-row scale of {shape}")
                seen.update((name + ".q", name + ".s"))
            else:
                raise ValueError(f"tensor {name} is missing")
            if tuple(getattr(arr, "shape")) != tuple(shape):
                raise ValueError(f"{name} has shape {tuple(getattr(arr, 'shape'))}, the network "
                                 f"needs {shape}")
        extra = set(params) - seen
        if extra:
            raise ValueError(f"unexpected tensors {sorted(extra)}")


def check_integers(config: dict, params: Mapping[str, np.ndarray], source: str) -> None:
    """Refuse node corrections naming nodes outside their grid and residual lattices beyond
    :data:`MAX_LATTICE_SPAN` (tensors whose shapes and types were checked already)."""
    if "fix" in params:
        nodes = params["fix"][:, :3]
        if nodes.size and (nodes.min() < 0 or nodes.max() >= config["fix"]["grid"]):
            raise LutError("node corrections name nodes outside their grid", source)
    if "lattice" in params:
        span = float(config["lattice"]["step"]) * float(np.abs(params["lattice"].astype(np.int32)).max())
        if span > MAX_LATTICE_SPAN:
            raise LutError(f"residual lattice values reach {span:.3g} (at most {MAX_LATTICE_SPAN:g})", source)


def check_finite(tensors: Mapping[str, np.ndarray], source: str) -> None:
    """Refuse float tensors holding NaN or infinite values."""
    for k, v in tensors.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise LutError(f"tensor {k!r} holds NaN or infinite values", source)


# ----------------------------------------------------------------------------- packing (v2, v3)

def packed_layout(config: dict, lattice_apart: bool = False) -> List[Tuple[str, tuple, int]]:
    """(name, shape, scale count) of every network tensor packed into ``m.q``, in packing order
    (version 2: all of them; version 3, ``lattice_apart``: all but the residual lattice)."""
    return [(name, tuple(shape), 0 if name in UNSCALED else shape[0] if name in ROW_SCALED else 1)
            for name, shape in param_shapes(config).items() if not (lattice_apart and name == LATTICE)]


def pack(config: dict, params: Mapping[str, np.ndarray],
         lattice_apart: bool = False) -> Optional[Dict[str, np.ndarray]]:
    """``m.q``/``m.s`` of ``params`` (version 2), plus ``m.lattice`` kept apart with its own
    type (version 3, ``lattice_apart``); None when the parameters are not all int8 with float16
    scales of the packed layout's counts (an int8 or int16 lattice apart)."""
    layout = packed_layout(config, lattice_apart)
    names = {n for n, _, k in layout if not k} | {n + e for n, _, k in layout if k for e in (".q", ".s")}
    out: Dict[str, np.ndarray] = {}
    if lattice_apart and LATTICE in config:
        lattice = np.asarray(params.get(LATTICE))
        if lattice.dtype not in UNSCALED[LATTICE] or lattice.shape != tuple(param_shapes(config)[LATTICE]):
            return None
        names.add(LATTICE)
        out[PACKED_LATTICE] = lattice
    if set(params) != names:
        return None
    ints, scales = [], []
    for name, shape, count in layout:
        q = np.asarray(params[name if not count else name + ".q"])
        if q.dtype != np.int8 or q.shape != shape:
            return None
        ints.append(q.ravel())
        if count:
            scale = np.asarray(params[name + ".s"])
            if scale.dtype != np.float16 or scale.size != count:
                return None
            scales.append(scale.ravel())
    return {PACKED_Q: np.concatenate(ints), PACKED_S: np.concatenate(scales), **out}


def unpack(config: dict, q: np.ndarray, s: np.ndarray, lattice_apart: bool = False) -> Dict[str, np.ndarray]:
    """The parameters (``name.q``/``name.s`` pairs, ``fix``, a version 2 ``lattice``) in
    ``m.q`` and ``m.s``, whose sizes :func:`check_packed` checked."""
    params: Dict[str, np.ndarray] = {}
    at_q = at_s = 0
    for name, shape, count in packed_layout(config, lattice_apart):
        size = int(np.prod(shape))
        block = q[at_q:at_q + size].reshape(shape)
        at_q += size
        if not count:
            params[name] = block
            continue
        params[name + ".q"], params[name + ".s"] = block, s[at_s:at_s + count]
        at_s += count
    return params


def packed_specs(config: dict, lattice_dtype: np.dtype = np.dtype(np.int8)) -> Dict[str, Tuple[np.dtype, tuple]]:
    """(dtype, shape) of version 3's packed tensors for ``config`` (checked first: ValueError),
    in their order in the tensor block: ``m.q``, ``m.s``, then ``m.lattice`` when the network
    has a residual lattice."""
    check_config(config)
    layout = packed_layout(config, lattice_apart=True)
    out: Dict[str, Tuple[np.dtype, tuple]] = {
        PACKED_Q: (np.dtype(np.int8), (sum(int(np.prod(shape)) for _, shape, _ in layout),)),
           PACKED_S: (np.dtype(np.float16), (sum(count for _, _, count in layout),))}
    if LATTICE in config:
        out[PACKED_LATTICE] = (np.dtype(lattice_dtype), tuple(param_shapes(config)[LATTICE]))
    return out


def check_packed(config: dict, specs: Mapping[str, object], lattice_apart: bool = False) -> None:
    """Raise ValueError for packed tensors (version 2; version 3 with ``lattice_apart``) whose
    types or sizes disagree with ``config``."""
    check_config(config)
    layout = packed_layout(config, lattice_apart)
    sizes = {PACKED_Q: sum(int(np.prod(shape)) for _, shape, _ in layout),
             PACKED_S: sum(count for _, _, count in layout)}
    for name, dtype in ((PACKED_Q, np.int8), (PACKED_S, np.float16)):
        spec = specs.get(name)
        if spec is None or getattr(spec, "dtype") != dtype or tuple(getattr(spec, "shape")) != (sizes[name],):
            got = "missing" if spec is None else f"{getattr(spec, 'dtype')} {tuple(getattr(spec, 'shape'))}"
            raise ValueError(f"{name} must be {np.dtype(dtype)} ({sizes[name]},), got {got}")
    allowed = set(sizes)
    if lattice_apart and LATTICE in config:
        allowed.add(PACKED_LATTICE)
        spec = specs.get(PACKED_LATTICE)
        shape = tuple(param_shapes(config)[LATTICE])
        if spec is None or getattr(spec, "dtype") not in UNSCALED[LATTICE] \
                or tuple(getattr(spec, "shape")) != shape:
            raise ValueError(f"tensor lattice must be int8 or int16 {shape}")
    extra = sorted(k for k in specs if k.startswith(MODEL_PREFIX) and k not in allowed)
    if extra:
        raise ValueError(f"unexpected tensors {[k[:40] for k in extra[:5]]}")


def stored_tensors(config: dict, params: Mapping[str, np.ndarray],
                   shaper: Optional[LUT1D]) -> Dict[str, np.ndarray]:
    """The tensors a version 3 .nlut stores for a network and its optional shaper: the packed
    network (``m.q``, ``m.s``, ``m.lattice``) when the parameters are stored that way, else one
    tensor (or q/s pair) per parameter, ``m.<name>``, as version 1 named them."""
    out = pack(config, params, lattice_apart=True) or {MODEL_PREFIX + k: v for k, v in params.items()}
    if shaper is not None:
        out[SHAPER] = shaper_tensor(shaper)
    return out


def stored_params(config: dict, tensors: Mapping[str, np.ndarray], version: int) -> Dict[str, np.ndarray]:
    """The network parameters in a checked container's ``tensors`` of format ``version``."""
    if version == 2 or (version >= 3 and PACKED_Q in tensors):
        params = unpack(config, tensors[PACKED_Q], tensors[PACKED_S], lattice_apart=version >= 3)
        if PACKED_LATTICE in tensors:
            params[LATTICE] = tensors[PACKED_LATTICE]
        return params
    return {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}


# ----------------------------------------------------------------------------- shaper, description

def shaper_tensor(shaper: LUT1D) -> np.ndarray:
    """The stored form of a shaper: float16 where that keeps it within 1e-5 of its span, else
    float32."""
    half = shaper.table.astype(np.float16)
    span = float(np.ptp(shaper.table)) or 1.0
    if np.all(np.isfinite(half)) and np.abs(half.astype(np.float32) - shaper.table).max() <= 1e-5 * span:
        return half
    return shaper.table.astype(np.float32)


def check_shaper_spec(spec: object, what: str, source: Optional[str]) -> None:
    """Refuse a shaper tensor (array or spec) that is not float (M, 3) with 2 <= M <= MAX_SHAPER."""
    shape = tuple(getattr(spec, "shape"))
    if getattr(spec, "dtype").kind != "f" or len(shape) != 2 or shape[1] != 3 \
            or not 2 <= shape[0] <= MAX_SHAPER:
        raise LutError(f"{what} must be float (M, 3) with 2 <= M <= {MAX_SHAPER}, got "
                       f"{getattr(spec, 'dtype')} {shape}", source)


def floats3(value: object, field: str, source: Optional[str]) -> np.ndarray:
    """Three finite numbers of a description field, float64 (3,); LutError otherwise."""
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise LutError(f"description field {field!r} must hold 3 numbers", source) from None
    if not np.all(np.isfinite(arr)):
        raise LutError(f"description field {field!r} is not finite", source)
    return arr


def domain_pair(d: Mapping, field: str, source: Optional[str],
                missing: str = "") -> Tuple[np.ndarray, np.ndarray]:
    """The (min, max) float64 (3,) pair a description holds under ``field``; LutError when it is
    missing or malformed (message ``missing``), empty or reversed."""
    try:
        pair = d[field]
        lo, hi = floats3(pair[0], field, source), floats3(pair[1], field, source)
    except (KeyError, IndexError, TypeError):
        raise LutError(missing or f"description has no valid {field!r}", source) from None
    if np.any(hi <= lo):
        raise LutError(f"description {field!r} is empty or reversed", source)
    return lo, hi


def check_nlut(d: dict, specs: Mapping[str, object], source: str, version: int) -> None:
    """Refuse a .nlut description, or tensors (header specs or arrays), that disagree with each
    other or with the layout of format ``version``, before any tensor data is inflated."""
    if d.get("format") != "nlut":
        raise LutError("description does not describe an nlut", source)
    signer = d.get("signer")
    if signer is not None and not (isinstance(signer, str) and SIGNER_PATTERN.fullmatch(signer)):
        raise LutError("description field 'signer' must be a key id of 16 hex digits", source)
    config = d.get("model")
    if not isinstance(config, dict):
        raise LutError("description has no model configuration", source)
    domain_pair(d, "domain", source)
    if d.get("interpolation", "tetrahedral") not in ("tetrahedral", "trilinear"):
        raise LutError(f"description 'interpolation' must be tetrahedral or trilinear, got "
                       f"{str(d.get('interpolation'))[:40]!r}", source)
    stray = sorted(k for k in specs if not k.startswith(MODEL_PREFIX) and k != SHAPER)
    if stray:
        raise LutError(f"unexpected tensors {[k[:40] for k in stray[:5]]}", source)
    if version == 2 or (version >= 3 and PACKED_Q in specs):
        with network_mismatch(source):
            check_packed(config, specs, lattice_apart=version >= 3)
    else:
        check_params(config, {k[len(MODEL_PREFIX):]: v for k, v in specs.items()
                              if k.startswith(MODEL_PREFIX)}, source)
    if (SHAPER in specs) != ("shaper_domain" in d):
        raise LutError("'shaper' tensor and 'shaper_domain' must come together", source)
    if SHAPER in specs:
        check_shaper_spec(specs[SHAPER], "shaper", source)
        domain_pair(d, "shaper_domain", source, "file has a shaper but no valid 'shaper_domain'")

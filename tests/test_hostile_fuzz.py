"""The fuzz targets (tests/fuzz/targets.py) in the normal suite.

Every input the atheris job (``python -m tests.fuzz.run``) found crashing is kept in
tests/data/fuzz/<target>/ and replayed here; hypothesis mutates the seeds of every target that is
not a LUT reader (those have tests/test_formats_fuzz.py) and builds .nlut descriptions from
random JSON. Each input must be accepted or refused with LutError within the time and memory
bounds (1 s of CPU, 16x its size + 64 MB).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("PyOpenColorIO")
pytest.importorskip("cryptography")
from lutplug.codec import container
from tests.fuzz.mutate import mutate
from tests.fuzz.targets import TARGETS, check

REGRESSIONS = sorted((Path(__file__).parent / "data" / "fuzz").glob("*/*.bin"))
FUZZ = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
NON_LUT = ["nlut", "nlut-trusted", "nlut-lean", "safetensors", "pack", "ocio-config", "trust-store", "zip-extract",
           "image"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(scratch):
    out = {}
    for name in NON_LUT:
        try:
            out[name] = TARGETS[name].seeds(scratch)
        except ImportError as exc:  # the pack code, before it lands
            out[name] = exc
    return out


def test_every_regression_folder_names_a_target():
    # a renamed target would otherwise silently stop replaying its saved inputs
    assert REGRESSIONS and {p.parent.name for p in REGRESSIONS} <= set(TARGETS)


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_saved_fuzz_crash_stays_fixed(path, scratch):
    check(TARGETS[path.parent.name], path.read_bytes(), scratch)


@pytest.mark.parametrize("name", NON_LUT)
@FUZZ
@given(data=st.data())
def test_mutated_inputs_only_raise_documented_errors(name, seeds, scratch, data):
    if isinstance(seeds[name], ImportError):
        pytest.skip(f"target {name} is not available: {seeds[name]}")
    seed = data.draw(st.sampled_from(seeds[name]))
    check(TARGETS[name], mutate(seed, data.draw), scratch)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
                    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=8), kids, max_size=5),
                    max_leaves=20)


@FUZZ
@given(data=st.data())
def test_random_descriptions_only_raise_lut_error(seeds, scratch, data):
    """Well-framed files whose description fields hold arbitrary JSON (the writer stores it
    all: in binary fields where a codec takes it, in the JSON extras otherwise)."""
    c = container.decode(data.draw(st.sampled_from(seeds["nlut"][:3])))
    desc = json.loads(json.dumps(c.description))
    keys = ["model", "domain", "shaper_domain", "format", "title", "provenance", "signer", "quality"]
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        desc[key] = data.draw(JSON)
    if "model" in desc and isinstance(desc["model"], dict) and data.draw(st.booleans()):
        for key in ("hidden", "in_curve", "out_curve", "fourier", "act", "skip"):
            desc["model"][key] = data.draw(JSON) if data.draw(st.booleans()) else desc["model"].get(key)
    check(TARGETS["nlut"], container.encode(c.tensors, desc), scratch)

"""`lutplug ocio add`: text-level config editing keeps every entry, comment and the order; built-in
bases; the three entry kinds; --replace; process-space defaults; bad input leaves the config
untouched. Every config written is checked by OpenColorIO's own ociocheck."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_ocio_host_helpers import COMMENTED, assert_ociocheck, ociocheck, tagged_nlut

ocio = pytest.importorskip("PyOpenColorIO")

from lutplug.cli import main  # noqa: E402
from lutplug.errors import LutError  # noqa: E402
from lutplug.hosts.ocio.edit import add_grade  # noqa: E402
from lutplug.hosts.ocio.yamltext import ConfigText, scalar  # noqa: E402


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def commented(tmp_path):
    """The commented config in show/; whatever a test leaves there must pass ociocheck with no
    warning beyond the base's two (every config we write is checked)."""
    d = tmp_path / "show"
    (d / "luts").mkdir(parents=True)
    cfg = d / "config.ocio"
    cfg.write_text(COMMENTED)
    yield cfg
    for written in d.glob("*.ocio"):
        if written.read_text() != COMMENTED:
            assert_ociocheck(written, {"warnings": 2})


@pytest.fixture(scope="module")
def grades(tmp_path_factory):
    d = tmp_path_factory.mktemp("grades")
    out = {}
    for seed, kw in ((1, {}), (2, {"shaper": True}), (3, {})):
        n = tagged_nlut(seed, **kw)
        n.save(d / f"g{seed}.nlut")
        out[seed] = d / f"g{seed}.nlut"
    plain = tagged_nlut(4)
    plain.description.pop("colorspace")
    plain.save(d / "untagged.nlut")
    out["untagged"] = d / "untagged.nlut"
    return out


def _lines_kept(before: str, after: str) -> bool:
    """Every line of ``before`` is in ``after``, in the same order (only insertions)."""
    it = iter(after.splitlines())
    return all(any(a == b for a in it) for b in before.splitlines())


def _cube_processor(path, size):
    from lutplug.hosts.ocio.processing import processor

    return processor(path, size)


# -- the text scanner ---------------------------------------------------------------------------

def test_scanner_sections_ignore_block_scalars_and_comments():
    t = ConfigText(COMMENTED)
    keys = [s.key for s in t.sections()]
    assert keys == ["ocio_profile_version", "search_path", "strictparsing", "luma", "description",
                    "roles", "displays", "active_displays", "active_views", "looks", "colorspaces"]
    looks = t.section("looks")
    col, spans = t.items(looks)
    assert col == 2 and len(spans) == 2
    assert "show base" in t.item_text("looks", 0) and "quoted: look" in t.item_text("looks", 1)
    # the comment at column 0 after the last look is not part of it
    assert "trailing comment" not in t.item_text("looks", 1)
    assert t.render() == COMMENTED


@pytest.mark.parametrize("text", [
    "ocio_profile_version: 2\r\nroles: {default: a}\r\n# c\r\ncolorspaces:\r\n  - !<ColorSpace> {name: a}\r\n",
    "\ufeffocio_profile_version: 2\nroles: {default: a}\ncolorspaces:\n- !<ColorSpace> {name: a}\n",
])
def test_scanner_round_trips_crlf_bom_and_zero_indented_lists(text):
    t = ConfigText(text)
    assert t.render() == text
    t.append_item("colorspaces", ["- !<ColorSpace>", "  name: b"], "!<ColorSpace> {name: b}")
    out = t.render()
    assert _lines_kept(text.replace("\ufeff", ""), out.replace("\ufeff", ""))
    assert out.startswith("\ufeff") == text.startswith("\ufeff")
    assert ("\r\n" in out) == ("\r\n" in text)
    names = ocio.Config.CreateFromStream(out.replace("\ufeff", "")).getColorSpaceNames()
    assert list(names) == ["a", "b"]


_NEW_ENTRY = {
    "looks": (["- !<Look>", "  name: new look", "  process_space: ACEScct",
               "  transform: !<MatrixTransform> {}"],
              "!<Look> {name: new look, process_space: ACEScct, transform: !<MatrixTransform> {}}"),
    "colorspaces": (["- !<ColorSpace>", "  name: new space", "  isdata: false"],
                    "!<ColorSpace> {name: new space, isdata: false}"),
    "named_transforms": (["- !<NamedTransform>", "  name: new nt", "  transform: !<MatrixTransform> {}"],
                         "!<NamedTransform> {name: new nt, transform: !<MatrixTransform> {}}"),
}


@pytest.mark.parametrize("builtin", list(ocio.BuiltinConfigRegistry()))
def test_scanner_keeps_every_builtin_config_byte_identical_but_the_entry(builtin):
    """Why the scanner exists (see yamltext's docstring: ruamel.yaml rewrites these configs'
    ``environment:`` lines): adding to any built-in config is one inserted block."""
    import difflib

    text = ocio.Config.CreateFromBuiltinConfig(builtin).serialize()
    for section, (block, flow) in _NEW_ENTRY.items():
        t = ConfigText(text)
        assert t.render() == text
        t.append_item(section, block, flow)
        out = t.render()
        ops = difflib.SequenceMatcher(None, text.splitlines(keepends=True),
                                      out.splitlines(keepends=True), autojunk=False).get_opcodes()
        changes = [op for op in ops if op[0] != "equal"]
        assert len(changes) == 1 and changes[0][0] == "insert", (section, changes)
        cfg = ocio.Config.CreateFromStream(out)
        name = block[1].split(": ", 1)[1]
        found = {"looks": cfg.getLookNames, "colorspaces": cfg.getColorSpaceNames,
                 "named_transforms": cfg.getNamedTransformNames}[section]()
        assert list(found)[-1] == name


@pytest.mark.parametrize("looks,expect", [
    ("looks: []\n", "flow-empty"), ("looks:\n", "empty"), ("", "absent"),
    ("looks: [!<Look> {name: x, process_space: a, transform: !<MatrixTransform> {}}]  # one\n", "flow"),
    ("looks:\n  - !<Look> {name: x, process_space: a, transform: !<MatrixTransform> {}}\n", "block"),
])
def test_append_look_to_every_list_style(looks, expect):
    base = ("ocio_profile_version: 2\nroles: {default: a}\n" + looks +
            "colorspaces:\n  - !<ColorSpace> {name: a}\n")
    t = ConfigText(base)
    sec = t.section("looks")
    assert (t.style(sec) if sec else "absent") == expect
    t.append_item("looks", ["- !<Look>", "  name: new", "  process_space: a",
                            "  transform: !<MatrixTransform> {}"],
                  "!<Look> {name: new, process_space: a, transform: !<MatrixTransform> {}}")
    cfg = ocio.Config.CreateFromStream(t.render())
    assert list(cfg.getLookNames()) == (["x", "new"] if expect in ("flow", "block") else ["new"])
    assert "# one" in t.render() or expect != "flow"


def test_scalar_quotes_what_yaml_would_misread():
    assert scalar("ACEScct") == "ACEScct"
    assert scalar("sRGB - Display") == "sRGB - Display"
    for tricky in ("a: b", "# x", "yes", "1.5", "", " lead", "quote\"d", "tab\there", "[x]", "-x"):
        q = scalar(tricky)
        cfg = ocio.Config.CreateFromStream(
            f"ocio_profile_version: 2\nroles: {{default: a}}\ncolorspaces:\n  - !<ColorSpace> {{name: a, description: {q}}}\n")
        assert cfg.getColorSpace("a").getDescription() == tricky


# -- add ------------------------------------------------------------------------------------------

def test_add_look_keeps_entries_comments_order_and_backs_up(commented, grades):
    base = ociocheck(commented)
    assert base["ok"] and base["warnings"] == 2  # two optional roles are not defined
    before = commented.read_text()
    r = _cli("ocio", "add", commented, grades[1], "--look", "Grade One", "--size", "17",
             "--process-space", "cct")
    assert r.exit_code == 0, r.output
    after = commented.read_text()
    assert _lines_kept(before, after)               # only insertions: comments, order, entries
    import difflib

    ops = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines()).get_opcodes()
    changes = [op for op in ops if op[0] != "equal"]
    assert len(changes) == 1 and changes[0][0] == "insert"
    added = after.splitlines()[changes[0][3]:changes[0][4]]
    # the list separates its items with a blank line: so does the new one
    assert added[:2] == ["", "  - !<Look>"] and "    name: Grade One" in added
    # inserted after the last look, before the column-0 comment that follows the list
    assert after.index("Grade One") < after.index("# trailing comment at column 0")
    assert after.index("quoted: look") < after.index("Grade One")
    cfg = ocio.Config.CreateFromFile(str(commented))
    assert list(cfg.getLookNames()) == ["show base", "quoted: look", "Grade One"]
    look = cfg.getLook("Grade One")
    assert look.getProcessSpace() == "cct"
    backups = list(commented.parent.glob("config.ocio.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == before
    cube = commented.parent / "luts" / look.getTransform().getSrc()
    assert cube.is_file() and re.fullmatch(r"lutplug-[0-9a-f]{16}-17\.cube", cube.name)
    assert_ociocheck(commented, base)


def test_add_pixels_equal_the_grade_through_the_config(commented, grades):
    add_grade(commented, grades[2], "with shaper", size=33, process_space="cct")
    cfg = ocio.Config.CreateFromFile(str(commented))
    proc = cfg.getProcessor(ocio.LookTransform("cct", "cct", "with shaper")).getDefaultCPUProcessor()
    from lutplug.codec.nlut import load_nlut

    n = load_nlut(grades[2])
    dmin, dmax = n.input_domain
    x = (dmin + np.random.default_rng(0).random((5000, 3)) * (dmax - dmin)).astype(np.float32)
    got = x.copy().reshape(-1)
    proc.applyRGB(got)
    want = n.bake(33).apply(x)
    assert np.abs(got.reshape(-1, 3) - want).max() < 1e-5


def test_add_each_kind_to_a_builtin_config(tmp_path, grades):
    out = tmp_path / "studio" / "config.ocio"
    r = add_grade("ocio://studio-config-latest", grades[1], "Look One", output=out, size=17)
    assert r.backup is None and r.process_space == "ACEScct"
    assert "readable by OCIO 2.5" in r.base
    r2 = add_grade(out, grades[3], "Graded (cs)", kind="colorspace", size=17)
    r3 = add_grade(out, grades[3], "Graded NT", kind="named-transform", size=17)
    assert r2.cube == r3.cube and not r3.cube_written  # same grade, same size: one cube
    cfg = ocio.Config.CreateFromFile(str(out))
    assert (cfg.getMajorVersion(), cfg.getMinorVersion()) <= (2, 5)
    assert "Look One" in cfg.getLookNames()
    cs = cfg.getColorSpace("Graded (cs)")
    assert cs is not None and not cs.isData() and list(cs.getCategories()) == ["file-io"]
    assert cfg.getNamedTransform("Graded NT") is not None
    assert list(cfg.getSearchPaths()) == ["luts"]
    assert len(list(out.parent.glob("config.ocio.*.bak"))) == 2
    assert_ociocheck(out)
    # nothing else changed: the built-in config plus our three entries
    base = ocio.Config.CreateFromBuiltinConfig("studio-config-v4.0.0_aces-v2.0_ocio-v2.5")
    assert len(cfg.getColorSpaceNames()) == len(base.getColorSpaceNames()) + 1
    assert len(cfg.getLookNames()) == len(base.getLookNames()) + 1


def test_ocio_version_latest_picks_the_library_newest(tmp_path, grades):
    out = tmp_path / "c.ocio"
    r = add_grade("ocio://studio-config-latest", grades[1], "L", output=out, size=9, target=None)
    cfg = ocio.Config.CreateFromFile(str(out))
    newest = max((n for n in ocio.BuiltinConfigRegistry() if n.startswith("studio-config")),
                 key=lambda n: ocio.Config.CreateFromBuiltinConfig(n).getMinorVersion())
    assert cfg.getName() == ocio.Config.CreateFromBuiltinConfig(newest).getName()
    assert r.max_abs <= 2e-5


def test_replace_in_place_and_refuse_without_it(commented, grades):
    base = ociocheck(commented)
    add_grade(commented, grades[1], "Grade", size=9, process_space="cct")
    text = commented.read_text()
    with pytest.raises(LutError, match="--replace"):
        add_grade(commented, grades[2], "grade", size=9, process_space="cct")  # case-insensitive
    assert commented.read_text() == text
    r = _cli("ocio", "add", commented, grades[2], "--look", "Grade", "--size", "9",
             "--process-space", "cct")
    assert r.exit_code == 2 and "already has look 'Grade'" in r.output
    res = add_grade(commented, grades[2], "Grade", size=9, replace=True, process_space="cct")
    assert res.replaced
    cfg = ocio.Config.CreateFromFile(str(commented))
    assert list(cfg.getLookNames()) == ["show base", "quoted: look", "Grade"]
    new = commented.read_text()
    assert new.count("name: Grade") == 1 and res.cube.name in new
    assert new.index("Grade") < new.index("# trailing comment at column 0")
    assert_ociocheck(commented, base)


def test_name_used_by_another_kind_is_refused_even_with_replace(commented, grades):
    with pytest.raises(LutError, match="role 'color_timing'|colour space"):
        add_grade(commented, grades[1], "cct", kind="colorspace", size=9, replace=True)
    with pytest.raises(LutError, match="colour space 'lin'"):
        add_grade(commented, grades[1], "LIN", kind="named-transform", size=9, replace=True)


def test_process_space_defaults(commented, tmp_path, grades):
    # tag ACEScct is not in the commented config and OCIO finds no equivalent → refuse
    with pytest.raises(LutError, match="tagged input 'ACEScct'"):
        add_grade(commented, grades[1], "x", size=9, process_space=None)
    # untagged: the color_timing role
    r = add_grade(commented, grades["untagged"], "x", size=9)
    assert r.process_space == "cct" and "color_timing" in r.process_space_origin
    # explicit, by role name
    r = add_grade(commented, grades[1], "y", size=9, process_space="scene_linear")
    assert r.process_space == "scene_linear"
    assert ocio.Config.CreateFromFile(str(commented)).getLook("y").getProcessSpace() == "scene_linear"


def test_tag_is_found_under_another_name(tmp_path, grades):
    """An ACES 1.x style config calls ACEScct "ACES - ACEScct": OCIO identifies it numerically."""
    base = ocio.Config.CreateFromBuiltinConfig("studio-config-v1.0.0_aces-v1.3_ocio-v2.1")
    text = base.serialize()
    text = re.sub(r"\bACEScct\b", "Grading Log", text)   # rename the space and its references
    cfg_path = tmp_path / "renamed.ocio"
    cfg_path.write_text(text)
    assert ocio.Config.CreateFromFile(str(cfg_path)).getColorSpace("Grading Log") is not None
    r = add_grade(cfg_path, grades[1], "tagged", size=9)
    assert r.process_space == "Grading Log" and "identified" in r.process_space_origin


def test_data_space_reached_through_a_tag_or_role_is_refused(tmp_path, grades):
    cfg = tmp_path / "c.ocio"
    cfg.write_text("ocio_profile_version: 2\nsearch_path: luts\nroles: {default: a, color_timing: raw}\n"
                   "displays: {sRGB: [!<View> {name: Raw, colorspace: a}]}\ncolorspaces:\n"
                   "  - !<ColorSpace> {name: a}\n  - !<ColorSpace> {name: raw, aliases: [ACEScct], isdata: true}\n")
    text = cfg.read_text()
    with pytest.raises(LutError, match="role 'color_timing' is a data colour space"):
        add_grade(cfg, grades["untagged"], "x", size=9)
    with pytest.raises(LutError, match="input tag 'ACEScct' is a data colour space"):
        add_grade(cfg, grades[1], "x", size=9)
    assert cfg.read_text() == text and sorted(p.name for p in tmp_path.iterdir()) == ["c.ocio"]


@pytest.mark.parametrize("space", ["raw", "data"])
def test_data_process_space_is_refused(commented, grades, space):
    text = commented.read_text()
    r = _cli("ocio", "add", commented, grades[1], "--look", "x", "--process-space", space, "--size", "9")
    assert r.exit_code == 2 and "data colour space" in r.output
    assert commented.read_text() == text
    assert not list(commented.parent.glob("*.bak"))
    assert not list((commented.parent / "luts").iterdir())


def test_config_that_does_not_parse(tmp_path, grades):
    bad = tmp_path / "bad.ocio"
    bad.write_text("ocio_profile_version: 2\ncolorspaces: [\n")
    r = _cli("ocio", "add", bad, grades[1], "--look", "x")
    assert r.exit_code == 2 and "bad.ocio" in r.output and "not a valid OCIO config" in r.output
    assert bad.read_text() == "ocio_profile_version: 2\ncolorspaces: [\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ocio"]


def test_tampered_signed_grade_with_key(commented, tmp_path, grades):
    from lutplug.codec import signing
    from lutplug.codec.nlut import sign_file

    signing.generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    signed = tmp_path / "signed.nlut"
    sign_file(grades[1], signing.load_private_key(tmp_path / "k"), signed)
    data = bytearray(signed.read_bytes())
    data[-1] ^= 0x01                      # a signature byte
    tampered = tmp_path / "tampered.nlut"
    tampered.write_bytes(bytes(data))
    text = commented.read_text()
    r = _cli("ocio", "add", commented, tampered, "--look", "x", "--pubkey", tmp_path / "k.pub")
    assert r.exit_code == 2 and "altered after signing" in r.output
    r = _cli("ocio", "add", commented, grades[1], "--look", "x", "--pubkey", tmp_path / "k.pub")
    assert r.exit_code == 2 and "not signed" in r.output
    assert commented.read_text() == text and not list(commented.parent.glob("*.bak"))
    r = _cli("ocio", "add", commented, signed, "--look", "signed", "--pubkey", tmp_path / "k.pub",
             "--size", "9", "--process-space", "cct")
    assert r.exit_code == 0, r.output


def _readonly_cases(folder: Path):
    """Make ``folder`` read-only for real: chmod for a normal user; as root (who ignores
    permissions) a read-only tmpfs mount, when mounting is allowed."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    r = subprocess.run(["mount", "-o", "bind", str(folder), str(folder)], capture_output=True)
    if r.returncode != 0:
        return None
    r = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True)
    if r.returncode != 0:
        subprocess.run(["umount", str(folder)])
        return None
    return lambda: subprocess.run(["umount", str(folder)], check=True)


def test_read_only_config_folder(commented, grades):
    folder = commented.parent
    text = commented.read_text()
    undo = _readonly_cases(folder)
    if undo is None:
        pytest.skip("cannot make a folder read-only here (root without mount rights)")
    try:
        r = _cli("ocio", "add", commented, grades[1], "--look", "x", "--size", "9",
                 "--process-space", "cct")
    finally:
        undo()
    assert r.exit_code == 2 and "not writable" in r.output and "nothing was changed" in r.output
    assert commented.read_text() == text and not list(folder.glob("*.bak"))


def test_unwritable_folder_simulated(commented, grades, monkeypatch):
    """Wherever the OS refuses the write (EROFS, EACCES), the same clean refusal."""
    import errno
    import tempfile

    real = tempfile.mkstemp

    def refuse(*a, dir=None, **kw):
        if dir is not None and Path(dir).resolve() == commented.parent.resolve():
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    text = commented.read_text()
    with pytest.raises(LutError, match="Read-only file system"):
        add_grade(commented, grades[1], "x", size=9, process_space="cct")
    assert commented.read_text() == text


def test_writing_elsewhere_would_lose_relative_luts(commented, tmp_path, grades):
    (commented.parent / "luts" / "show.spi1d").write_text(
        "Version 1\nFrom 0 1\nLength 2\nComponents 1\n{\n0\n1\n}\n")
    text = commented.read_text().replace(
        "transform: !<ExponentTransform> {value: [1.1, 1.1, 1.1, 1]}",
        "transform: !<FileTransform> {src: show.spi1d}")
    commented.write_text(text)
    base = ociocheck(commented)
    elsewhere = tmp_path / "other" / "config.ocio"
    with pytest.raises(LutError, match="could no longer find show.spi1d"):
        add_grade(commented, grades[1], "x", size=9, output=elsewhere, process_space="cct")
    assert not elsewhere.exists()
    add_grade(commented, grades[1], "x", size=9, output=commented.parent / "v2.ocio", process_space="cct")
    assert_ociocheck(commented.parent / "v2.ocio", base)


def test_lut_dir_is_added_to_the_search_path(commented, grades):
    base = ociocheck(commented)
    r = add_grade(commented, grades[1], "x", size=9, process_space="cct", lut_dir="grades/baked")
    assert r.cube.parent == (commented.parent / "grades" / "baked").resolve()
    cfg = ocio.Config.CreateFromFile(str(commented))
    assert list(cfg.getSearchPaths()) == ["luts", "grades/baked"]
    assert "  - luts        # show LUTs" in commented.read_text()
    assert_ociocheck(commented, base)


def test_empty_search_path_keeps_existing_files_resolving(tmp_path, grades):
    d = tmp_path / "c"
    d.mkdir()
    (d / "curve.spi1d").write_text("Version 1\nFrom 0 1\nLength 2\nComponents 1\n{\n0\n1\n}\n")
    cfg = d / "config.ocio"
    cfg.write_text("ocio_profile_version: 2\nsearch_path: \"\"\nroles: {default: a, color_timing: a}\n"
                   "displays: {sRGB: [!<View> {name: Raw, colorspace: a}]}\n"
                   "colorspaces:\n  - !<ColorSpace> {name: a}\n  - !<ColorSpace> {name: b, "
                   "from_scene_reference: !<FileTransform> {src: curve.spi1d}}\n")
    base = ociocheck(cfg)
    assert not base["ok"] and "search_path must not be an empty string" in base["out"]
    add_grade(cfg, grades[1], "x", size=9, process_space="a")
    c = ocio.Config.CreateFromFile(str(cfg))
    assert list(c.getSearchPaths()) == [".", "luts"]
    c.getProcessor("a", "b")   # the old file still resolves
    assert_ociocheck(cfg, base)   # and the config now passes (the empty search path is gone)


def test_ocio_v1_config(tmp_path, grades):
    cfg = tmp_path / "v1.ocio"
    cfg.write_text("ocio_profile_version: 1\nsearch_path: luts\nroles:\n  default: lin\n"
                   "  color_timing: lin\ndisplays:\n  sRGB:\n    - !<View> {name: Raw, colorspace: lin}\n"
                   "colorspaces:\n  - !<ColorSpace>\n    name: lin\n    isdata: false\n")
    (tmp_path / "luts").mkdir()
    base = ociocheck(cfg)
    assert base["ok"]
    with pytest.raises(LutError, match="named transforms need an OCIO 2 config"):
        add_grade(cfg, grades[1], "nt", kind="named-transform", size=9)
    add_grade(cfg, grades[1], "graded", kind="colorspace", size=9, process_space="lin")
    text = cfg.read_text()
    assert "from_reference:" in text and "from_scene_reference" not in text
    add_grade(cfg, grades[1], "look", size=9, process_space="lin")
    assert_ociocheck(cfg, base)


def test_bad_names_and_sizes(commented, grades):
    for bad in ("a, b", "+a", " pad", "x$VAR", "tab\tx", ""):
        with pytest.raises(LutError):
            add_grade(commented, grades[1], bad, size=9, process_space="cct")
    with pytest.raises(LutError, match="cube size"):
        add_grade(commented, grades[1], "ok", size=1, process_space="cct")
    r = _cli("ocio", "add", commented, grades[1], "--look", "x", "--size", "300")
    assert r.exit_code == 2
    assert not list(commented.parent.glob("*.bak"))


def test_builtin_needs_output_and_archives_are_refused(tmp_path, grades):
    r = _cli("ocio", "add", "ocio://studio-config-latest", grades[1], "--look", "x")
    assert r.exit_code == 2 and "-o/--output" in r.output
    r = _cli("ocio", "add", "ocio://no-such-config", grades[1], "--look", "x", "-o", tmp_path / "c.ocio")
    assert r.exit_code == 2 and "unknown built-in config" in r.output
    (tmp_path / "a.ocioz").write_bytes(b"PK\x03\x04")
    r = _cli("ocio", "add", tmp_path / "a.ocioz", grades[1], "--look", "x")
    assert r.exit_code == 2 and "archive" in r.output
    r = _cli("ocio", "add", "ocio://studio-config-v5.0.0_aces-v2.1_ocio-v2.6", grades[1], "--look",
             "x", "-o", tmp_path / "c.ocio", "--ocio-version", "2.3")
    assert r.exit_code == 2 and "cannot load" in r.output


def test_ociocheck_is_real(tmp_path):
    """The checker used above does fail a broken config."""
    bad = tmp_path / "missing.ocio"
    bad.write_text("ocio_profile_version: 2\nsearch_path: luts\nroles: {default: a}\n"
                   "displays: {d: [!<View> {name: v, colorspace: a}]}\n"
                   "colorspaces:\n  - !<ColorSpace> {name: a, from_scene_reference: "
                   "!<FileTransform> {src: nothere.cube}}\n")
    assert not ociocheck(bad)["ok"] or ociocheck(bad)["errors"]

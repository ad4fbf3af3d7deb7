"""Archive extraction (`lutplug ocio extract`, lutplug.fileio.extract_zip, the GIMP installer's
wheel unpacking) refuses absolute paths, '..', links, device files, duplicates and bombs, and
writes nothing at all when it refuses (no zip-slip)."""
from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from lutplug.errors import LutError
from lutplug.fileio import extract_zip


def _zip(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """entries: (name, data, unix mode or None)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return buf.getvalue()


GOOD = [("config.ocio", b"ocio_profile_version: 2\n", 0o100644), ("luts/a.cube", b"LUT_3D_SIZE 2\n", None)]

HOSTILE = {
    "absolute path": ([("/tmp/evil.txt", b"x", None)], "absolute"),
    "parent folder": ([("../evil.txt", b"x", None)], "leaves the extraction folder"),
    "nested parent": ([("luts/../../evil.txt", b"x", None)], "leaves the extraction folder"),
    "backslash": ([("..\\evil.txt", b"x", None)], "non-portable"),
    "drive letter": ([("C:/evil.txt", b"x", None)], "absolute"),
    "symlink": ([("link", b"/etc/passwd", stat.S_IFLNK | 0o777)], "symbolic link"),
    "character device": ([("tty", b"", stat.S_IFCHR | 0o666)], "character device"),
    "block device": ([("sda", b"", stat.S_IFBLK | 0o660)], "block device"),
    "fifo": ([("pipe", b"", stat.S_IFIFO | 0o644)], "FIFO"),
    "duplicate": ([("a.cube", b"1", None), ("a.cube", b"2", None)], "appears twice"),
    "case duplicate": ([("A.cube", b"1", None), ("a.cube", b"2", None)], "appears twice"),
    "empty part": ([("luts//a.cube", b"1", None)], "empty path part"),
    "bomb": ([("zeros", bytes(50 << 20), None)], "inflates to 52428800 bytes"),
}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_are_refused_and_nothing_is_written(tmp_path, case):
    entries, message = HOSTILE[case]
    archive = tmp_path / "show.ocioz"
    archive.write_bytes(_zip(GOOD + entries))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(LutError, match=message):
        extract_zip(archive, work / "out")
    assert list(work.iterdir()) == []  # no folder, no temporary folder, nothing beside
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_a_good_archive_extracts_and_the_cli_refuses_a_bad_one(tmp_path):
    from lutplug.cli import main

    archive = tmp_path / "show.ocioz"
    archive.write_bytes(_zip(GOOD))
    res = CliRunner().invoke(main, ["ocio", "extract", str(archive), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "luts" / "a.cube").read_bytes() == b"LUT_3D_SIZE 2\n"
    assert (tmp_path / "out" / "config.ocio").stat().st_mode & 0o777 != 0
    bad = tmp_path / "bad.ocioz"
    bad.write_bytes(_zip(GOOD + [("../../x", b"1", None)]))
    res = CliRunner().invoke(main, ["ocio", "extract", str(bad), "-o", str(tmp_path / "out2")])
    assert res.exit_code == 2 and "leaves the extraction folder" in res.output
    assert not (tmp_path / "out2").exists()
    # never into a folder that already holds files
    res = CliRunner().invoke(main, ["ocio", "extract", str(archive), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "not empty" in res.output


def test_truncated_and_lying_archives(tmp_path):
    data = _zip(GOOD, zipfile.ZIP_DEFLATED)
    archive = tmp_path / "t.ocioz"
    for cut in (10, len(data) // 2, len(data) - 5):
        archive.write_bytes(data[:cut])
        with pytest.raises(LutError):
            extract_zip(archive, tmp_path / f"o{cut}")
        assert not (tmp_path / f"o{cut}").exists()
    # a member whose stored size lies (says 4 bytes, holds more): refused
    lying = bytearray(_zip([("a", b"0123456789", None)], zipfile.ZIP_STORED))
    central = lying.rfind(b"PK\x01\x02")
    lying[central + 24:central + 28] = (4).to_bytes(4, "little")  # uncompressed size
    archive.write_bytes(bytes(lying))
    with pytest.raises(LutError):
        extract_zip(archive, tmp_path / "lie")
    assert not (tmp_path / "lie").exists()


def test_gimp_wheel_unpacking_refuses_links_and_escapes(tmp_path):
    from lutplug.hosts.gimp.install import unpack_wheel

    for entries, message in (([("numpy/../../evil.py", b"x", None)], "leaves"),
                             ([("numpy/link.py", b"/etc/passwd", stat.S_IFLNK | 0o777)], "symbolic link")):
        wheel = tmp_path / "numpy-2.0-cp313-none-any.whl"
        wheel.write_bytes(_zip(entries))
        with pytest.raises(LutError, match=message):
            unpack_wheel(wheel, tmp_path / "dest")
        assert not (tmp_path / "evil.py").exists()

import struct

import numpy as np
import pytest

pytest.importorskip("OpenImageIO")
from lutplug import LutError
from lutplug.imageio import read_image, write_image


def _png_ihdr(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", data[16:26])
    return width, height, bit_depth, colour_type


@pytest.fixture
def pixels():
    return np.random.default_rng(0).random((6, 7, 3)).astype(np.float32)


def test_png_16_bit_is_kept(tmp_path, pixels):
    src = tmp_path / "in.png"
    write_image(src, pixels, pixel_type="uint16")
    assert _png_ihdr(src) == (7, 6, 16, 2)  # read from the file's own header: 16-bit RGB
    back, info = read_image(src)
    assert info.pixel_type == "uint16" and info.bits_per_sample == 16
    np.testing.assert_array_equal(back, np.round(pixels * 65535) / np.float32(65535))
    out = tmp_path / "out.png"
    write_image(out, back, like=info)
    assert _png_ihdr(out)[2] == 16


def test_exr_half_and_float(tmp_path, pixels):
    for kind, cast in (("half", np.float16), ("float", np.float32)):
        path = tmp_path / f"{kind}.exr"
        write_image(path, pixels * 40 - 3, pixel_type=kind)  # HDR values survive
        back, info = read_image(path)
        assert info.pixel_type == kind
        np.testing.assert_array_equal(back, (pixels * 40 - 3).astype(cast).astype(np.float32))


def test_tiff16_dpx10_and_jpeg(tmp_path, pixels):
    tif = tmp_path / "a.tif"
    write_image(tif, pixels, pixel_type="uint16")
    back, info = read_image(tif)
    assert info.pixel_type == "uint16"
    dpx = tmp_path / "a.dpx"
    write_image(dpx, pixels, pixel_type="uint16")
    _, dinfo = read_image(dpx)
    dinfo.bits_per_sample = 10
    write_image(tmp_path / "b.dpx", back, like=dinfo)
    b10, i10 = read_image(tmp_path / "b.dpx")
    assert i10.bits_per_sample == 10
    # 10-bit codes (OIIO widens them to 16 bits by bit replication, hence the small tolerance)
    np.testing.assert_allclose(b10 * 1023, np.round(b10 * 1023), atol=0.02)
    jpg = tmp_path / "a.jpg"
    write_image(jpg, np.full((8, 8, 3), 0.5, np.float32), like=info)  # uint16 -> uint8 for JPEG
    jback, jinfo = read_image(jpg)
    assert jinfo.pixel_type == "uint8" and abs(float(jback.mean()) - 0.5) < 2 / 255


def test_errors_name_the_file(tmp_path):
    with pytest.raises(LutError, match="missing.exr"):
        read_image(tmp_path / "missing.exr")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(LutError, match="junk.png"):
        read_image(junk)


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "x.png"
    target.write_bytes(b"previous")
    with pytest.raises(LutError):
        write_image(target, np.zeros((2, 2, 2, 2), np.float32))
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]

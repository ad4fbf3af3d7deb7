"""Byte and line mutations of seed files for hypothesis (tests/test_formats_fuzz.py,
tests/test_hostile_fuzz.py)."""
from __future__ import annotations

from hypothesis import strategies as st

TOKENS = ["nan", "inf", "-inf", "-1", "1e400", "1e-400", "99999999999999999999", "", "abc",
          "0x10", "1_0", "\u22121", "\x00", "{", "}", "#", "<", "LUT_3D_SIZE", "65536", "3 3 3",
          "Mesh 9 12", "Length 4294967297",
          # found by the atheris job: Unicode digits ('³' passes str.isdigit, int() refuses it)
          # and integers too long for int()
          "\u00b3", "\u0661\u0662", "9" * 5000]


def mutate(data: bytes, draw) -> bytes:
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "token", "line_dup", "line_del",
                                   "truncate"]))
        if not data:
            data = draw(st.binary(max_size=64))
            continue
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data = data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1:]
        elif op == "insert":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 64)):]
        elif op == "truncate":
            data = data[:pos]
        else:
            lines = data.split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            if op == "line_dup":
                lines.insert(k, lines[k])
            elif op == "line_del":
                del lines[k]
            else:
                parts = lines[k].split(b" ")
                j = draw(st.integers(0, len(parts) - 1))
                parts[j] = draw(st.sampled_from(TOKENS)).encode()
                lines[k] = b" ".join(parts)
            data = b"\n".join(lines)
    return data

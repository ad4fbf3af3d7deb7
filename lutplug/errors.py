"""Error types. Every message names the file (and line or field) and what is wrong."""
from __future__ import annotations

import os
from typing import Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


class LutError(ValueError):
    """A LUT, image or .nlut file (or an argument describing one) is unusable.

    ``str(err)`` reads ``"<path>:<line>: <message>"`` (path and line only when known).
    """

    def __init__(self, message: str, path: Optional[PathLike] = None, line: Optional[int] = None):
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)

    def with_path(self, path: PathLike) -> "LutError":
        """The same error attributed to ``path`` (when raised from a helper that had no path)."""
        if self.path is not None:
            return self
        return type(self)(self.message, path, self.line)


class SignatureError(LutError):
    """A signed file's signature does not verify (tampered, or signed by another key)."""


class UnsignedError(LutError):
    """A signature was required but the file carries none."""

"""Error types. Every message names the file (and line or field) and what is wrong."""
from __future__ import annotations

import os
from typing import Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


class LutError(ValueError):
    """A LUT, image or .nlut file (or an argument describing one) is unusable.

    ``str(err)`` reads ``"<path>:<line>: <message>"`` (path and line only when known).
    """

    def __init__(self, message: str, path: Optional[object] = None, line: Optional[int] = None):
        """``path``: a path, or an in-memory file (anything whose ``str`` names it)."""
        self.message = message
        self.path = _path_text(path) if path is not None else None
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)

    def with_path(self, path: object) -> "LutError":
        """The same error attributed to ``path`` (when raised from a helper that had no path)."""
        if self.path is not None:
            return self
        return type(self)(self.message, path, self.line)


def _path_text(path: object) -> str:
    """A path as text; an in-memory file (:class:`lutplug.fileio.NamedBytes`) by its name."""
    try:
        return os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        return str(path)


class SignatureError(LutError):
    """A signed file's signature does not verify (tampered), or its signer is not acceptable.

    The subclasses below say which; ``verify`` gives each its own exit code."""


class UnsignedError(LutError):
    """A signature was required but the file carries none."""


class UntrustedKeyError(SignatureError):
    """The signature is intact but made by a key that is not trusted (wrong or unknown key)."""


class ExpiredKeyError(SignatureError):
    """The signature is intact and made by a trusted key whose validity date has passed."""


class StrippedSignatureError(SignatureError):
    """The file was signed but its signature was removed (it names a signer, or its header says
    signed, yet it carries no signature)."""


class ResignedError(SignatureError):
    """The signature is intact but made by another key than the signer the file names."""

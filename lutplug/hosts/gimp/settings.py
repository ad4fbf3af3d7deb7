"""The filter's signature policy: what the plug-in folder's ``settings.json`` says (written by
``lutplug gimp install --trust KEY.pub [--require-signature]``), merged with the policy the
environment configures for every host (:func:`lutplug.codec.trust.from_env`: ``$LUTPLUG_TRUST``,
``$LUTPLUG_TRUSTED_KEYS``, ``$LUTPLUG_REQUIRE_SIGNATURE=1``)."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import List, Mapping, Optional

from lutplug.codec import trust
from lutplug.errors import LutError, PathLike

#: The plug-in folder's settings file: ``{"trusted_keys": [PEM paths relative to the folder],
#: "require_signature": bool}``.
SETTINGS_FILE = "settings.json"


@dataclasses.dataclass
class Trust:
    """Trusted public keys (PEM paths) and whether unsigned files are refused, as the plug-in's
    settings say; ``environ``: the environment whose policy is added (None: none).

    Reading it costs nothing: the keys and the environment's trust store are read when a .nlut is
    opened (:meth:`policy`), so a plain LUT file never depends on them."""

    keys: List[str] = dataclasses.field(default_factory=list)
    require_signature: bool = False
    environ: Optional[Mapping[str, str]] = None
    source: str = ""

    @classmethod
    def from_settings(cls, folder: Optional[PathLike] = None,
                      environ: Optional[Mapping[str, str]] = None) -> "Trust":
        """The plug-in folder's ``settings.json`` (``trusted_keys``: paths, relative to the
        folder; ``require_signature``), plus the environment's policy (``environ``, default
        ``os.environ``). Raises :class:`LutError` when the settings file is unreadable."""
        keys: List[str] = []
        require = False
        source = ""
        if folder is not None:
            path = Path(folder) / SETTINGS_FILE
            if path.is_file():
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    if not isinstance(data, dict):
                        raise ValueError("not a JSON object")
                except (OSError, ValueError) as exc:
                    raise LutError(f"plug-in settings are unreadable ({exc})", path) from None
                keys = [str(Path(folder) / k) for k in data.get("trusted_keys", [])]
                require = bool(data.get("require_signature", False))
                source = str(path)
        return cls(keys, require, os.environ if environ is None else environ, source)

    def policy(self) -> Optional[trust.TrustStore]:
        """The one trust policy to open a .nlut under (None: nothing configured): the settings'
        keys and flag merged with the environment's policy."""
        settings = trust.pem_keys(self.keys, self.require_signature,
                                  self.source or "the plug-in's settings")
        environment = trust.from_env(self.environ) if self.environ is not None else None
        return trust.merge([settings, environment])

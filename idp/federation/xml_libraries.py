"""lxml and signxml, imported when SAML first uses them rather than when a worker starts:
together about 5 MiB of every worker's memory, which a worker serving only OpenID Connect
never needs. The SAML modules take `etree` and `signxml` from here; each attribute read on
them is the library's own (a type checker sees the libraries themselves)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


class _OnFirstUse:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


if TYPE_CHECKING:
    import signxml
    import signxml.algorithms
    import signxml.exceptions
    import signxml.signer
    import signxml.verifier
    from lxml import etree
else:
    etree = _OnFirstUse("lxml.etree")
    signxml = _OnFirstUse("signxml")

__all__ = ["etree", "signxml"]

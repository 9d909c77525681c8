"""The JWK Set of several key stores, published as one: the ID tokens' keys, and the access
tokens' own when IDP_ACCESS_TOKEN_ALG names another algorithm (RFC 7517 §5).

Each store keeps its own timeline (publish first, sign later); the ring only joins what they
publish, re-joining when a store's set changes. Not here: which store signs what (oauth).
"""

from __future__ import annotations

import json
import threading

from idp.keys import jwk
from idp.keys.store import KeyStore


class KeyRing:
    def __init__(self, *stores: KeyStore) -> None:
        self.stores = stores
        self._parts: tuple[bytes, ...] = ()
        self._jwks = b""
        self._keyset: jwk.KeySet | None = None
        self._lock = threading.Lock()

    def jwks(self) -> bytes:
        """Every store's published keys, as JSON: the first store's first."""
        if len(self.stores) == 1:
            return self.stores[0].jwks()
        return self._joined()[0]

    def public_keyset(self) -> jwk.KeySet:
        if len(self.stores) == 1:
            return self.stores[0].public_keyset()
        return self._joined()[1]

    def _joined(self) -> tuple[bytes, jwk.KeySet]:
        parts = tuple(store.jwks() for store in self.stores)
        with self._lock:
            same = len(parts) == len(self._parts) and all(
                a is b for a, b in zip(parts, self._parts, strict=True)
            )
            if not same or self._keyset is None:
                keys = [key for part in parts for key in json.loads(part)["keys"]]
                self._jwks = json.dumps({"keys": keys}, separators=(",", ":")).encode()
                self._keyset = jwk.key_set(keys)
                self._parts = parts
            return self._jwks, self._keyset

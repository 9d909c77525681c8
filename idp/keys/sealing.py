"""Private keys at rest: AES-256-GCM under a key derived from IDP_SECRET_KEY.

The wrapping key is HKDF-SHA256 (RFC 5869) of the secret with a fixed `info`, so another
secret opens nothing instead of opening something wrong; another `info` gives another key, for
other secrets sealed the same way (the provider's refresh-token successors). Each box carries
its label (a key's id) as associated data: a sealed key pasted into another key's file does not
open. This is the only module of the key store that imports `cryptography`'s ciphers
(keys/saml.py uses its X.509 builder for the SAML certificates).
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"idp signing keys v1"
NONCE_BYTES = 12  # the size AES-GCM is specified for (NIST SP 800-38D §8.2)


class CannotOpen(Exception):
    """The box was sealed under another secret, for another label, or is damaged."""


class Sealer:
    """Seals and opens bytes under one secret; `label` binds a box to what it belongs to."""

    def __init__(self, secret: str, *, info: bytes = INFO) -> None:
        if not secret:
            raise ValueError("the secret that seals private keys must not be empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, *, label: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        box = nonce + self._aead.encrypt(nonce, plaintext, label.encode())
        return base64.urlsafe_b64encode(box).decode("ascii")

    def open(self, sealed: str, *, label: str) -> bytes:
        try:
            box = base64.urlsafe_b64decode(sealed.encode("ascii"))
            return self._aead.decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], label.encode())
        except (InvalidTag, ValueError):
            raise CannotOpen from None

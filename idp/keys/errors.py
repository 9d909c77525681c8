"""The one error the key store raises: a message that names IDP_KEYS_DIR and what to fix."""

from __future__ import annotations


class KeyStoreError(Exception):
    """The key folder cannot be read, written or decrypted; the message is one line."""

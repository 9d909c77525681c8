"""Random secrets and their digests.

High-entropy secrets (session tokens, and later codes, refresh tokens, client secrets) are
stored only as SHA-256 digests: they are too random for a slow KDF to add anything, and a
digest lets us look them up by index. Passwords use Argon2id instead (identity.passwords).
"""

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token with `nbytes` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    """The hex SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())

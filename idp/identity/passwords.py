"""Password hashing (Argon2id) and the password policy.

argon2-cffi's `PasswordHasher()` defaults are RFC 9106's second recommended option
(t=3, m=64 MiB, p=4). Hashes made with other parameters are rehashed on the next sign-in.
Unknown emails are checked against a dummy hash so both failures cost the same time.
"""

from __future__ import annotations

import gzip
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 128
# The most common passwords of 8 characters or more, lower-cased, from Royce Williams'
# 20,000-password list (as shipped with Django's password validation).
COMMON_PASSWORDS = Path(__file__).parent / "common-passwords.txt.gz"

hasher = PasswordHasher()


@cache
def dummy_hash() -> str:
    """Made on first use, not at import (a hash costs about 0.3 s): commands need none, and
    the production entry point makes it before serving (idp.wsgi)."""
    return hasher.hash(secrets.token_urlsafe(16))


@cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def policy_problem(password: str) -> str | None:
    """Why a new password is refused, in words for the user; None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _common_passwords():
        return "This password is too common. Choose one that is harder to guess."
    return None


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same time and fail."""
    try:
        return hasher.verify(stored_hash or dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher.check_needs_rehash(stored_hash)

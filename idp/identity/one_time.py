"""Single-use secrets sent by email: links (verification, password reset, email change,
magic link) and six-digit codes (email sign-in and second-factor codes).

A link carries 32 random bytes; only its SHA-256 digest is stored, found by index. A code has
only a million values, so it is stored as an HMAC under the app's secret key (a stolen table
does not give the codes away) and it is checked against the newest live code of its user and
purpose, with a small number of attempts before it is burnt.

Each secret may be bound to the browser that asked for it (`browser`: a digest of a cookie
value); `redeem_*` returns the row and the caller decides what a mismatch means.
Redeeming marks the row used in the caller's transaction: the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.core.security import digest, new_token
from idp.db import Model, UTCDateTime, db, utcnow
from idp.errors import IdpError
from idp.identity.models import User
from idp.settings import app_settings

CODE_ATTEMPTS = 5


class OneTimeToken(Model):
    __tablename__ = "one_time_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # The address the message went to: for an email change, the new address.
    email: Mapped[str] = mapped_column(String(320))
    secret_hash: Mapped[str] = mapped_column(String(96), unique=True)
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship()


class InvalidToken(IdpError):
    code = "invalid_token"


def issue_link(
    purpose: str,
    user: User,
    *,
    ttl: int,
    email: str | None = None,
    browser: str | None = None,
) -> str:
    """A new link secret; earlier unused ones of this user and purpose stop working."""
    _retire(purpose, user)
    secret = new_token()
    _add(purpose, user, digest(secret), ttl=ttl, email=email, browser=browser)
    return secret


def redeem_link(purpose: str, secret: str, *, what: str = "link") -> OneTimeToken:
    """The row for a link secret, marked used; `InvalidToken` saying why it cannot be used."""
    row = db.session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.secret_hash == digest(secret), OneTimeToken.purpose == purpose
        )
    )
    if row is None:
        raise InvalidToken(f"This {what} is not valid. Check that you copied all of it.")
    if row.used_at is not None:
        raise InvalidToken(f"This {what} has already been used.")
    if row.expires_at <= utcnow():
        raise InvalidToken(f"This {what} has expired. Ask for a new one.")
    row.used_at = utcnow()
    return row


def peek_link(purpose: str, secret: str) -> OneTimeToken | None:
    """The live row for a link secret, not used up (to show a page before a POST uses it)."""
    row = db.session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.secret_hash == digest(secret), OneTimeToken.purpose == purpose
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def issue_code(
    purpose: str,
    user: User,
    *,
    ttl: int,
    email: str | None = None,
    browser: str | None = None,
) -> str:
    """A new six-digit code; earlier unused ones of this user and purpose stop working."""
    _retire(purpose, user)
    code = f"{secrets.randbelow(1_000_000):06d}"
    # The row id is not known yet; a random salt keeps the hash unique among equal codes.
    salt = new_token(8)
    _add(
        purpose,
        user,
        salt + ":" + _code_mac(purpose, user.id, salt, code),
        ttl=ttl,
        email=email,
        browser=browser,
    )
    return code


def redeem_code(purpose: str, user: User, code: str) -> OneTimeToken:
    """The newest live code of this user and purpose if `code` matches, marked used.

    A wrong code counts an attempt (committed at once, even though the caller's request
    fails); after `CODE_ATTEMPTS` the code is burnt and a new one must be asked for.
    """
    row = db.session.scalar(
        select(OneTimeToken)
        .where(
            OneTimeToken.purpose == purpose,
            OneTimeToken.user_id == user.id,
            OneTimeToken.used_at.is_(None),
        )
        .order_by(OneTimeToken.id.desc())
        .limit(1)
    )
    if row is None or row.expires_at <= utcnow():
        raise InvalidToken(
            "That code has expired or was already used. Ask for a new one.", field="code"
        )
    salt, _, mac = row.secret_hash.partition(":")
    typed = "".join(ch for ch in code if ch.isdigit())
    if not hmac.compare_digest(mac, _code_mac(purpose, user.id, salt, typed)):
        row.attempts += 1
        if row.attempts >= CODE_ATTEMPTS:
            row.used_at = utcnow()
        db.session.commit()
        raise InvalidToken(
            "That code is not right. Check the latest email and try again.", field="code"
        )
    row.used_at = utcnow()
    return row


def _add(
    purpose: str,
    user: User,
    secret_hash: str,
    *,
    ttl: int,
    email: str | None,
    browser: str | None,
) -> None:
    now = utcnow()
    db.session.add(
        OneTimeToken(
            purpose=purpose,
            user_id=user.id,
            email=email or user.email,
            secret_hash=secret_hash,
            browser_hash=browser,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )


def _retire(purpose: str, user: User) -> None:
    db.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.purpose == purpose,
            OneTimeToken.user_id == user.id,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


def _code_mac(purpose: str, user_id: int, salt: str, code: str) -> str:
    key = app_settings().secret_key.encode()
    message = f"{purpose}:{user_id}:{salt}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()

"""Revoked access tokens that belong to no token family: those of the client credentials
grant (RFC 6749 §4.4), which is issued without writing anything.

Such a token is active while its signature verifies, it is unexpired, its client still exists
and its `jti` is not on this list (RFC 7662 §2.2). Revoking it (RFC 7009 §2.1) puts its `jti`
here until the token expires; expired entries are deleted as new ones are added. Tokens issued
to a user keep their family (idp.oauth.tokens) and are revoked through it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, Table, bindparam, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Model, Prepared, UTCDateTime, db, insert_if_absent, reading, utcnow


class RevokedAccessToken(Model):
    __tablename__ = "oauth_revoked_access_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


TABLE: Table = RevokedAccessToken.__table__  # type: ignore[assignment]
_DENIED = Prepared(select(TABLE.c.jti).where(TABLE.c.jti == bindparam("jti")))


def deny(jti: str, expires: int) -> None:
    """Refuse the token `jti` until `expires` (its `exp`); the caller commits."""
    db.session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at <= utcnow()))
    insert_if_absent(RevokedAccessToken, jti=jti, expires_at=datetime.fromtimestamp(expires, UTC))


def is_denied(jti: str) -> bool:
    """Asked on every introspection of such a token: one SELECT, compiled once."""
    found = _DENIED.first(reading(), jti=jti)
    return found is not None

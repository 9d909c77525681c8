"""The state of a token family as the hot paths need it, read with one Core SELECT.

Introspection, revocation and userinfo ask only whether an access token's family is live,
whose it is and what it was granted; loading an ORM `TokenFamily` for that costs more than
the query. Userinfo also needs the user's claims: `family_with_user` reads both in one
statement (an outer join: a deleted user reads as None). A refresh reads the presented token
with its whole family and its user: `presented_refresh_token`. The statements are compiled
once and read on the driver's cursor (idp.db.Prepared), so a request pays for neither
building, cache-keying nor the SQL layer's result machinery. Never cached: a revocation or a
ban is seen by the next request, in any process. An introspection's or a refresh's read also
brings the change counters the request's client check waits for (idp.core.generations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select

from idp.core.generations import CountedRead
from idp.db import Prepared, reading
from idp.identity.models import User
from idp.oauth.models import RefreshToken, TokenFamily

TABLE: Table = TokenFamily.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
TOKENS: Table = RefreshToken.__table__  # type: ignore[assignment]
COLUMNS = [
    TABLE.c[name]
    for name in ("id", "client_id", "user_id", "revoked_at", "claims", "organization_id")
]
USER_COLUMNS = [
    USERS.c[name] for name in ("id", "name", "email", "email_verified_at", "updated_at")
]

_FAMILY = CountedRead(select(*COLUMNS).where(TABLE.c.id == bindparam("family_id")))
_FAMILY_WITH_USER = Prepared(
    select(*COLUMNS, *(column.label(f"user_{column.name}") for column in USER_COLUMNS))
    .select_from(TABLE.outerjoin(USERS, USERS.c.id == TABLE.c.user_id))
    .where(TABLE.c.id == bindparam("family_id"))
)
TOKEN_COLUMNS = [TOKENS.c[name] for name in ("id", "token_hash", "expires_at", "rotated_at")]
GRANT_COLUMNS = [
    TABLE.c[name]
    for name in (
        "id",
        "client_id",
        "user_id",
        "session_id",
        "scope",
        "auth_time",
        "acr",
        "amr",
        "claims",
        "resources",
        "organization_id",
        "expires_at",
        "revoked_at",
    )
]
_PRESENTED = CountedRead(
    select(
        *TOKEN_COLUMNS,
        *(column.label(f"family_{column.name}") for column in GRANT_COLUMNS),
        *(column.label(f"user_{column.name}") for column in USER_COLUMNS),
    )
    .select_from(
        TOKENS.join(TABLE, TABLE.c.id == TOKENS.c.family_id).outerjoin(
            USERS, USERS.c.id == TABLE.c.user_id
        )
    )
    .where(TOKENS.c.token_hash == bindparam("token_hash"))
)


@dataclass(frozen=True)
class FamilyState:
    id: str
    client_id: int
    user_id: int | None
    revoked_at: datetime | None
    claims: dict[str, Any] | None
    organization_id: int | None


@dataclass(frozen=True)
class UserClaims:
    """What `idp.oauth.scopes.user_claims` reads of a user, without an ORM `User`."""

    id: int
    name: str
    email: str
    email_verified_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class FamilyGrant:
    """A whole family, as a refresh needs it: what was granted, to whom, until when."""

    id: str
    client_id: int
    user_id: int | None
    session_id: int | None
    scope: str
    auth_time: datetime | None
    acr: str | None
    amr: list[str]
    claims: dict[str, list[str]] | None
    resources: list[str]
    organization_id: int | None
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class RefreshTokenState:
    """A refresh token row, its family, and the family's user (None: none, or deleted)."""

    id: int
    token_hash: str
    expires_at: datetime
    rotated_at: datetime | None
    family: FamilyGrant
    user: UserClaims | None


def family_state(family_id: str) -> FamilyState | None:
    """The family `family_id` (an access token's `jti` before its first "."), or None."""
    row = _FAMILY.first(reading(), family_id=family_id)
    return FamilyState(*row) if row is not None else None


def family_with_user(family_id: str) -> tuple[FamilyState, UserClaims | None] | None:
    """The family `family_id` and its user (None: none, or no longer there); None: no family."""
    row = _FAMILY_WITH_USER.first(reading(), family_id=family_id)
    if row is None:
        return None
    family = FamilyState(*row[: len(COLUMNS)])
    user = row[len(COLUMNS) :]
    return family, (UserClaims(*user) if user[0] is not None else None)


def presented_refresh_token(token_hash: str) -> RefreshTokenState | None:
    """The refresh token stored as `token_hash`, with its family and user; None: unknown."""
    row = _PRESENTED.first(reading(), token_hash=token_hash)
    if row is None:
        return None
    split = len(TOKEN_COLUMNS) + len(GRANT_COLUMNS)
    family = FamilyGrant(*row[len(TOKEN_COLUMNS) : split])
    user = row[split:]
    token_id, token_hash, expires_at, rotated_at = row[: len(TOKEN_COLUMNS)]
    owner = UserClaims(*user) if user[0] is not None else None
    return RefreshTokenState(token_id, token_hash, expires_at, rotated_at, family, owner)

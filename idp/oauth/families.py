"""The state of a token family as the hot paths need it, read with one Core SELECT.

Introspection, revocation and userinfo ask only whether an access token's family is live,
whose it is and what it was granted; loading an ORM `TokenFamily` for that costs more than
the query. Userinfo also needs the user's claims: `family_with_user` reads both in one
statement (an outer join: a deleted user reads as None). A refresh reads the presented token
with its whole family and its user (`PRESENTED`): alone (`presented_refresh_token`), or on
PostgreSQL in the statement that rotates it (idp.oauth.rotation). The statements are compiled
once and read on the driver's cursor (idp.db.Prepared), so a request pays for neither
building, cache-keying nor the SQL layer's result machinery. An introspection's or a
refresh's read also brings the change counters the request's client check waits for
(idp.core.generations).

On PostgreSQL, while the process's listener proves it listens (idp.core.notices), a family
read for introspection or userinfo is kept (`_Kept`), and the next request for it reads
nothing. A trigger notifies `idp_family` with a family's id when its row is updated (a
revocation) or deleted (with its user, client or organization), and `idp_user` with a
user's id when the claims userinfo reads change or the user is deleted; each process drops
what the notification names. A family or user this process changes through the ORM session
is dropped when it commits (`notices.after_local_commit`), before the notification comes
back. So a revocation or a ban is refused by the next request in this process, and in every
other one once the notification is delivered (RFC 7009 §2.2 allows the propagation; a
listener that cannot prove it listens makes its process read every time within LEASE).
A refresh reads its token every time: each rotation changes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, bindparam, select

from idp.core import notices
from idp.core.generations import CountedRead
from idp.db import Prepared, db, reading
from idp.identity.models import User
from idp.identity.organization_models import Organization
from idp.oauth.models import Client, RefreshToken, TokenFamily

T = TypeVar("T")

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
PRESENTED = (
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
_PRESENTED = CountedRead(PRESENTED)


@dataclass(frozen=True, slots=True)
class FamilyState:
    id: str
    client_id: int
    user_id: int | None
    revoked_at: datetime | None
    claims: dict[str, Any] | None
    organization_id: int | None


@dataclass(frozen=True, slots=True)
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
    kept = _kept_here()
    if kept is None:
        return _read_family(family_id)
    return kept.families.get(family_id, lambda: _read_family(family_id))


def _read_family(family_id: str) -> FamilyState | None:
    row = _FAMILY.first(reading(), family_id=family_id)
    return FamilyState(*row) if row is not None else None


def family_with_user(family_id: str) -> tuple[FamilyState, UserClaims | None] | None:
    """The family `family_id` and its user (None: none, or no longer there); None: no family."""
    kept = _kept_here()
    if kept is None:
        return _read_with_user(family_id)
    return kept.with_users.get(family_id, lambda: _read_with_user(family_id))


def _read_with_user(family_id: str) -> tuple[FamilyState, UserClaims | None] | None:
    row = _FAMILY_WITH_USER.first(reading(), family_id=family_id)
    if row is None:
        return None
    family = FamilyState(*row[: len(COLUMNS)])
    user = row[len(COLUMNS) :]
    return family, (UserClaims(*user) if user[0] is not None else None)


KEPT_AT_MOST = 10_000  # families per kind; past that the kind starts again empty
FAMILY_CHANNEL = "idp_family"
USER_CHANNEL = "idp_user"


class _Shelf(Generic[T]):
    """One kind of kept value, by family id (see the module docstring)."""

    def __init__(self, kept: _Kept) -> None:
        self.kept = kept
        self.values: dict[str, T] = {}

    def get(self, family_id: str, read: Callable[[], T | None]) -> T | None:
        found = self.values.get(family_id)
        if found is not None:
            return found
        epoch = self.kept.epoch
        value = read()
        if value is not None:
            self.kept.keep(self, family_id, value, epoch)
        return value


class _Kept:
    """The families this process keeps, and what drops them. `epoch` moves with every drop:
    a value read before a drop is not kept after it (its read may predate the change)."""

    def __init__(self) -> None:
        self.families: _Shelf[FamilyState] = _Shelf(self)
        self.with_users: _Shelf[tuple[FamilyState, UserClaims | None]] = _Shelf(self)
        self.of_user: dict[int, set[str]] = {}  # user id -> ids of `with_users` families
        self.epoch = 0
        self._lock = threading.Lock()

    def keep(self, shelf: _Shelf[Any], family_id: str, value: Any, epoch: int) -> None:
        with self._lock:
            if epoch != self.epoch:
                return
            if len(shelf.values) >= KEPT_AT_MOST:
                shelf.values.clear()
                if shelf is self.with_users:
                    self.of_user.clear()
            shelf.values[family_id] = value
            if shelf is self.with_users and value[0].user_id is not None:
                self.of_user.setdefault(value[0].user_id, set()).add(family_id)

    def drop_family(self, family_id: str) -> None:
        with self._lock:
            self.epoch += 1
            self.families.values.pop(family_id, None)
            self.with_users.values.pop(family_id, None)

    def drop_user(self, user_id: str) -> None:
        with self._lock:
            self.epoch += 1
            for family_id in self.of_user.pop(int(user_id), ()):
                self.with_users.values.pop(family_id, None)

    def drop_all(self) -> None:
        with self._lock:
            self.epoch += 1
            self.families.values.clear()
            self.with_users.values.clear()
            self.of_user.clear()

    def drop_committed(self, changed: notices.Changed) -> None:
        """What this process committed: a family or a user's claims changed drop their own;
        a deletion (its families go with it) or a bulk change drops everything."""
        if changed is None or any(deleted for _row, deleted in changed):
            self.drop_all()
            return
        for row, _deleted in changed:
            if isinstance(row, TokenFamily):
                self.drop_family(row.id)
            elif isinstance(row, User):
                self.drop_user(str(row.id))


_kept: dict[notices.Listener, _Kept] = {}  # by the listener of the families' database
_kept_lock = threading.Lock()


def _kept_here() -> _Kept | None:
    """What this process keeps of the app's database, while its listener is trusted; None
    inside the session's transaction, whose reads may see what it has not committed."""
    listener = notices.listening()
    if listener is None:
        return None
    registry = db.session.registry
    if registry.has() and registry().in_transaction():
        return None
    kept = _kept.get(listener)
    if kept is None:
        with _kept_lock:
            kept = _kept.setdefault(listener, _Kept())
    return kept


def _of(listener: notices.Listener, then: Callable[[_Kept], None]) -> None:
    kept = _kept.get(listener)
    if kept is not None:
        then(kept)


notices.subscribe(
    FAMILY_CHANNEL,
    lambda listener, family_id: _of(listener, lambda kept: kept.drop_family(family_id)),
    lambda listener, _connection: _of(listener, _Kept.drop_all),
)
notices.subscribe(
    USER_CHANNEL,
    lambda listener, user_id: _of(listener, lambda kept: kept.drop_user(user_id)),
    lambda listener, _connection: _of(listener, _Kept.drop_all),
)
notices.after_local_commit(
    (TokenFamily, User, Client, Organization),
    lambda listener, changed: _of(listener, lambda kept: kept.drop_committed(changed)),
)


def presented_refresh_token(token_hash: str) -> RefreshTokenState | None:
    """The refresh token stored as `token_hash`, with its family and user; None: unknown."""
    row = _PRESENTED.first(reading(), token_hash=token_hash)
    return None if row is None else refresh_token_state(row)


def refresh_token_state(row: tuple[Any, ...]) -> RefreshTokenState:
    """A row of PRESENTED (its columns first, if it has more) as a RefreshTokenState."""
    split = len(TOKEN_COLUMNS) + len(GRANT_COLUMNS)
    family = FamilyGrant(*row[len(TOKEN_COLUMNS) : split])
    user = row[split : split + len(USER_COLUMNS)]
    token_id, token_hash, expires_at, rotated_at = row[: len(TOKEN_COLUMNS)]
    owner = UserClaims(*user) if user[0] is not None else None
    return RefreshTokenState(token_id, token_hash, expires_at, rotated_at, family, owner)

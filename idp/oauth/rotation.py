"""Refresh-token rotation that never forks a family (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).

The first request to present a refresh token rotates it in one conditional UPDATE
(`rotated_at IS NULL`) that also keeps the new token on the old row, sealed (AES-GCM under a
key derived from IDP_SECRET_KEY, idp.keys.sealing), until the reuse window ends. A request
racing it waits on that row (a row lock on PostgreSQL, the write lock on SQLite), finds it
rotated once the first one has committed, and hands out the same successor. However many
requests race, in however many processes, and however often a client retries within the
window, a family has one live refresh token. Past the window the presented token counts as
reused, which the caller punishes. Successors past their window are dropped by a rotation, a
batch at most once a second in each process, so no sealed token is kept much longer than the
window.

A rotation writes without the ORM session, in a transaction of its own (idp.db.writes): on
SQLite the UPDATE and the successor's INSERT, committed together; on PostgreSQL one statement
(the UPDATE in a data-modifying WITH whose row the INSERT reads), which lands or not as a
whole with no BEGIN or COMMIT around it: one round trip, not four.

On PostgreSQL a refresh that asks for no narrower scope and no resource is read and rotated
in one statement (`present`): it reads the presented token with its family and user
(idp.oauth.families.PRESENTED) and rotates it in the same WITH, if every check the refresh
grant makes holds in SQL: the family's client is the caller, it is not revoked, neither it
nor the token has expired, it has a user, and it names no organization (whose membership is
checked in Python) and no resource (whose registration is). It returns the row as it was
before the statement, so a refusal is decided on the same row as before, with nothing
written; and a token another request rotated first is left to `rotate`, as before. One round
trip for a refresh, not two.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, exists, func, insert, select, true, update

from idp.core import generations
from idp.core.security import digest, new_token
from idp.db import Prepared, reading, utcnow, writes
from idp.oauth.families import (
    PRESENTED,
    RefreshTokenState,
    presented_refresh_token,
    refresh_token_state,
)
from idp.oauth.models import Client, RefreshToken
from idp.oauth.tokens import TokenService

# Core statements, compiled once and run on the driver's cursor (idp.db.Prepared), with none
# of the ORM's bookkeeping.
TABLE: Table = RefreshToken.__table__  # type: ignore[assignment]
_ROTATION = (
    update(TABLE)
    .where(TABLE.c.rotated_at.is_(None))
    .values(
        rotated_at=bindparam("now"),
        successor=bindparam("sealed"),
        successor_until=bindparam("until"),
    )
)
_ROTATED = _ROTATION.where(TABLE.c.id == bindparam("row_id"))
_ROTATE = Prepared(_ROTATED)
_STORED_COLUMNS = ["token_hash", "family_id", "created_at", "expires_at"]
_STORE = Prepared(
    insert(TABLE).values(
        token_hash=bindparam("hash"),
        family_id=bindparam("family"),
        created_at=bindparam("now"),
        expires_at=bindparam("expires"),
    )
)
# PostgreSQL: both in one statement. The INSERT stores the successor only if the UPDATE
# rotated the row (it reads the family from the UPDATE's RETURNING): one row, or none.
_ROTATING = _ROTATED.returning(TABLE.c.family_id).cte("rotated")
_ROTATE_AND_STORE = Prepared(
    insert(TABLE).from_select(
        _STORED_COLUMNS,
        select(
            bindparam("hash", type_=TABLE.c.token_hash.type),
            _ROTATING.c.family_id,
            bindparam("now", type_=TABLE.c.created_at.type),
            bindparam("expires", type_=TABLE.c.expires_at.type),
        ),
    )
)
# PostgreSQL: the presented token read, and rotated if the refresh's checks hold (`present`).
_FOUND = PRESENTED.cte("presented")
_ROTATABLE = select(_FOUND.c.id).where(
    _FOUND.c.family_client_id == bindparam("client_id"),
    _FOUND.c.family_revoked_at.is_(None),
    _FOUND.c.expires_at > bindparam("now"),
    _FOUND.c.family_expires_at > bindparam("now"),
    _FOUND.c.user_id.is_not(None),
    _FOUND.c.family_organization_id.is_(None),
    func.json_array_length(_FOUND.c.family_resources) == 0,
)
_ROTATED_AS_FOUND = (
    _ROTATION.where(TABLE.c.id == _ROTATABLE.scalar_subquery())
    .returning(TABLE.c.family_id)
    .cte("rotated")
)
_STORED = (
    insert(TABLE)
    .from_select(
        _STORED_COLUMNS,
        select(
            bindparam("hash", type_=TABLE.c.token_hash.type),
            _ROTATED_AS_FOUND.c.family_id,
            bindparam("now", type_=TABLE.c.created_at.type),
            func.least(
                bindparam("expires_by", type_=TABLE.c.expires_at.type), _FOUND.c.family_expires_at
            ),
        ).select_from(_ROTATED_AS_FOUND.join(_FOUND, true())),
    )
    .returning(TABLE.c.id)
    .cte("stored")
)
_PRESENT = Prepared(select(*_FOUND.c, exists(select(_STORED.c.id)).label("rotated")))
_KEPT = Prepared(
    select(TABLE.c.successor, TABLE.c.successor_until).where(TABLE.c.id == bindparam("row_id"))
)
# At most a batch of successors past their window, skipping rows another rotation is sweeping
# (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite writes one at a time anyway): concurrent
# rotations of different families never wait on each other's sweep. One sweep a second per
# process, not one per rotation (a statement, on PostgreSQL a round trip, saved on the others);
# a batch is more than a process rotates in a second, so none is kept long past its window.
SWEEP_EVERY = timedelta(seconds=1)
DROP_BATCH = 1000
_EXPIRED = (
    select(TABLE.c.id)
    .where(TABLE.c.successor_until < bindparam("now"))
    .limit(DROP_BATCH)
    .with_for_update(skip_locked=True)
)
_DROP_EXPIRED = Prepared(
    update(TABLE)
    .where(TABLE.c.id.in_(_EXPIRED.scalar_subquery()))
    .values(successor=None, successor_until=None)
)


def rotate(
    row: RefreshTokenState, client: Client, grace: timedelta, tokens: TokenService
) -> str | None:
    """The refresh token that replaces `row` (issued to `client`): minted now if this request
    rotates it, else the one minted by the request that did, while its window lasts. None:
    `row` was reused."""
    token, now = new_token(32), utcnow()
    sealed = tokens.successors.seal(token.encode(), label=row.token_hash)
    expires = min(row.family.expires_at, now + timedelta(seconds=client.refresh_token_ttl))
    written = {"row_id": row.id, "now": now, "sealed": sealed, "until": now + grace}
    stored = {"hash": digest(token), "expires": expires}
    generations.verify_deferred()  # nothing is written on the strength of an unchecked client
    with writes() as connection:
        if connection.dialect.name == "postgresql":
            rotated = _ROTATE_AND_STORE.run(connection, **written, **stored) == 1
        else:
            rotated = _ROTATE.run(connection, **written) == 1
            if rotated:
                _STORE.run(connection, now=now, family=row.family.id, **stored)
        if rotated and _sweep_due(now):
            _DROP_EXPIRED.run(connection, now=now)  # nobody may fetch those any more
        if rotated:
            return token
        # Another request rotated it; our UPDATE waited for that one to commit, so its
        # successor is on the row now (or, past the window, gone).
        kept = _KEPT.first(connection, row_id=row.id)
    assert kept is not None, "a rotated row is kept while its family lives"
    successor, until = kept
    if successor is None or _over(until):
        return None
    return tokens.successors.open(successor, label=row.token_hash).decode()


def present(
    token_hash: str, client: Client, grace: timedelta, tokens: TokenService, *, narrowed: bool
) -> tuple[RefreshTokenState, str | None] | None:
    """The refresh token stored as `token_hash` as it was when presented (None: unknown) and,
    if this request rotated it, its successor. Rotated here only on PostgreSQL and when the
    request does not narrow the grant (`narrowed`: it names a scope or a resource); else the
    caller checks the token and then calls `rotate`."""
    if narrowed or reading().dialect.name != "postgresql":
        found = presented_refresh_token(token_hash)
        return None if found is None else (found, None)
    token, now = new_token(32), utcnow()
    generations.verify_deferred()  # nothing is written on the strength of an unchecked client
    with writes() as connection:
        row = _PRESENT.first(
            connection,
            token_hash=token_hash,
            client_id=client.id,
            now=now,
            sealed=tokens.successors.seal(token.encode(), label=token_hash),
            until=now + grace,
            hash=digest(token),
            expires_by=now + timedelta(seconds=client.refresh_token_ttl),
        )
        if row is None:
            return None
        rotated = bool(row[-1])
        if rotated and _sweep_due(now):
            _DROP_EXPIRED.run(connection, now=now)
    return refresh_token_state(row), (token if rotated else None)


_last_sweep: datetime | None = None  # in this process


def _sweep_due(now: datetime) -> bool:
    """Whether this rotation sweeps: none for SWEEP_EVERY before it here (or the clock was set
    back past the last one). Two threads may both sweep; that is harmless."""
    global _last_sweep
    last = _last_sweep
    if last is not None and timedelta(0) <= now - last < SWEEP_EVERY:
        return False
    _last_sweep = now
    return True


def _over(until: datetime | None) -> bool:
    return until is None or until < utcnow()

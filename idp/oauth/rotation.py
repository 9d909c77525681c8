"""Refresh-token rotation that never forks a family (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).

The first request to present a refresh token rotates it in one conditional UPDATE
(`rotated_at IS NULL`) that also keeps the new token on the old row, sealed (AES-GCM under a
key derived from IDP_SECRET_KEY, idp.keys.sealing), until the reuse window ends. A request
racing it waits on that row (a row lock on PostgreSQL, the write lock on SQLite), finds it
rotated once the first one has committed, and hands out the same successor. However many
requests race, in however many processes, and however often a client retries within the
window, a family has one live refresh token. Past the window the presented token counts as
reused, which the caller punishes. Successors past their window are dropped at each rotation,
so no sealed token is kept much longer than the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from idp.core.security import new_token
from idp.db import db, utcnow
from idp.oauth.models import RefreshToken
from idp.oauth.tokens import TokenService


def rotate(row: RefreshToken, grace: timedelta, tokens: TokenService) -> str | None:
    """The refresh token that replaces `row`: minted now if this request rotates it, else the
    one minted by the request that did, while its window lasts. None: `row` was reused."""
    token, now = new_token(32), utcnow()
    sealed = tokens.successors.seal(token.encode(), label=row.token_hash)
    rotated = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now, successor=sealed, successor_until=now + grace)
    )
    if rotated.rowcount == 1:  # type: ignore[attr-defined]
        _drop_expired(now)
        tokens.refresh_token(row.family.client, row.family, token)
        return token
    # Another request rotated it; our UPDATE waited for that one to commit, so its successor
    # is on the row now (or, past the window, gone).
    kept = db.session.execute(
        select(RefreshToken.successor, RefreshToken.successor_until).where(
            RefreshToken.id == row.id
        )
    ).one()
    if kept.successor is None or _over(kept.successor_until):
        return None
    return tokens.successors.open(kept.successor, label=row.token_hash).decode()


def _over(until: datetime | None) -> bool:
    return until is None or until < utcnow()


def _drop_expired(now: datetime) -> None:
    """Forget the successors whose window has ended: nobody may fetch them any more."""
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.successor_until < now)
        .values(successor=None, successor_until=None)
        .execution_options(synchronize_session=False)
    )

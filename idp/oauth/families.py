"""The state of a token family as the hot paths need it, read with one Core SELECT.

Introspection, revocation and userinfo ask only whether an access token's family is live,
whose it is and what it was granted; loading an ORM `TokenFamily` for that costs more than
the query. Never cached: a revocation or a ban is seen by the next request, in any process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select

from idp.db import db
from idp.oauth.models import TokenFamily

TABLE: Table = TokenFamily.__table__  # type: ignore[assignment]
COLUMNS = [
    TABLE.c[name]
    for name in ("id", "client_id", "user_id", "revoked_at", "claims", "organization_id")
]


@dataclass(frozen=True)
class FamilyState:
    id: str
    client_id: int
    user_id: int | None
    revoked_at: datetime | None
    claims: dict[str, Any] | None
    organization_id: int | None


def family_state(family_id: str) -> FamilyState | None:
    """The family `family_id` (an access token's `jti` before its first "."), or None."""
    query = select(*COLUMNS).where(TABLE.c.id == family_id)
    row = db.session.connection().execute(query).first()
    return FamilyState(*row) if row is not None else None

"""Banned accounts: one row per banned person, with the reason, who banned them and until
when (none: until unbanned). A banned person cannot finish signing in by any method; every
first and second factor ends in `idp.identity.login`, which asks `active_ban`. Ending what the
person already holds (sessions, tokens, codes) is the caller's: see `idp.admin.moderation`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Model, UTCDateTime, db, utcnow

MAX_REASON_LENGTH = 500


class Ban(Model):
    __tablename__ = "user_ban"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(MAX_REASON_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    banned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    def is_active(self, now: datetime | None = None) -> bool:
        return self.expires_at is None or self.expires_at > (now or utcnow())


def active_ban(user_id: int) -> Ban | None:
    """The person's ban while it lasts; None once it has expired or when there is none."""
    ban = db.session.get(Ban, user_id)
    return ban if ban is not None and ban.is_active() else None


def banned_message(ban: Ban) -> str:
    """What a banned person is told when they try to sign in (the reason stays with admins)."""
    until = f" until {ban.expires_at:%Y-%m-%d %H:%M} UTC" if ban.expires_at is not None else ""
    return (
        f"This account is suspended{until}. "
        "If you think this is a mistake, contact the site's administrators."
    )

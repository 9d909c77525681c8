"""Impersonation: an admin sees the site as a person does, for a while, to help them.

The admin gets a session of the person's own, marked `imp` in its methods (so every app it
signs in to can tell), that is never fresh: whatever asks for a fresh sign-in (a password
change, deleting the account, the admin pages) asks for a password the admin does not have.
It lasts `IDP_IMPERSONATION_TTL` seconds at most; the admin's own session stays as it was,
and they return to it when they stop or the time is up. Admins cannot be impersonated, nor can
banned people. Start and end are audited with the admin.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.core.audit import Event, record
from idp.db import Model, UTCDateTime, db, utcnow
from idp.errors import InvalidInput
from idp.identity.bans import active_ban
from idp.identity.models import LoginSession, User
from idp.identity.sessions import ActiveSession, app_sessions
from idp.settings import app_settings

METHOD = "imp"  # in the session's `amr`: marks an impersonation session


class Impersonation(Model):
    __tablename__ = "impersonation"

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    admin: Mapped[User] = relationship(foreign_keys=[admin_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])


def start(admin: User, person: User, *, ip: str | None, user_agent: str | None) -> str:
    """A session as `person` for `admin`; returns its token. `InvalidInput` for an admin,
    oneself or a banned person."""
    if person.is_admin:
        raise InvalidInput("You cannot impersonate another administrator.", field="impersonate")
    if active_ban(person.id) is not None:
        raise InvalidInput("A banned person cannot be impersonated.", field="impersonate")
    settings = app_settings()
    token, active = app_sessions().start(
        person, remember=False, ip=ip, user_agent=user_agent, amr=[METHOD]
    )
    row = db.session.get(LoginSession, active.id)
    assert row is not None
    # Never fresh: sensitive actions ask for the person's password.
    row.authenticated_at = row.created_at - timedelta(seconds=settings.session_fresh_age + 1)
    ends = utcnow() + timedelta(seconds=settings.impersonation_ttl)
    db.session.add(
        Impersonation(admin_id=admin.id, user_id=person.id, session_id=row.id, expires_at=ends)
    )
    record(
        Event.IMPERSONATION_STARTED,
        user_id=person.id,
        subject=person.email,
        admin=admin.email,
        expires_at=ends.isoformat(),
    )
    db.session.commit()
    return token


def of(login: ActiveSession | None) -> Impersonation | None:
    """The impersonation behind a session, if it is one (only those carry `imp`)."""
    if login is None or METHOD not in login.amr:
        return None
    return db.session.scalar(select(Impersonation).where(Impersonation.session_id == login.id))


def is_over(row: Impersonation | None) -> bool:
    return row is None or row.expires_at <= utcnow()


def end_all_of(person: User, *, reason: str) -> None:
    """Close the records of every impersonation of `person`, audited; for a ban, which ends
    the sessions themselves. The caller commits."""
    rows = db.session.scalars(select(Impersonation).where(Impersonation.user_id == person.id))
    for row in rows:
        record(
            Event.IMPERSONATION_ENDED,
            user_id=person.id,
            subject=person.email,
            admin=row.admin.email,
            reason=reason,
        )
        db.session.delete(row)


def end(login: ActiveSession, row: Impersonation | None, *, reason: str) -> None:
    """End the impersonation session (and its record), audited."""
    person = db.session.get(User, login.user_id)
    if row is not None:
        record(
            Event.IMPERSONATION_ENDED,
            user_id=login.user_id,
            subject=person.email if person else None,
            admin=row.admin.email,
            reason=reason,
        )
        db.session.delete(row)
    if person is not None:
        app_sessions().revoke(person, login.id, reason="impersonation " + reason)
    db.session.commit()

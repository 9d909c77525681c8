"""Ban, unban, set the admin role, end sessions: what an admin does to a person.

A ban ends at once everything the person holds: their sessions (and the session cache, and any
admin's impersonation of them: the admin is put back in their own session), every
token family (so refresh tokens fail and access tokens introspect inactive: RFC 7662 §2.2),
their unused authorization codes and approved device codes. Signing in again is refused by
`idp.identity.login` while the ban lasts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update

from idp.admin import impersonation
from idp.core.audit import Event, record
from idp.db import db, insert_if_absent, utcnow
from idp.errors import InvalidInput
from idp.identity.actors import Actor
from idp.identity.bans import MAX_REASON_LENGTH, Ban
from idp.identity.models import User
from idp.identity.sessions import app_sessions
from idp.oauth.device import DeviceAuthorization
from idp.oauth.models import AuthorizationCode, TokenFamily


def ban(user: User, reason: str, expires_at: datetime | None, *, admin: Actor) -> Ban:
    """Ban `user` (or change their ban) and end all they hold; `InvalidInput` on a bad reason,
    an expiry in the past, or an admin banning themselves."""
    reason = " ".join(reason.split())
    _check_ban(user, reason, expires_at, admin)
    insert_if_absent(Ban, user_id=user.id, reason=reason, banned_by_id=admin.id)
    row = db.session.get(Ban, user.id, populate_existing=True)
    assert row is not None
    row.reason, row.expires_at, row.banned_by_id = reason, expires_at, admin.id
    row.created_at = utcnow()
    ended = end_access(user)
    record(
        Event.USER_BANNED,
        user_id=user.id,
        subject=user.email,
        admin=admin.email,
        reason=reason,
        expires_at=expires_at.isoformat() if expires_at else None,
        tokens_revoked=ended,
    )
    impersonation.end_all_of(user, reason="banned")
    app_sessions().revoke_all(user, reason="banned")  # commits
    return row


def _check_ban(user: User, reason: str, expires_at: datetime | None, admin: Actor) -> None:
    if user.id == admin.id:
        raise InvalidInput("You cannot ban yourself.", field="reason")
    if not reason:
        raise InvalidInput("Say why, for the audit log.", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"Use at most {MAX_REASON_LENGTH} characters.", field="reason")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("The end of the ban must be in the future.", field="expires_at")


def end_access(user: User) -> int:
    """Revoke every token family of `user` and drop their unused codes; returns how many
    families were revoked. The caller commits."""
    now = utcnow()
    result = db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.user_id == user.id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        delete(AuthorizationCode).where(
            AuthorizationCode.user_id == user.id, AuthorizationCode.used_at.is_(None)
        )
    )
    db.session.execute(
        delete(DeviceAuthorization).where(
            DeviceAuthorization.user_id == user.id, DeviceAuthorization.used_at.is_(None)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def unban(user: User, *, admin: Actor) -> bool:
    """Lift the ban; False if there was none."""
    row = db.session.get(Ban, user.id)
    if row is None:
        return False
    db.session.delete(row)
    record(Event.USER_UNBANNED, user_id=user.id, subject=user.email, admin=admin.email)
    db.session.commit()
    return True


def set_admin(user: User, is_admin: bool, *, admin: Actor | None) -> bool:
    """Give or take the admin role; False if it was already so. `admin` None: the command
    line. An admin cannot take their own role (someone must stay able to give it back)."""
    if admin is not None and user.id == admin.id and not is_admin:
        raise InvalidInput("You cannot remove your own admin role.", field="is_admin")
    if user.is_admin == is_admin:
        return False
    user.is_admin = is_admin
    by = admin.email if admin is not None else "command line"
    record(Event.ROLE_CHANGED, user_id=user.id, subject=user.email, admin=by, is_admin=is_admin)
    db.session.commit()
    return True


def revoke_sessions(user: User, *, admin: Actor) -> int:
    """End every session of `user`; returns how many."""
    return app_sessions().revoke_all(user, reason=f"admin {admin.email}")

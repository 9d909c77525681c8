"""Sign-in sessions: start, look up (through the cache), slide, refresh, revoke.

The browser holds a random token; the database holds its SHA-256 digest with the user, times,
IP and user agent. Lookups go through the store (Redis or in-process) for `CACHE_SECONDS`, so a
busy browser does not cost a query per request; revocation deletes both. When the store is
unreachable we read the database and carry on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import delete, select

from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.core.store import Store, StoreUnavailable
from idp.db import db, utcnow
from idp.identity.models import LoginSession, User

log = logging.getLogger(__name__)

CACHE_SECONDS = 30
# Write `last_seen_at` (and slide the expiry) at most this often per session.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class ActiveSession:
    """What a request needs to know about its session; cheap to cache."""

    id: int
    user_id: int
    token_hash: str
    authenticated_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    remember: bool
    amr: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: LoginSession) -> ActiveSession:
        return cls(
            row.id,
            row.user_id,
            row.token_hash,
            row.authenticated_at,
            row.last_seen_at,
            row.expires_at,
            row.remember,
            tuple(row.amr or ()),
        )

    def dumps(self) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "user_id": self.user_id,
                "token_hash": self.token_hash,
                "authenticated_at": self.authenticated_at.isoformat(),
                "last_seen_at": self.last_seen_at.isoformat(),
                "expires_at": self.expires_at.isoformat(),
                "remember": self.remember,
                "amr": list(self.amr),
            }
        ).encode()

    @classmethod
    def loads(cls, raw: bytes) -> ActiveSession:
        data = json.loads(raw)
        return cls(
            data["id"],
            data["user_id"],
            data["token_hash"],
            datetime.fromisoformat(data["authenticated_at"]),
            datetime.fromisoformat(data["last_seen_at"]),
            datetime.fromisoformat(data["expires_at"]),
            data["remember"],
            tuple(data.get("amr", ())),
        )

    def is_fresh(self, max_age: int) -> bool:
        return utcnow() - self.authenticated_at <= timedelta(seconds=max_age)


def merge_amr(had: list[str], added: list[str]) -> list[str]:
    """Methods of both lists, in order; `mfa` when they span two or more factors.

    RFC 8176 §2: `mfa` means more than one factor. A password is something known, a code
    from an app or an email is something held, and a passkey checked with user verification
    is already two factors (the caller passes `mfa` with it).
    """
    methods = [m for m in dict.fromkeys([*had, *added]) if m != "mfa"]
    factors = {FACTOR.get(m, m) for m in methods}
    if len(factors) > 1 or "mfa" in had or "mfa" in added:
        methods.append("mfa")
    return methods


# The kind of factor behind each RFC 8176 method we use.
FACTOR = {
    "pwd": "knowledge",
    "otp": "possession",
    "hwk": "possession",
    "swk": "possession",
}


class SessionService:
    def __init__(self, store: Store, *, ttl: int, remember_ttl: int) -> None:
        self.store = store
        self.ttl = timedelta(seconds=ttl)
        self.remember_ttl = timedelta(seconds=remember_ttl)

    def lifetime(self, remember: bool) -> timedelta:
        return self.remember_ttl if remember else self.ttl

    def start(
        self,
        user: User,
        *,
        remember: bool,
        ip: str | None,
        user_agent: str | None,
        amr: list[str] | None = None,
    ) -> tuple[str, ActiveSession]:
        """Open a session after a successful sign-in; returns the token for the cookie.

        `amr` says how the user signed in (RFC 8176 values); the default is a password.
        """
        token = new_token()
        now = utcnow()
        row = LoginSession(
            user_id=user.id,
            token_hash=digest(token),
            created_at=now,
            authenticated_at=now,
            last_seen_at=now,
            expires_at=now + self.lifetime(remember),
            remember=remember,
            amr=list(amr or ["pwd"]),
            ip=ip,
            user_agent=(user_agent or "")[:512] or None,
        )
        db.session.add(row)
        record(Event.SIGN_IN, user_id=user.id, subject=user.email, remember=remember, amr=row.amr)
        db.session.flush()
        # Read before the commit expires the row: afterwards each attribute would load it again.
        active = ActiveSession.of(row)
        db.session.commit()
        return token, active

    def resolve(self, token: str) -> tuple[ActiveSession | None, bool]:
        """The live session for a cookie token, slid forward; and whether it was slid."""
        token_hash = digest(token)
        active = self._cached(token_hash)
        from_cache = active is not None
        if active is None:
            row = db.session.scalar(
                select(LoginSession).where(LoginSession.token_hash == token_hash)
            )
            if row is None:
                return None, False
            active = ActiveSession.of(row)
        now = utcnow()
        if active.expires_at <= now:
            self._forget(active.token_hash)
            db.session.execute(delete(LoginSession).where(LoginSession.id == active.id))
            db.session.commit()
            return None, False
        if now - active.last_seen_at < TOUCH_INTERVAL:
            if not from_cache:
                self._remember(active)
            return active, False
        row = db.session.get(LoginSession, active.id)
        if row is None:  # revoked by another process after we cached it
            self._forget(active.token_hash)
            return None, False
        row.last_seen_at = now
        row.expires_at = now + self.lifetime(row.remember)
        db.session.commit()
        active = ActiveSession.of(row)
        self._remember(active)
        return active, True

    def reauthenticate(self, active: ActiveSession, amr: list[str] | None = None) -> None:
        """Mark the session freshly authenticated (a credential was presented again).

        `amr` adds the methods just used (a second factor during step-up, for example).
        """
        row = db.session.get(LoginSession, active.id)
        if row is not None:
            row.authenticated_at = utcnow()
            if amr:
                row.amr = merge_amr(row.amr or [], amr)
            db.session.commit()
            self._forget(row.token_hash)

    def list_for(self, user_id: int) -> list[LoginSession]:
        return list(
            db.session.scalars(
                select(LoginSession)
                .where(LoginSession.user_id == user_id, LoginSession.expires_at > utcnow())
                .order_by(LoginSession.last_seen_at.desc())
            )
        )

    def revoke(self, user: User, session_id: int, *, reason: str = "revoked") -> bool:
        """End one of the user's sessions; False if it is not theirs or already gone."""
        row = db.session.scalar(
            select(LoginSession).where(
                LoginSession.id == session_id, LoginSession.user_id == user.id
            )
        )
        if row is None:
            return False
        self._end([row], user, reason)
        return True

    def revoke_all(self, user: User, *, keep: int | None = None, reason: str = "revoked") -> int:
        """End every session of the user except `keep`; returns how many ended."""
        rows = [
            row
            for row in db.session.scalars(
                select(LoginSession).where(LoginSession.user_id == user.id)
            )
            if row.id != keep
        ]
        self._end(rows, user, reason)
        return len(rows)

    def sign_out(self, active: ActiveSession, user: User) -> None:
        row = db.session.get(LoginSession, active.id)
        if row is not None:
            db.session.delete(row)
        record(Event.SIGN_OUT, user_id=user.id, subject=user.email)
        db.session.commit()
        self._forget(active.token_hash)

    def _end(self, rows: list[LoginSession], user: User, reason: str) -> None:
        for row in rows:
            db.session.delete(row)
            record(
                Event.SESSION_REVOKED,
                user_id=user.id,
                subject=user.email,
                session_id=row.id,
                reason=reason,
            )
        db.session.commit()
        self._forget(*(row.token_hash for row in rows))

    def _cached(self, token_hash: str) -> ActiveSession | None:
        try:
            raw = self.store.get("session:" + token_hash)
        except StoreUnavailable as error:
            log.warning("session cache unavailable, reading the database: %s", error)
            return None
        return ActiveSession.loads(raw) if raw else None

    def _remember(self, active: ActiveSession) -> None:
        seconds = min(CACHE_SECONDS, int((active.expires_at - utcnow()).total_seconds()))
        if seconds <= 0:
            return
        try:
            self.store.set("session:" + active.token_hash, active.dumps(), seconds)
        except StoreUnavailable as error:
            log.warning("session cache unavailable: %s", error)

    def _forget(self, *token_hashes: str) -> None:
        try:
            self.store.delete(*("session:" + h for h in token_hashes))
        except StoreUnavailable as error:
            log.warning(
                "session cache unavailable; revoked sessions may linger %ss: %s",
                CACHE_SECONDS,
                error,
            )


def init_app(app: Flask, sessions: SessionService) -> None:
    app.extensions["idp.sessions"] = sessions


def app_sessions() -> SessionService:
    """The session service of the current app."""
    value: SessionService = current_app.extensions["idp.sessions"]
    return value

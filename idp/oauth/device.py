"""The device authorization grant (RFC 8628): sign in a CLI or a TV that has no browser.

- `DeviceAuthorization`: one request, from the device authorization response (§3.2) until its
  device code is redeemed. The device code is long and random: stored as its SHA-256. The user
  code (§6.1: 8 letters of a 20-letter alphabet, about 34 bits) is stored as an HMAC keyed by
  the server secret, so a copy of the table does not reveal the codes still waiting.
- `DeviceAuthorizationEndpoint` (§3.1, §3.2) and `DeviceCodeGrant` (§3.4, §3.5) on Authlib's:
  clients authenticate as at the token endpoint and must be registered for the grant.
- `find_waiting`, `approve`, `deny`: what the user-code page (§3.3) calls.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2 import rfc8628
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)
from sqlalchemy import JSON, ForeignKey, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.db import Model, UTCDateTime, db, utcnow
from idp.errors import IdpError
from idp.identity.models import User
from idp.identity.sessions import ActiveSession
from idp.oauth import acr, consent
from idp.oauth import organizations as orgs
from idp.oauth.client_auth import AUTH_METHODS
from idp.oauth.errors import AccessDenied
from idp.oauth.models import Client
from idp.oauth.tokens import Grant
from idp.oauth.wiring import ServerParts

# RFC 8628 §6.1: no vowels (no words), no digits (no 0/O or 1/I confusion).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5  # seconds added to the interval on each slow_down (§3.5)
KEEP_FINISHED = timedelta(days=1)  # rows this long past expiry are deleted


class DeviceAuthorization(Model):
    """A device waiting for its user: what it asked for, and what the user decided."""

    __tablename__ = "oauth_device_authorization"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_code_hash: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    interval: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the user answers: "allow" or "deny", who, and how they had signed in.
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column()
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(200))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    family_id: Mapped[str | None] = mapped_column(String(64))
    # The organization chosen for the `organization` scope; deleting it ends the request.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )

    client: Mapped[Client] = relationship()

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    @property
    def expired(self) -> bool:
        return self.expires_at <= utcnow()

    # The credential interface Authlib calls (authlib.oauth2.rfc8628.DeviceCredentialMixin).

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expired


def normalise_user_code(typed: str) -> str:
    """The code as stored: upper case, without dashes or spaces (RFC 8628 §6.1)."""
    return "".join(ch for ch in typed.upper() if not (ch.isspace() or ch == "-"))


def user_code_hash(code: str, secret_key: str) -> str:
    key = hashlib.sha256(b"idp device user code\0" + secret_key.encode()).digest()
    return hmac.new(key, normalise_user_code(code).encode(), hashlib.sha256).hexdigest()


def new_user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{letters[:4]}-{letters[4:]}"


class DeviceAuthorizationEndpoint(rfc8628.DeviceAuthorizationEndpoint):  # type: ignore[misc]
    """POST /device_authorization (RFC 8628 §3.1, §3.2)."""

    server: ServerParts

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def create_endpoint_response(self, request: Any) -> tuple[int, dict[str, Any], list[Any]]:
        client: Client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("The client is not registered for the device grant.")
        scope = _allowed_scope(request.payload.scope, client)
        settings = self.server.settings
        device_code, user_code = new_token(32), self._unused_user_code()
        verification_uri = f"{self.server.issuer}/device"
        db.session.execute(
            delete(DeviceAuthorization).where(
                DeviceAuthorization.expires_at < utcnow() - KEEP_FINISHED
            )
        )
        db.session.add(
            DeviceAuthorization(
                device_code_hash=digest(device_code),
                user_code_hash=user_code_hash(user_code, settings.secret_key),
                client_id=client.id,
                scope=scope,
                interval=settings.device_poll_interval,
                expires_at=utcnow() + timedelta(seconds=settings.device_code_ttl),
            )
        )
        db.session.commit()
        body = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={user_code}",
            "expires_in": settings.device_code_ttl,
            "interval": settings.device_poll_interval,
        }
        return 200, body, [("Content-Type", "application/json")]

    def _unused_user_code(self) -> str:
        """A user code no waiting request has (a clash is unlikely: 20^8 codes)."""
        while True:
            code = new_user_code()
            if _waiting(user_code_hash(code, self.server.settings.secret_key)) is None:
                return code


def _allowed_scope(requested: str | None, client: Client) -> str:
    """RFC 6749 §3.3: the scope must be sent, and within the client's registration."""
    if not requested or not requested.split():
        raise InvalidScopeError("Send the scope the device needs, such as 'openid'.")
    allowed = client.registered_scope(requested)
    if allowed is None:
        raise InvalidScopeError("The scope asks for more than the client is registered for.")
    return allowed


class DeviceCodeGrant(rfc8628.DeviceCodeGrant):  # type: ignore[misc]
    """The device polls the token endpoint (RFC 8628 §3.4); the answers are §3.5's."""

    server: ServerParts

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def validate_token_request(self) -> None:
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError("Send the device_code.")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("The client is not registered for the device grant.")
        row = db.session.scalar(
            select(DeviceAuthorization).where(
                DeviceAuthorization.device_code_hash == digest(device_code)
            )
        )
        if row is None or row.client_id != client.id:
            raise InvalidGrantError("The device code is unknown.")
        if row.used_at is not None:
            raise InvalidGrantError("The device code was already used.")
        self.request.client = client
        self.request.credential = row
        self.request.user = self.validate_device_credential(row)

    def validate_device_credential(self, row: DeviceAuthorization) -> User:
        if row.expired:
            raise ExpiredTokenError("The device code has expired; start again.")
        if row.decision == "deny":
            raise AccessDeniedError("The user denied the request.")
        user = db.session.get(User, row.user_id) if row.decision == "allow" else None
        if user is not None:
            return user
        if _polled_too_soon(row):
            raise SlowDownError(f"Wait {row.interval} seconds between requests.")
        raise AuthorizationPendingError("The user has not answered yet.")

    def generate_token(
        self,
        user: Any = None,
        scope: Any = None,
        grant_type: Any = None,
        expires_in: Any = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        row: DeviceAuthorization = self.request.credential
        consumed = db.session.execute(
            update(DeviceAuthorization)
            .where(DeviceAuthorization.id == row.id, DeviceAuthorization.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if consumed.rowcount != 1:  # type: ignore[attr-defined]
            db.session.rollback()  # another request redeemed it first
            raise InvalidGrantError("The device code was already used.")
        grant = Grant(
            client=self.request.client,
            scope=row.scope,
            user=user,
            session_id=row.session_id,
            auth_time=row.auth_time,
            acr=row.acr,
            amr=list(row.amr),
            organization_id=row.organization_id,
        )
        family = self.server.tokens.open_family(grant)
        row.family_id = family.id
        refresh = include_refresh_token and "offline_access" in row.scopes
        body = self.server.tokens.issue(grant, family, refresh=refresh)
        db.session.commit()
        return body


def _polled_too_soon(row: DeviceAuthorization) -> bool:
    """Note this poll; True (and a longer interval from now on) if it came too soon (§3.5)."""
    now = utcnow()
    too_soon = row.last_polled_at is not None and now - row.last_polled_at < timedelta(
        seconds=row.interval
    )
    row.last_polled_at = now
    if too_soon:
        row.interval += SLOW_DOWN_STEP
    db.session.commit()
    return too_soon


class UnknownUserCode(IdpError):
    code = "unknown_user_code"


def _waiting(code_hash: str) -> DeviceAuthorization | None:
    return db.session.scalar(
        select(DeviceAuthorization)
        .where(DeviceAuthorization.user_code_hash == code_hash)
        .order_by(DeviceAuthorization.id.desc())
        .limit(1)
    )


def find_waiting(typed: str, secret_key: str) -> DeviceAuthorization:
    """The request a typed user code belongs to, if the user may still answer it; the codes
    are stored keyed by the server's `secret_key`."""
    code = normalise_user_code(typed)
    valid = len(code) == USER_CODE_LENGTH and all(ch in USER_CODE_ALPHABET for ch in code)
    row = _waiting(user_code_hash(code, secret_key)) if valid else None
    if row is None:
        raise UnknownUserCode(
            "That code is not right. Check the code shown on your device and try again.",
            field="user_code",
        )
    if row.expired:
        raise UnknownUserCode(
            "That code has expired. Start again on your device to get a new code.",
            field="user_code",
        )
    if row.decision is not None:
        raise UnknownUserCode(
            "That code was already used. Start again on your device to get a new code.",
            field="user_code",
        )
    return row


def _decide(row: DeviceAuthorization, user: User, values: dict[str, Any]) -> None:
    """Record the answer once: a second answer (another tab, another person) is refused."""
    answered = db.session.execute(
        update(DeviceAuthorization)
        .where(
            DeviceAuthorization.id == row.id,
            DeviceAuthorization.decision.is_(None),
            DeviceAuthorization.expires_at > utcnow(),
        )
        .values(decided_at=utcnow(), user_id=user.id, **values)
    )
    if answered.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise UnknownUserCode(
            "That code was already used. Start again on your device to get a new code.",
            field="user_code",
        )


class DeviceRefused(IdpError):
    """The person may not allow the device as asked (an organization's rule)."""


class SecondFactorNeeded(DeviceRefused):
    """The chosen organization requires a second factor the person has not set up."""

    code = "second_factor_needed"


def organization_choice(
    row: DeviceAuthorization, user: User, login: ActiveSession, picked: int | None = None
) -> orgs.Choice:
    """The organizations the person may give the device's app, as at consent for the code
    flow (idp.oauth.organizations); `DeviceRefused` when the app is only for members of
    organizations the person is not in."""
    try:
        return orgs.choose(user, row.client, row.scopes, picked, login.id)
    except AccessDenied as error:
        raise DeviceRefused(error.description) from None


def approve(
    row: DeviceAuthorization, user: User, login: ActiveSession, organization_id: int | None = None
) -> None:
    """The user allows the device: remember the consent, the organization chosen, and how the
    user signed in. `DeviceRefused` when an organization must be chosen, or the chosen one
    requires a second factor the person lacks."""
    choice = organization_choice(row, user, login, organization_id)
    chosen = choice.chosen.organization_id if choice.chosen else None
    if choice.asked and choice.choices and chosen is None:
        raise DeviceRefused("Choose the organization the app may know.", field="organization")
    missing = orgs.second_factor_missing(choice, issuing=True, prompts=set())
    if missing:
        raise SecondFactorNeeded(missing, field="organization")
    amr = list(login.amr) or ["pwd"]
    _decide(
        row,
        user,
        {
            "decision": "allow",
            "session_id": login.id,
            "auth_time": login.authenticated_at,
            "amr": amr,
            "acr": acr.achieved([], amr),
            "organization_id": chosen,
        },
    )
    record(
        Event.DEVICE_AUTHORIZED, user_id=user.id, subject=row.client.client_id, scopes=row.scopes
    )
    if chosen is not None:
        orgs.remember(user, row.client, chosen)
    consent.grant(user, row.client, row.scopes)  # commits


def deny(row: DeviceAuthorization, user: User) -> None:
    _decide(row, user, {"decision": "deny"})
    record(Event.DEVICE_DENIED, user_id=user.id, subject=row.client.client_id)
    db.session.commit()

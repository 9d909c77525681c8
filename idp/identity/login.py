"""Signing in, in steps, as services on plain values. Every first factor (password, magic
link, emailed code, passkey) ends in `complete_first_factor`; it opens the session, or, when
the account has two-factor on and this device is not trusted, keeps a *pending sign-in* and
asks for the second factor. A pending sign-in is not a session: nothing else accepts it.

The pending sign-in lives in the store under the digest of a random token for `PENDING_TTL`
seconds; the caller holds the token (the web layer keeps it in a cookie).

`complete_second_factor` finishes a pending sign-in, or, for *step-up*, adds the factor just
proven to the current session (an app asked for it with `acr_values`).

Each service returns a typed outcome; turning it into redirects and cookies is the web
layer's (idp.web.authn). Nothing here reads the HTTP request.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Literal

from idp.core import metrics
from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.errors import IdpError, InvalidCredentials
from idp.identity import lockout, two_factor, users
from idp.identity.bans import active_ban, banned_message
from idp.identity.models import User
from idp.identity.organization_models import SsoSession
from idp.identity.passwords import verify_password
from idp.identity.sessions import ActiveSession, app_sessions, merge_amr
from idp.settings import app_settings

PENDING_TTL = 600
UNAVAILABLE = "Signing in with a second factor is briefly unavailable. Try again soon."


@dataclass(frozen=True)
class Client:
    """Where a sign-in comes from, as the sessions list shows it."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass
class Pending:
    """A sign-in that passed its first factor and waits for the second."""

    user_id: int
    amr: list[str]
    remember: bool
    next: str
    created_at: float = field(default_factory=time.time)
    # [connection id, organization id] when the first factor was an organization's single
    # sign-on: the session the second factor opens is bound to it (`SsoSession`).
    sso: list[int] | None = None

    def user(self) -> User | None:
        return db.session.get(User, self.user_id)


# Outcomes


@dataclass(frozen=True)
class SessionStarted:
    token: str
    remember: bool
    next: str


@dataclass(frozen=True)
class SecondFactorNeeded:
    pending_token: str


@dataclass(frozen=True)
class VerificationNeeded:
    next: str


@dataclass(frozen=True)
class Unavailable:
    message: str


@dataclass(frozen=True)
class FactorAdded:
    """Step-up: the current session now carries the factor just proven."""

    next: str


@dataclass(frozen=True)
class Banned:
    """The account is banned: no session, whatever the person proved."""

    message: str


@dataclass(frozen=True)
class SignInAgain:
    """Neither a pending sign-in nor a session: start over."""


Outcome = (
    SessionStarted
    | SecondFactorNeeded
    | VerificationNeeded
    | Unavailable
    | FactorAdded
    | SignInAgain
    | Banned
)
Step = Literal["verify_email", "second_factor", "session"]


def first_factor_step(
    *, verified_required: bool, verified: bool, amr: list[str], two_factor_on: bool, trusted: bool
) -> Step:
    """What follows a first factor: the decision table, without the store or the database."""
    if verified_required and not verified:
        return "verify_email"
    if "mfa" not in amr and two_factor_on and not trusted:
        return "second_factor"
    return "session"


# First factors


def check_password(email: str, password: str, ip: str | None) -> User:
    """The password form: `User`, or `Locked` / `InvalidCredentials` (counted in the lockout)."""
    account = typed_account(email)
    return lockout.attempt(
        "password",
        account,
        ip,
        lambda: users.authenticate(email, password),
        lambda: users.find_by_email(account),
        (InvalidCredentials,),
    )


def confirm_password(user: User, login: ActiveSession, password: str, ip: str | None) -> None:
    """Type the password again: the session becomes fresh; `Locked` / `InvalidCredentials`."""
    check_own_password(user, password, ip, field="password", wrong="The password is incorrect.")
    app_sessions().reauthenticate(login, ["pwd"])


def change_password(user: User, current: str, new: str, ip: str | None) -> None:
    """The account page: `Locked` / `InvalidCredentials` for the current password (counted
    like a sign-in), `InvalidInput` for the new one."""
    check_own_password(
        user, current, ip, field="current_password", wrong="Your current password is incorrect."
    )
    users.set_password(user, new)


def check_own_password(
    user: User, password: str, ip: str | None, *, field: str, wrong: str
) -> None:
    """A signed-in person types their password: every check counts in the password's lockout
    (the same counters as sign-in) and each wrong one is audited (`password_check_failed`)."""

    def verify() -> None:
        if not verify_password(user.password_hash, password):
            record(Event.PASSWORD_CHECK_FAILED, user_id=user.id, subject=user.email, form=field)
            db.session.commit()
            raise InvalidCredentials(wrong, field=field)

    lockout.attempt("password", user.email, ip, verify, lambda: user, (InvalidCredentials,))


def typed_account(email: str) -> str:
    """The account a sign-in is for, as typed and normalised (known or not)."""
    try:
        return users.normalise_email(email)
    except IdpError:
        return email.strip().lower()


def complete_first_factor(
    user: User,
    amr: list[str],
    *,
    remember: bool,
    next: str,
    client: Client,
    current: ActiveSession | None,
    trusted_token: str | None,
    sso: tuple[int, int] | None = None,
) -> SessionStarted | SecondFactorNeeded | VerificationNeeded | Unavailable | Banned:
    """After a first factor: a session, a pending sign-in, or the verify-email page. `sso`
    (connection, organization): the first factor was that organization's single sign-on; a
    pending sign-in keeps it for the session its second factor opens."""
    ban = active_ban(user.id)
    if ban is not None:
        return Banned(banned_message(ban))
    verified_required = app_settings().require_verified_email
    verified = user.email_verified_at is not None
    # Asked in this order, and only when it matters: recognising a device marks it used.
    on = (verified or not verified_required) and "mfa" not in amr
    on = on and two_factor.requires_second_factor(user)
    step = first_factor_step(
        verified_required=verified_required,
        verified=verified,
        amr=amr,
        two_factor_on=on,
        trusted=on and two_factor.device_trusted(user, trusted_token),
    )
    if step == "verify_email":
        metrics.sign_in("verification_needed")
        return VerificationNeeded(next)
    if step == "second_factor":
        metrics.sign_in("second_factor_needed")
        try:
            token = save_pending(
                Pending(user.id, list(amr), remember, next, sso=list(sso) if sso else None)
            )
        except StoreUnavailable:
            return Unavailable(UNAVAILABLE)
        return SecondFactorNeeded(token)
    token = start_session(user, amr, remember=remember, client=client, replacing=current)
    return SessionStarted(token, remember, next)


# The second factor


def complete_second_factor(
    amr: list[str],
    *,
    pending_token: str | None,
    next: str,
    client: Client,
    current: ActiveSession | None,
) -> SessionStarted | FactorAdded | SignInAgain | Banned:
    """The second factor was proven (`amr`: the methods just used). Finish the pending
    sign-in, or add the factor to the current session (step-up)."""
    pending = load_pending(pending_token)
    if pending is not None:
        user = pending.user()
        end_pending(pending_token)
        ban = active_ban(user.id) if user is not None else None
        if ban is not None:
            return Banned(banned_message(ban))
        if user is not None:
            methods = merge_amr(pending.amr, amr)
            token = start_session(
                user, methods, remember=pending.remember, client=client, replacing=current
            )
            if pending.sso:
                _bind_to_sso(token, *pending.sso)
            return SessionStarted(token, pending.remember, pending.next)
    if current is not None:
        app_sessions().reauthenticate(current, amr)
        return FactorAdded(next)
    return SignInAgain()


def _bind_to_sso(token: str, connection_id: int, organization_id: int) -> None:
    """The session `token` opens came through this organization's single sign-on."""
    active, _ = app_sessions().resolve(token)
    if active is not None:
        db.session.merge(
            SsoSession(
                session_id=active.id,
                connection_id=connection_id,
                organization_id=organization_id,
            )
        )
        db.session.commit()


def save_pending(pending: Pending) -> str:
    """Keep `pending`; returns its token. Raises `StoreUnavailable`."""
    token = new_token()
    value = json.dumps(asdict(pending)).encode()
    app_store().set(_pending_key(token), value, PENDING_TTL)
    return token


def load_pending(token: str | None) -> Pending | None:
    if not token:
        return None
    try:
        raw = app_store().get(_pending_key(token))
    except StoreUnavailable:
        return None
    pending = Pending(**json.loads(raw)) if raw else None
    # Its own timestamp decides, not only the store's TTL: every store and process agrees.
    if pending is None or pending.created_at + PENDING_TTL <= time.time():
        return None
    return pending


def end_pending(token: str | None) -> None:
    if token:
        with contextlib.suppress(StoreUnavailable):
            app_store().delete(_pending_key(token))


def _pending_key(token: str) -> str:
    return "pending:" + digest(token)


# The session


def start_session(
    user: User, amr: list[str], *, remember: bool, client: Client, replacing: ActiveSession | None
) -> str:
    """Open a session and return its token, ending the one this browser had (no fixation,
    no orphan)."""
    previous_user = db.session.get(User, replacing.user_id) if replacing is not None else None
    if replacing is not None and previous_user is not None:
        app_sessions().revoke(previous_user, replacing.id, reason="replaced")
    token, _ = app_sessions().start(
        user, remember=remember, ip=client.ip, user_agent=client.user_agent, amr=amr
    )
    return token

"""Signing in, in steps. Every first factor (password, magic link, emailed code, passkey)
ends in `complete_first_factor`; it opens the session, or, when the account has two-factor
on and this device is not trusted, keeps a *pending sign-in* and sends the browser to the
second-factor page. Nothing else is reachable with a pending sign-in: it is not a session.

The pending sign-in lives in the store under the digest of a random cookie (`idp_pending`,
HttpOnly, SameSite=Lax, gone with the browser) for `PENDING_TTL` seconds.

The second-factor page also serves *step-up*: a signed-in user whose session lacks a factor
an app asks for (`acr_values`) proves it there, and the session gains it.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field

from flask import g, make_response, redirect, request, url_for
from werkzeug.wrappers import Response

from idp.core.security import digest, new_token
from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.identity.models import User
from idp.identity.sessions import app_sessions, merge_amr
from idp.settings import app_settings
from idp.web.current import (
    current_login,
    current_user,
    delete_private_cookie,
    private_cookie_name,
    safe_next,
    set_private_cookie,
    set_session_cookie,
)
from idp.web.errors import render_error

PENDING_TTL = 600


@dataclass
class Pending:
    """A sign-in that passed its first factor and waits for the second."""

    user_id: int
    amr: list[str]
    remember: bool
    next: str
    created_at: float = field(default_factory=time.time)

    def user(self) -> User | None:
        return db.session.get(User, self.user_id)


PENDING_COOKIE = "idp_pending"


def pending_cookie_name() -> str:
    return private_cookie_name(PENDING_COOKIE)


def complete_first_factor(
    user: User, amr: list[str], *, remember: bool, next_url: str | None
) -> Response:
    """After a first factor: the session, the second-factor page, or the verify-email page."""
    from idp.identity import two_factor  # imported here: two_factor builds on this module

    target = safe_next(next_url)
    settings = app_settings()
    if settings.require_verified_email and user.email_verified_at is None:
        return redirect(url_for("verification.pending", next=target), 303)
    if (
        "mfa" not in amr
        and two_factor.requires_second_factor(user)
        and not (two_factor.device_trusted(user))
    ):
        token = new_token()
        pending = Pending(user.id, list(amr), remember, target)
        try:
            app_store().set(
                "pending:" + digest(token), json.dumps(asdict(pending)).encode(), PENDING_TTL
            )
        except StoreUnavailable:
            page: Response = make_response(
                render_error(
                    503, "Signing in with a second factor is briefly unavailable. Try again soon."
                )
            )
            return page
        g.pending_cookie = token
        return redirect(url_for("two_factor.second_factor"), 303)
    start_session(user, amr, remember=remember)
    return redirect(target, 303)


def load_pending() -> Pending | None:
    """This browser's pending sign-in, if any."""
    token = request.cookies.get(pending_cookie_name())
    if not token:
        return None
    try:
        raw = app_store().get("pending:" + digest(token))
    except StoreUnavailable:
        return None
    return Pending(**json.loads(raw)) if raw else None


def second_factor_user() -> User | None:
    """Whose second factor the second-factor page asks for: the pending sign-in's user, or
    (step-up) the signed-in user."""
    pending = load_pending()
    if pending is not None:
        return pending.user()
    return current_user()


def complete_second_factor(amr: list[str], next_url: str | None = None) -> Response:
    """The second factor was proven (`amr`: the methods just used). Finish the pending
    sign-in, or add the factor to the current session (step-up)."""
    pending = load_pending()
    if pending is not None:
        user = pending.user()
        end_pending()
        if user is not None:
            start_session(user, merge_amr(pending.amr, amr), remember=pending.remember)
            return redirect(safe_next(pending.next), 303)
    login = current_login()
    if login is not None:
        app_sessions().reauthenticate(login, amr)
        return redirect(safe_next(next_url), 303)
    return redirect(url_for("auth.sign_in"), 303)


def end_pending() -> None:
    token = request.cookies.get(pending_cookie_name())
    if token:
        with contextlib.suppress(StoreUnavailable):
            app_store().delete("pending:" + digest(token))
    g.pending_cookie = ""


def start_session(user: User, amr: list[str], *, remember: bool) -> None:
    """Open a session for this browser, replacing the one it had (no fixation, no orphan)."""
    previous, previous_user = current_login(), current_user()
    if previous is not None and previous_user is not None:
        app_sessions().revoke(previous_user, previous.id, reason="replaced")
    token, _ = app_sessions().start(
        user,
        remember=remember,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
        amr=amr,
    )
    set_session_cookie(token, remember)


def write_pending_cookie(response: Response) -> Response:
    token = g.get("pending_cookie")
    if token is None:
        return response
    if token:
        set_private_cookie(response, PENDING_COOKIE, token, PENDING_TTL)
    else:
        delete_private_cookie(response, PENDING_COOKIE)
    return response

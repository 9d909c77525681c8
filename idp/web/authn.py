"""Signing in over HTTP: the cookies and redirects around idp.identity.login's services.

The pending sign-in's token travels in the `idp_pending` cookie (HttpOnly, SameSite=Lax, gone
with the browser); the trusted-device mark in `idp_trusted`. Each function here reads them,
calls one login service and maps its outcome to a response.
"""

from __future__ import annotations

from flask import g, make_response, redirect, request, url_for
from werkzeug.wrappers import Response

from idp.identity import login
from idp.identity.models import User
from idp.identity.two_factor import TRUSTED_COOKIE
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

PENDING_COOKIE = "idp_pending"


def client() -> login.Client:
    return login.Client(ip=request.remote_addr, user_agent=request.user_agent.string)


def complete_first_factor(
    user: User, amr: list[str], *, remember: bool, next_url: str | None
) -> Response:
    """After a first factor: the session, the second-factor page, or the verify-email page."""
    return respond(first_factor(user, amr, remember=remember, next_url=next_url))


def first_factor(
    user: User,
    amr: list[str],
    *,
    remember: bool,
    next_url: str | None,
    sso: tuple[int, int] | None = None,
) -> login.Outcome:
    return login.complete_first_factor(
        user,
        amr,
        remember=remember,
        next=safe_next(next_url),
        client=client(),
        current=current_login(),
        trusted_token=trusted_token(),
        sso=sso,
    )


def complete_second_factor(amr: list[str], next_url: str | None = None) -> Response:
    token = pending_token()
    outcome = login.complete_second_factor(
        amr, pending_token=token, next=next_url or "", client=client(), current=current_login()
    )
    if token:
        g.pending_cookie = ""
    return respond(outcome)


def respond(outcome: login.Outcome) -> Response:
    """The redirect (and cookie) for a sign-in outcome."""
    if isinstance(outcome, login.SessionStarted):
        set_session_cookie(outcome.token, outcome.remember)
        return redirect(safe_next(outcome.next), 303)
    if isinstance(outcome, login.SecondFactorNeeded):
        g.pending_cookie = outcome.pending_token
        return redirect(url_for("two_factor.second_factor"), 303)
    if isinstance(outcome, login.VerificationNeeded):
        return redirect(url_for("verification.pending", next=outcome.next), 303)
    if isinstance(outcome, login.Unavailable):
        return make_response(render_error(503, outcome.message))
    if isinstance(outcome, login.Banned):
        return make_response(render_error(403, outcome.message))
    if isinstance(outcome, login.FactorAdded):
        return redirect(safe_next(outcome.next), 303)
    return redirect(url_for("auth.sign_in"), 303)


def pending_token() -> str | None:
    return request.cookies.get(private_cookie_name(PENDING_COOKIE))


def trusted_token() -> str | None:
    cookies = request.cookies
    return cookies.get("__Host-" + TRUSTED_COOKIE) or cookies.get(TRUSTED_COOKIE)


def has_pending() -> bool:
    return login.load_pending(pending_token()) is not None


def second_factor_user() -> User | None:
    """Whose second factor the second-factor page asks for: the pending sign-in's user, or
    (step-up) the signed-in user."""
    pending = login.load_pending(pending_token())
    return pending.user() if pending is not None else current_user()


def end_pending() -> None:
    login.end_pending(pending_token())
    g.pending_cookie = ""


def write_pending_cookie(response: Response) -> Response:
    token = g.get("pending_cookie")
    if token is None:
        return response
    if token:
        set_private_cookie(response, PENDING_COOKIE, token, login.PENDING_TTL)
    else:
        delete_private_cookie(response, PENDING_COOKIE)
    return response

"""Passkey pages and the JSON endpoints static/js/passkeys.js talks to.

Each ceremony is two POSTs (idp.identity.passkey_ceremonies' `begin_*` and `finish_*`):
`.../options` returns the WebAuthn options, whose challenge the service keeps under a random
token held in this browser's Flask session; the second POST carries the credential and gets
`{"redirect": url}` or `{"error", "message"}` back.

- Add a passkey (signed in, fresh session): /account/passkeys/options, /account/passkeys
- Sign in with a passkey, no email typed (button or the email field's autofill):
  /sign-in/passkey/options, /sign-in/passkey
- A passkey as second factor: /sign-in/second-factor/passkey/options, .../passkey
- Rename and remove: plain HTML forms on /account/security.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, flash, jsonify, redirect, request, session, url_for
from flask_limiter import Limiter
from werkzeug.wrappers import Response

from idp.core.security import new_token
from idp.db import db
from idp.errors import IdpError
from idp.federation.sso.domains import SSO_REQUIRED, connection_for_email
from idp.identity import login, passkeys
from idp.identity import passkey_ceremonies as ceremonies
from idp.identity.bans import active_ban, banned_message
from idp.identity.models import User
from idp.identity.passkeys import Assertion, Passkey
from idp.settings import app_settings
from idp.web import authn, security
from idp.web.current import (
    current_login,
    current_user,
    fresh_login_required,
    login_required,
    signed_in_user,
)

bp = Blueprint("passkeys", __name__)

SECURITY_PAGE = "/account/security"
JsonAnswer = tuple[Response, int]
View = TypeVar("View", bound=Callable[..., Any])


# Adding a passkey


def json_fresh_login_required(view: View) -> View:
    """`fresh_login_required` for JSON endpoints: 401 or 403 JSON instead of a redirect."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        active = current_login()
        if active is None or current_user() is None:
            sign_in = url_for("auth.sign_in", next=SECURITY_PAGE)
            return _error("Please sign in again.", 401, "signed_out", redirect=sign_in)
        if not active.is_fresh(app_settings().session_fresh_age):
            confirm = url_for("auth.confirm", next=SECURITY_PAGE)
            return _error("Please confirm your password first.", 403, "not_fresh", redirect=confirm)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.post("/account/passkeys/options")
@json_fresh_login_required
def registration_options() -> Response | JsonAnswer:
    try:
        options = ceremonies.begin_registration(
            signed_in_user(), _browser(), _text(_body().get("name"))
        )
    except IdpError as error:
        return _error(error.message, error.status, error.code)
    return _options(options)


@bp.post("/account/passkeys")
@json_fresh_login_required
def register() -> Response | JsonAnswer:
    body, url = _body(), url_for("security.index", _external=True)
    try:
        passkey = ceremonies.finish_registration(
            signed_in_user(),
            _browser_if_any(),
            body.get("credential"),
            _text(body.get("name")),
            ip=_ip(),
            security_url=url,
        )
    except IdpError as error:
        return _error(error.message, error.status, error.code)
    flash(f"Passkey “{passkey.name}” added. You can now sign in with it.")
    return jsonify(redirect=url_for("security.index")), 201


# Signing in


@bp.post("/sign-in/passkey/options")
def sign_in_options() -> Response | JsonAnswer:
    return _begin(_sign_in_purpose(), None)


@bp.post("/sign-in/passkey")
def sign_in() -> Response | JsonAnswer:
    body = _body()
    try:
        assertion = _finish(_sign_in_purpose(), body, None)
    except IdpError as error:
        return _error(error.message, error.status, error.code)
    user = db.session.get(User, assertion.passkey.user_id)
    assert user is not None
    connection = connection_for_email(user.email)
    if connection is not None and connection.required:
        # The organization requires its SSO for this address: no passkey sign-in either.
        start = url_for(
            "sso.start", connection_id=connection.id, next=_text(body.get("next")) or None
        )
        return _error(SSO_REQUIRED, 403, "sso_required", sso=start)
    outcome = authn.first_factor(
        user, assertion.amr, remember=False, next_url=_text(body.get("next"))
    )
    if isinstance(outcome, login.Unavailable):  # the store is down: no pending second factor
        return _error("Signing in is briefly unavailable. Try again soon.", 503, "unavailable")
    if isinstance(outcome, login.Banned):
        return _error(outcome.message, 403, "banned")
    return jsonify(redirect=authn.respond(outcome).headers["Location"])


def _sign_in_purpose() -> str:
    """The autofill request and the button each keep their own challenge: pressing the
    button while the autofill request is open must not replace the one it will answer."""
    return "sign-in-autofill" if _body().get("mediation") == "conditional" else "sign-in"


# A passkey as second factor


@bp.post("/sign-in/second-factor/passkey/options")
def second_factor_options() -> Response | JsonAnswer:
    user = authn.second_factor_user()
    if user is None:
        return _error("Please sign in again.", 401, "signed_out", redirect=url_for("auth.sign_in"))
    if not passkeys.passkeys_of(user):
        return _error("There is no passkey on this account.", 400, "no_passkey")
    return _begin("second-factor", user)


@bp.post("/sign-in/second-factor/passkey")
def second_factor() -> Response | JsonAnswer:
    user = authn.second_factor_user()
    if user is None:
        return _error("Please sign in again.", 401, "signed_out", redirect=url_for("auth.sign_in"))
    body = _body()
    try:
        assertion = _finish("second-factor", body, user)
    except IdpError as error:
        return _error(error.message, error.status, error.code)
    ban = active_ban(user.id)
    if ban is not None:  # banned since the first factor
        authn.end_pending()
        return _error(banned_message(ban), 403, "banned")
    response = authn.complete_second_factor(
        [assertion.passkey.amr], next_url=_text(body.get("next"))
    )
    return jsonify(redirect=response.headers["Location"])


def has_passkey_for_second_factor() -> bool:
    """For templates/auth/_second_factor_passkey.html: offer the button only when the user
    being asked for a second factor has a passkey."""
    return bool(passkeys.passkeys_of(authn.second_factor_user()))


# Renaming and removing (HTML forms)


@bp.post("/account/passkeys/<int:passkey_id>/name")
@login_required
def rename(passkey_id: int) -> Response | tuple[str, int]:
    user = signed_in_user()
    passkey = _own_passkey(user, passkey_id)
    try:
        ceremonies.rename_passkey(user, passkey, request.form.get("name", ""))
    except IdpError as error:
        rename_error = (passkey_id, error.message, request.form.get("name", "")[:200])
        return security.page(passkeys_rename_error=rename_error), 400
    flash(f"Passkey renamed to “{passkey.name}”.")
    return redirect(url_for("security.index") + "#passkeys", 303)


@bp.post("/account/passkeys/<int:passkey_id>/delete")
@fresh_login_required
def remove(passkey_id: int) -> Response:
    user = signed_in_user()
    passkey = _own_passkey(user, passkey_id)
    url = url_for("security.index", _external=True)
    name = ceremonies.remove_passkey(user, passkey, ip=_ip(), security_url=url)
    flash(f"Passkey “{name}” removed. It can no longer be used to sign in.")
    return redirect(url_for("security.index") + "#passkeys", 303)


def _own_passkey(user: User, passkey_id: int) -> Passkey:
    passkey = passkeys.find_passkey(user, passkey_id)
    if passkey is None:
        abort(404)
    return passkey


# The browser's ceremony token and the answers


def _browser() -> str:
    """This browser's ceremony token, kept in its Flask session (made on first use)."""
    token = _browser_if_any() or new_token()
    session["passkey_ceremony"] = token
    return token


def _browser_if_any() -> str | None:
    token = session.get("passkey_ceremony")
    return token if isinstance(token, str) else None


def _begin(purpose: str, user: User | None) -> Response | JsonAnswer:
    try:
        return _options(ceremonies.begin_authentication(purpose, _browser(), user))
    except IdpError as error:
        return _error(error.message, error.status, error.code)


def _finish(purpose: str, body: dict[str, Any], user: User | None) -> Assertion:
    credential = body.get("credential")
    return ceremonies.finish_authentication(purpose, _browser_if_any(), credential, user)


def _options(options: str) -> Response:
    return Response(options, mimetype="application/json")


def _ip() -> str | None:
    return request.remote_addr


def _error(message: str, status: int, code: str, **extra: str) -> JsonAnswer:
    return jsonify(error=code, message=message, **extra), status


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    app.add_template_global(has_passkey_for_second_factor)
    per_ip = limiter.limit(lambda: app_settings().sign_in_ip_limit)
    options_per_ip = limiter.limit("60 per minute")
    views: dict[str, Any] = app.view_functions
    for endpoint in ("passkeys.sign_in", "passkeys.second_factor", "passkeys.register"):
        views[endpoint] = per_ip(views[endpoint])
    for endpoint in (
        "passkeys.sign_in_options",
        "passkeys.second_factor_options",
        "passkeys.registration_options",
    ):
        views[endpoint] = options_per_ip(views[endpoint])

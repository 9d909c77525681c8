"""Passkey pages and the JSON endpoints static/js/passkeys.js talks to.

Each ceremony is two POSTs: `.../options` returns the WebAuthn options and keeps their
challenge in the store (five minutes, single use) under a random token held in this
browser's Flask session, so an answer counts only in the browser that asked; the second POST
carries the credential and gets `{"redirect": url}` or `{"error", "message"}` back.

- Add a passkey (signed in, fresh session): /account/passkeys/options, /account/passkeys
- Sign in with a passkey, no email typed (button or the email field's autofill):
  /sign-in/passkey/options, /sign-in/passkey
- A passkey as second factor: /sign-in/second-factor/passkey/options, .../passkey
- Rename and remove: plain HTML forms on /account/security.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from werkzeug.wrappers import Response

from idp.core.security import digest, new_token
from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.errors import IdpError
from idp.identity import passkeys
from idp.identity.models import User
from idp.identity.passkeys import Ceremony, Passkey, PasskeyError, RelyingParty
from idp.mail import app_mailer
from idp.settings import app_settings
from idp.web import authn
from idp.web.current import current_login, current_user, fresh_login_required, login_required

bp = Blueprint("passkeys", __name__)

CHALLENGE_TTL = 300
SECURITY_PAGE = "/account/security"
JsonAnswer = tuple[Response, int]
View = TypeVar("View", bound=Callable[..., Any])


class CeremonyExpired(PasskeyError):
    code = "passkey_request_expired"


class PasskeysUnavailable(PasskeyError):
    code = "unavailable"
    status = 503


EXPIRED = "This passkey request has expired or was already used. Please try again."
UNAVAILABLE = "Passkeys are unavailable just now. Please try again soon."


# Adding a passkey


def json_fresh_login_required(view: View) -> View:
    """`fresh_login_required` for JSON endpoints: 401 or 403 JSON instead of a redirect."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        login = current_login()
        if login is None or current_user() is None:
            sign_in = url_for("auth.sign_in", next=SECURITY_PAGE)
            return _error("Please sign in again.", 401, "signed_out", redirect=sign_in)
        if not login.is_fresh(app_settings().session_fresh_age):
            confirm = url_for("auth.confirm", next=SECURITY_PAGE)
            return _error("Please confirm your password first.", 403, "not_fresh", redirect=confirm)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.post("/account/passkeys/options")
@json_fresh_login_required
def registration_options() -> Response | JsonAnswer:
    user = _user()
    name = _text(_body().get("name"))
    if name.strip():
        try:
            passkeys.clean_name(name)  # refused before the authenticator makes anything
        except IdpError as error:
            return _error(error.message, error.status, error.code)
    ceremony = passkeys.registration_options(relying_party(), user)
    db.session.commit()  # the user handle, made on first use
    return _start("register", ceremony, user)


@bp.post("/account/passkeys")
@json_fresh_login_required
def register() -> Response | JsonAnswer:
    user = _user()
    body = _body()
    try:
        challenge = _take_challenge("register", user)
        passkey = passkeys.register(
            relying_party(), user, _credential(body), challenge, _text(body.get("name"))
        )
    except IdpError as error:
        db.session.rollback()
        return _error(error.message, error.status, error.code)
    db.session.commit()
    app_mailer().send_later(
        user.email,
        "A passkey was added to your account",
        "passkey_added",
        user=user,
        passkey=passkey.name,
        ip=request.remote_addr,
        security_url=url_for("security.index", _external=True),
    )
    flash(f"Passkey “{passkey.name}” added. You can now sign in with it.")
    return jsonify(redirect=url_for("security.index")), 201


# Signing in


@bp.post("/sign-in/passkey/options")
def sign_in_options() -> Response | JsonAnswer:
    ceremony = passkeys.authentication_options(relying_party())
    return _start(_sign_in_purpose(), ceremony, None)


@bp.post("/sign-in/passkey")
def sign_in() -> Response | JsonAnswer:
    body = _body()
    try:
        challenge = _take_challenge(_sign_in_purpose(), None)
        assertion = passkeys.authenticate(relying_party(), _credential(body), challenge)
    except IdpError as error:
        return _refused(error)
    db.session.commit()
    user = db.session.get(User, assertion.passkey.user_id)
    assert user is not None
    response = authn.complete_first_factor(
        user, assertion.amr, remember=False, next_url=_text(body.get("next"))
    )
    if "Location" not in response.headers:  # the store is down: no pending second factor
        return _error("Signing in is briefly unavailable. Try again soon.", 503, "unavailable")
    return jsonify(redirect=response.headers["Location"])


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
    ceremony = passkeys.authentication_options(relying_party(), user)
    return _start("second-factor", ceremony, user)


@bp.post("/sign-in/second-factor/passkey")
def second_factor() -> Response | JsonAnswer:
    user = authn.second_factor_user()
    if user is None:
        return _error("Please sign in again.", 401, "signed_out", redirect=url_for("auth.sign_in"))
    body = _body()
    try:
        challenge = _take_challenge("second-factor", user)
        assertion = passkeys.authenticate(relying_party(), _credential(body), challenge, user)
    except IdpError as error:
        return _refused(error)
    db.session.commit()
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
    user = _user()
    passkey = _own_passkey(user, passkey_id)
    try:
        passkeys.rename(user, passkey, request.form.get("name", ""))
    except IdpError as error:
        db.session.rollback()
        return _security_page_with_error(passkey_id, error.message)
    db.session.commit()
    flash(f"Passkey renamed to “{passkey.name}”.")
    return redirect(url_for("security.index") + "#passkeys", 303)


@bp.post("/account/passkeys/<int:passkey_id>/delete")
@fresh_login_required
def remove(passkey_id: int) -> Response:
    user = _user()
    passkey = _own_passkey(user, passkey_id)
    name = passkey.name
    passkeys.remove(user, passkey)
    db.session.commit()
    app_mailer().send_later(
        user.email,
        "A passkey was removed from your account",
        "passkey_removed",
        user=user,
        passkey=name,
        ip=request.remote_addr,
        security_url=url_for("security.index", _external=True),
    )
    flash(f"Passkey “{name}” removed. It can no longer be used to sign in.")
    return redirect(url_for("security.index") + "#passkeys", 303)


def security_context(user: User) -> dict[str, object]:
    """What templates/account/_passkeys.html needs."""
    login = current_login()
    return {
        "passkeys_list": passkeys.passkeys_of(user),
        "passkeys_fresh": login is not None and login.is_fresh(app_settings().session_fresh_age),
        "passkeys_rename_error": g.get("passkeys_rename_error"),
        "passkeys_name_max": passkeys.NAME_MAX,
    }


def _own_passkey(user: User, passkey_id: int) -> Passkey:
    passkey = passkeys.find_passkey(user, passkey_id)
    if passkey is None:
        abort(404)
    return passkey


def _security_page_with_error(passkey_id: int, message: str) -> tuple[str, int]:
    from idp.web import security  # the security page imports this module

    g.passkeys_rename_error = (passkey_id, message, request.form.get("name", "")[:200])
    page: str = security.index()
    return page, 400


# The relying party and the challenge store


def relying_party() -> RelyingParty:
    settings = app_settings()
    return RelyingParty(settings.webauthn_rp_id, settings.site_name, settings.webauthn_origins)


def _start(purpose: str, ceremony: Ceremony, user: User | None) -> Response | JsonAnswer:
    """Keep the challenge for this browser and send the options."""
    token = session.get("passkey_ceremony") or new_token()
    session["passkey_ceremony"] = token
    value = {
        "challenge": bytes_to_base64url(ceremony.challenge),
        "user_id": user.id if user else None,
    }
    try:
        app_store().set(_key(purpose, token), json.dumps(value).encode(), CHALLENGE_TTL)
    except StoreUnavailable:
        return _unavailable()
    return Response(ceremony.options, mimetype="application/json")


def _take_challenge(purpose: str, user: User | None) -> bytes:
    """The challenge this browser was given for `purpose`, once (WebAuthn L3 §13.4.3)."""
    token = session.get("passkey_ceremony")
    if not isinstance(token, str):
        raise CeremonyExpired(EXPIRED, detail="no ceremony in this browser")
    try:
        return _consume(_key(purpose, token), user)
    except StoreUnavailable as error:
        raise PasskeysUnavailable(UNAVAILABLE, detail=str(error)) from error


def _consume(key: str, user: User | None) -> bytes:
    store = app_store()
    raw = store.get(key)
    if raw is None:
        raise CeremonyExpired(EXPIRED, detail="no challenge stored")
    store.delete(key)
    value = json.loads(raw)
    # One winner even if two requests read the challenge at the same moment.
    if not store.add("passkey-used:" + digest(value["challenge"]), b"1", CHALLENGE_TTL):
        raise CeremonyExpired(EXPIRED, detail="challenge already used")
    if value["user_id"] != (user.id if user else None):
        raise CeremonyExpired(EXPIRED, detail="challenge was for another user")
    return base64url_to_bytes(value["challenge"])


def _key(purpose: str, token: str) -> str:
    return f"passkey:{purpose}:{digest(token)}"


def _refused(error: IdpError) -> JsonAnswer:
    """Keep the PASSKEY_FAILED event the service recorded; nothing else was changed."""
    db.session.commit()
    return _error(error.message, error.status, error.code)


def _error(message: str, status: int, code: str, **extra: str) -> JsonAnswer:
    return jsonify(error=code, message=message, **extra), status


def _unavailable() -> JsonAnswer:
    return _error(UNAVAILABLE, 503, PasskeysUnavailable.code)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _credential(body: dict[str, Any]) -> dict[str, Any]:
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise PasskeyError("No passkey answer was sent. Please try again.")
    return credential


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _user() -> User:
    user = current_user()
    assert user is not None
    return user


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

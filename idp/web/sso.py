"""Enterprise SSO over HTTP: start a sign-in through an organization's connection, the SAML
ACS and SP metadata, the OpenID Connect callback.

- GET /sso/<id>/start?next=&login_hint=: for a SAML connection the AuthnRequest
  (HTTP-Redirect, SAML bindings §3.4); for an OpenID Connect one the authorization request
  (OIDC Core §3.1.2.1, PKCE, state, nonce, `login_hint`). What it started is bound to this
  browser by the `idp_sso` cookie.
- POST /sso/saml/<id>/acs: the Response (HTTP-POST, bindings §3.5). CSRF-exempt: it is a
  cross-site form post by design, authenticated by the IdP's signature and the request this
  browser started. Over HTTPS its cookie is SameSite=None so that post carries it.
- GET /sso/saml/<id>/metadata: our SP metadata for the connection (its URL is our entity ID).
- GET /sso/oidc/<id>/callback: the authorization response (OIDC Core §3.1.2.5); the redirect
  URI the organization registers at its IdP.

The sign-in ends like every other first factor (`web/authn.py`, amr `fed`), so bans,
two-factor and email rules apply; the session remembers the connection it came through.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, make_response, redirect, request
from flask_limiter import Limiter
from werkzeug.wrappers import Response

from idp.core.store import StoreUnavailable
from idp.federation.sso import flow, oidc_flow, sign_in
from idp.federation.sso.flow import Finished
from idp.federation.sso.sign_in import SsoRefused
from idp.identity import login
from idp.identity.sessions import app_sessions
from idp.settings import app_settings
from idp.web.authn import first_factor, respond
from idp.web.current import private_cookie_name, safe_next
from idp.web.errors import render_error

bp = Blueprint("sso", __name__)
COOKIE = "idp_sso"
METADATA_TYPE = "application/samlmetadata+xml"


@bp.get("/sso/<int:connection_id>/start")
def start(connection_id: int) -> Response:
    connection = flow.find(connection_id)
    if connection is None:
        return make_response(render_error(404, "This single sign-on is not available."))
    next_url = safe_next(request.args.get("next"))
    hint = request.args.get("login_hint", "")[:320]
    again = request.args.get("prompt") == "login"  # from the confirm page: check them again
    try:
        if connection.kind == "oidc":
            started = oidc_flow.start(connection, next_url, hint, reauthenticate=again)
        else:
            started = flow.start(connection, next_url, reauthenticate=again)
    except StoreUnavailable:
        return make_response(render_error(503, "Single sign-on is briefly unavailable."))
    except SsoRefused as error:
        return make_response(render_error(502, error.message))
    response = redirect(started.url, 303)
    _set_cookie(response, started.browser_token)
    return response


@bp.post("/sso/saml/<int:connection_id>/acs")
def acs(connection_id: int) -> Response:
    token = request.cookies.get(_cookie_name())
    try:
        finished = flow.finish(connection_id, request.form.get("SAMLResponse", ""), token)
    except SsoRefused as error:
        return _refused(error)
    return _complete(finished)


@bp.get("/sso/oidc/<int:connection_id>/callback")
def oidc_callback(connection_id: int) -> Response:
    token = request.cookies.get(_cookie_name())
    params = {key: request.args.get(key, "") for key in request.args}
    try:
        finished = oidc_flow.finish(connection_id, params, token)
    except SsoRefused as error:
        return _refused(error)
    return _complete(finished)


def _refused(error: SsoRefused) -> Response:
    refused = make_response(render_error(403, error.message))
    _clear_cookie(refused)
    return refused


def _complete(finished: Finished) -> Response:
    """The first factor done (amr `fed`), as every other; the session bound to the
    connection's organization."""
    connection = finished.connection
    outcome = first_factor(
        finished.user,
        ["fed"],
        remember=False,
        next_url=finished.next,
        sso=(connection.id, connection.organization_id),  # kept if a second factor follows
    )
    session_id = None
    if isinstance(outcome, login.SessionStarted):
        active, _ = app_sessions().resolve(outcome.token)
        session_id = active.id if active is not None else None
    sign_in.signed_in(finished.connection, finished.user, session_id)
    response = respond(outcome)
    _clear_cookie(response)
    return response


@bp.get("/sso/saml/<int:connection_id>/metadata")
def metadata(connection_id: int) -> Response:
    connection = flow.find(connection_id, "saml")
    if connection is None:
        return make_response(render_error(404, "There is no such SSO connection."))
    response = make_response(flow.metadata(connection))
    response.content_type = METADATA_TYPE
    return response


def _cookie_name() -> str:
    return private_cookie_name(COOKIE)


def _set_cookie(response: Response, token: str) -> None:
    https = app_settings().is_https
    response.set_cookie(
        _cookie_name(),
        token,
        max_age=flow.REQUEST_TTL,
        path="/",
        secure=https,
        httponly=True,
        samesite="None" if https else "Lax",
    )


def _clear_cookie(response: Response) -> None:
    https = app_settings().is_https
    response.delete_cookie(
        _cookie_name(), path="/", secure=https, httponly=True, samesite="None" if https else "Lax"
    )


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    # Starts keep a pending sign-in, answers are checked (and an OIDC code redeemed at the
    # IdP): all counted per IP like sign-in attempts.
    per_ip = limiter.limit(lambda: app_settings().sign_in_ip_limit)
    views: dict[str, Any] = app.view_functions
    for endpoint in ("sso.start", "sso.acs", "sso.oidc_callback"):
        views[endpoint] = per_ip(views[endpoint])
    app.extensions["csrf"].exempt(acs)

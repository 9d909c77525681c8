"""OpenID Connect RP-Initiated Logout 1.0: the end-session endpoint at /logout.

Validate, then confirm, then sign out, then answer:

- `validate` checks id_token_hint, client_id and post_logout_redirect_uri (§2, §3). `ui_locales`
  and `logout_hint` are accepted and change nothing: the pages are English only, and the
  session that ends is always this browser's.
- A valid hint naming the signed-in user shows the app sent the request: sign out at once.
  Otherwise the OP MUST ask the user (§2): such a request may be forged (§6).
- We return to the app only at a post_logout_redirect_uri that the app named by the hint or
  client_id registered, exactly, and only when nothing in the request failed validation
  (§3, §4). Otherwise we still sign out and show our own page, saying why we did not go back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import Blueprint, Flask, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.identity.sessions import app_sessions
from idp.oauth.clients import find_client
from idp.oauth.models import Client
from idp.oauth.scopes import subject
from idp.oauth.tokens import app_tokens
from idp.web.current import clear_session_cookie, current_login, current_user
from idp.web.errors import render_error

bp = Blueprint("logout", __name__)
Answer = str | Response | tuple[str | Response, int]

PARAMETERS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)


@dataclass
class LogoutRequest:
    """A validated logout request; `params` travel through the confirmation form as they came."""

    params: dict[str, str]
    hinted_subject: str | None
    client: Client | None
    redirect_to: str | None
    notice: str | None  # why we will not return to the app, for the user


@bp.route("/logout", methods=["GET", "POST"])
def end_session() -> Answer:
    if request.method == "POST":
        # §2: the RP may POST. Our session cookie is SameSite=Lax, so a browser does not send it
        # with another site's POST; a 303 turns the request into a GET, which carries it.
        return redirect(_logout_url(_parameters(request.form)), 303)
    try:
        logout = validate(request.args)
    except OAuth2Error as error:
        return _failure(error)
    user = current_user()
    if user is None or logout.hinted_subject == subject(user):
        return _finish(logout)
    return render_template("oauth/logout.html", logout=logout, user=user, client=logout.client)


@bp.post("/logout/confirm")
def confirm() -> Answer:
    """The user's answer on the confirmation page (CSRF-checked like every form of ours)."""
    try:
        logout = validate(request.form)
    except OAuth2Error as error:
        return _failure(error)
    return _finish(logout)


def validate(source: Mapping[str, str]) -> LogoutRequest:
    params = _parameters(source)
    hint = params.get("id_token_hint")
    claims = _hint_claims(hint) if hint else None
    client = _client(params.get("client_id"), claims)
    redirect_to, notice = _return_address(params, client, hint_failed=bool(hint) and not claims)
    hinted = str(claims["sub"]) if claims else None
    return LogoutRequest(params, hinted, client, redirect_to, notice)


def _parameters(source: Mapping[str, str]) -> dict[str, str]:
    return {name: str(source[name]) for name in PARAMETERS if source.get(name)}


def _hint_claims(hint: str) -> dict[str, Any] | None:
    """§2: the OP MUST validate that it was the issuer of the ID Token; an expired one is fine.

    An access token is signed by the same keys, so `typ` tells them apart. A hint that fails
    is not used at all (§4), which leaves the request unproven: the user confirms.
    """
    claims = app_tokens().verify(hint, typ="JWT", allow_expired=True)
    if claims is None or not isinstance(claims.get("aud"), str) or not claims.get("sub"):
        return None
    return claims


def _client(client_id: str | None, claims: dict[str, Any] | None) -> Client | None:
    if client_id is None:
        return find_client(claims["aud"]) if claims else None
    client = find_client(client_id)
    if client is None:
        raise InvalidRequestError("client_id names no registered application.")
    if claims is not None and claims["aud"] != client_id:
        # §2: when both are present, client_id MUST be the audience of the ID Token.
        raise InvalidRequestError("client_id is not the audience of id_token_hint.")
    return client


def _return_address(
    params: dict[str, str], client: Client | None, *, hint_failed: bool
) -> tuple[str | None, str | None]:
    """Where to send the user afterwards (None: our own page), and if not there, why not."""
    uri = params.get("post_logout_redirect_uri")
    if uri is None:
        return None, None
    if hint_failed:
        # §4: after an error in the request, the OP MUST NOT redirect to the RP.
        return None, "The app's sign-out request could not be verified, so you stay here."
    if client is None:
        return None, "The sign-out request did not say which app sent it, so you stay here."
    if uri not in client.post_logout_redirect_uris:
        # §3: only an exact match of a registered post_logout_redirect_uri.
        return None, f"{client.name} asked to send you to an address it has not registered."
    state = params.get("state")
    if state is None:
        return uri, None
    # §3: the OP MUST include the state value if the RP's request included one.
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("state", state)]
    return urlunsplit(parts._replace(query=urlencode(query))), None


def _finish(logout: LogoutRequest) -> Answer:
    login, user = current_login(), current_user()
    if login is not None and user is not None:
        app_sessions().sign_out(login, user)
        clear_session_cookie()
    if logout.redirect_to:
        return redirect(logout.redirect_to, 303)
    return render_template("oauth/logged_out.html", client=logout.client, notice=logout.notice)


def _failure(error: OAuth2Error) -> tuple[str | Response, int]:
    # §4: errors are shown to the user, never sent to a redirect URI; nothing is signed out.
    return render_error(400, f"{error.description} ({error.error})")


def _logout_url(params: dict[str, str]) -> str:
    return url_for("logout.end_session") + ("?" + urlencode(params) if params else "")


@bp.after_request
def _no_store(response: Response) -> Response:
    # The pages carry the ID token in their form, and the answers depend on the session.
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # Apps send users here from their own sites, without our CSRF token (§2). The
    # confirmation page posts to `confirm`, which keeps the check.
    app.extensions["csrf"].exempt(end_session)

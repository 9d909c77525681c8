"""OpenID Connect RP-Initiated Logout 1.0 over HTTP: the end-session endpoint at /logout.

Validate (idp.oauth.end_session), then confirm, then sign out, then answer. A valid hint naming
the signed-in user shows the app sent the request: sign out at once. Otherwise the OP MUST ask
the user (§2): such a request may be forged (§6). We still sign out when we will not return to
the app, and show our own page saying why.
"""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import Blueprint, Flask, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.identity.sessions import app_sessions
from idp.oauth.end_session import LogoutRequest, parameters, validate
from idp.oauth.scopes import subject
from idp.oauth.tokens import app_tokens
from idp.web import saml_idp
from idp.web.current import clear_session_cookie, current_login, current_user
from idp.web.errors import render_error

bp = Blueprint("logout", __name__)
Answer = str | Response | tuple[str | Response, int]


@bp.route("/logout", methods=["GET", "POST"])
def end_session() -> Answer:
    if request.method == "POST":
        # §2: the RP may POST. Our session cookie is SameSite=Lax, so a browser does not send it
        # with another site's POST; a 303 turns the request into a GET, which carries it.
        return redirect(_logout_url(parameters(request.form)), 303)
    try:
        logout = validate(app_tokens(), request.args)
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
        logout = validate(app_tokens(), request.form)
    except OAuth2Error as error:
        return _failure(error)
    return _finish(logout)


def _finish(logout: LogoutRequest) -> Answer:
    login, user = current_login(), current_user()
    walk = None
    if login is not None and user is not None:
        app_sessions().sign_out(login, user)
        clear_session_cookie()
        # SAML single logout: the apps that got an assertion in this session are told first.
        walk = saml_idp.start_logout_walk(login.id, logout.redirect_to)
    if walk is not None:
        return walk
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

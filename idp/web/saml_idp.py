"""The SAML identity provider over HTTP: metadata, single sign-on and single logout.

Each view reads the binding (query or form), calls idp.federation.saml_idp and maps the
outcome: an auto-posting form (templates/saml/post.html, its script a file of ours under the
page's Content-Security-Policy), a redirect, or an error page. SPs post here from their own
sites, so the SSO and SLO endpoints are exempt from CSRF; our session cookie is SameSite=Lax,
so a POSTed AuthnRequest is saved and read again after a same-site GET, which carries it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.errors import IdpError
from idp.federation.saml_idp import bindings, logout, participants, sso
from idp.federation.saml_idp import metadata as idp_metadata
from idp.federation.saml_idp.requests import Refused
from idp.keys.saml import app_saml_credentials
from idp.settings import app_settings
from idp.web.current import clear_session_cookie, current_login, current_user
from idp.web.errors import render_error

bp = Blueprint("saml_idp", __name__, url_prefix="/saml")
Answer = BaseResponse | tuple[str | Response, int]


@bp.get("/metadata")
def metadata() -> Response:
    certificates = app_saml_credentials().published()
    body = idp_metadata.document(app_settings().issuer, certificates)
    response = Response(body, mimetype="application/samlmetadata+xml")
    response.headers["Cache-Control"] = f"public, max-age={app_settings().jwks_max_age}"
    return response


@bp.route("/sso", methods=["GET", "POST"])
def single_sign_on() -> Answer:
    try:
        received = _received("SAMLRequest")
    except IdpError as error:
        return _answer(sso.refuse(Refused(error.message, reason="malformed")))
    if request.method == "POST":  # no cookie came with another site's POST: look again by GET
        return _answer(sso.receive(received, None, defer=True))
    return _answer(sso.receive(received, _login()))


@bp.get("/sso/resume/<uid>")
def resume(uid: str) -> Answer:
    return _answer(sso.resume(uid, _login()))


@bp.get("/sso/initiate")
def initiate() -> Answer:
    """IdP-initiated sign-in: /saml/sso/initiate?sp=<entity ID>[&RelayState=...]."""
    try:
        relay_state = bindings.checked_relay_state(request.args.get("RelayState"))
    except IdpError as error:
        return _answer(sso.refuse(Refused(error.message, reason="malformed")))
    return _answer(sso.initiate(request.args.get("sp", ""), relay_state, _login()))


@bp.route("/slo", methods=["GET", "POST"])
def single_logout() -> Answer:
    source = request.args if request.method == "GET" else request.form
    try:
        if "SAMLResponse" in source:
            return _answer(logout.answer_from_sp(_received("SAMLResponse")))
        received = _received("SAMLRequest")
    except IdpError as error:
        return _answer(sso.refuse(Refused(error.message, reason="malformed")))
    login, user = current_login(), current_user()
    current = None
    if login is not None and user is not None:
        current = participants.IndexedSession(login.id, user.id, "")
    ended = logout.from_sp(received, current)
    if login is not None and ended.session_id == login.id:
        clear_session_cookie()
    return _answer(ended.answer)


@bp.get("/logout/continue/<token>")
def logout_walk(token: str) -> Answer:
    """After signing out here: on to the next SP that must hear of it."""
    return _answer(logout.walk_on(token))


def start_logout_walk(session_id: int, then: str | None = None) -> BaseResponse | None:
    """For the sign-out views: the first step of telling the session's SPs, if any; the walk
    ends at `then` when given."""
    token = logout.start_walk(session_id, then)
    return _redirect(url_for("saml_idp.logout_walk", token=token)) if token else None


def _received(field: str) -> bindings.Received:
    if request.method == "GET":
        return bindings.from_redirect(request.query_string.decode("ascii", "replace"), field)
    return bindings.from_post(request.form.get(field), request.form.get("RelayState"), field)


def _login() -> sso.Login | None:
    user, session = current_user(), current_login()
    return sso.Login(user, session) if user is not None and session is not None else None


def _answer(outcome: sso.Outcome | logout.LogoutOutcome) -> Answer:
    if isinstance(outcome, sso.PostForm):
        page = render_template("saml/post.html", action=outcome.action, fields=outcome.fields)
        return page, 200
    if isinstance(outcome, sso.SignIn):
        resume_url = url_for("saml_idp.resume", uid=outcome.uid)
        if outcome.defer:
            return _redirect(resume_url, 303)
        return _redirect(url_for("auth.sign_in") + "?" + urlencode({"next": resume_url}))
    if isinstance(outcome, logout.Redirect):
        return _redirect(outcome.location)
    if isinstance(outcome, logout.SignedOut):
        return render_template("saml/signed_out.html"), 200
    return render_error(outcome.status, outcome.message)


def _redirect(location: str, status: int = 302) -> BaseResponse:
    response = BaseResponse(status=status, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf = app.extensions["csrf"]
    # Service providers post here from their own sites (SAML bindings §3.5).
    for view in (single_sign_on, single_logout):
        csrf.exempt(view)

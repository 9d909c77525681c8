"""OAuth 2.1 and OpenID Connect endpoints over HTTP: authorize (with its consent page), token,
userinfo, JWKS and discovery.

Each view parses the request, calls the protocol (idp.oauth.authorize, idp.oauth.userinfo,
the Authlib server) and maps the outcome to a redirect, a page or a form post. The rules
live in idp.oauth; nothing here decides what a request may have.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    flash,
    jsonify,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from idp.oauth import authorize as flow
from idp.oauth import userinfo as userinfo_rules
from idp.oauth.authorize import (
    AskConsent,
    GoToConsent,
    Login,
    Outcome,
    SetUpSecondFactor,
    SignIn,
    StepUp,
)
from idp.oauth.bearer import BearerChallenge, bearer_token
from idp.oauth.delivery import ErrorPage, Respond
from idp.oauth.discovery import app_metadata
from idp.oauth.server import app_server
from idp.oauth.tokens import app_tokens
from idp.settings import app_settings
from idp.web.current import current_login, current_user
from idp.web.errors import render_error
from idp.web.lean_request import LeanRequest

bp = Blueprint("oauth", __name__)
Answer = BaseResponse | tuple[str | Response, int]


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Answer:
    source = request.args if request.method == "GET" else request.form
    return _answer(flow.start(app_server(), list(source.items(multi=True)), _login()))


@bp.get("/authorize/resume/<uid>")
def resume(uid: str) -> Answer:
    return _answer(flow.resume(app_server(), uid, _login()))


@bp.route("/authorize/consent/<uid>", methods=["GET", "POST"])
def consent_page(uid: str) -> Answer | str:
    if request.method == "GET":
        return _answer(flow.consent_page(app_server(), uid, _login()))
    allow = request.form.get("decision") == "allow"
    chosen = request.form.get("organization", "")
    organization_id = int(chosen) if chosen.isdigit() else None
    return _answer(flow.decide_consent(app_server(), uid, _login(), allow, organization_id))


@bp.route("/token", methods=["POST"])
def token() -> Response:
    return token_response(request)


def token_response(request: Request | LeanRequest) -> Response:
    """The token endpoint's answer (RFC 6749 §3.2), to Flask's request or the lean path's."""
    response: Response = app_server().create_token_response(request)
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    return userinfo_response(request)


def userinfo_response(request: Request | LeanRequest) -> Response:
    """OpenID Connect Core §5.3; the token by header (RFC 6750 §2.1) or form body (§2.2)."""
    presented = bearer_token(request.headers.get("Authorization"))
    if presented is None and request.method == "POST":
        presented = request.form.get("access_token")
    result = userinfo_rules.claims_for(app_tokens(), presented)
    if isinstance(result, userinfo_rules.Refusal):
        response = jsonify(result.body())
        response.status_code = result.status
        response.www_authenticate = BearerChallenge(result.challenge())
        return response
    # Serialised directly: the hot path skips jsonify's provider lookup and key sorting.
    response = Response(json.dumps(result, separators=(",", ":")), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jwks.json")
def jwks() -> Response:
    return _cached_json(app_tokens().jwks())


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery() -> Response:
    return _cached_json(app_metadata())


def _cached_json(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={app_settings().jwks_max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _login() -> Login | None:
    user, session = current_user(), current_login()
    return Login(user, session) if user is not None and session is not None else None


def _answer(outcome: Outcome | AskConsent) -> Answer:
    """The HTTP shape of a step of the authorization flow."""
    resume_url = url_for("oauth.resume", uid=getattr(outcome, "uid", ""))
    if isinstance(outcome, Respond) and outcome.form_post:
        page = render_template("oauth/form_post.html", action=outcome.action, params=outcome.params)
        return page, 200
    if isinstance(outcome, Respond):
        return _redirect(outcome.location)
    if isinstance(outcome, ErrorPage):
        return render_error(outcome.status, outcome.message)
    if isinstance(outcome, SignIn):
        target = {
            "next": resume_url,
            **({"login_hint": outcome.login_hint} if outcome.login_hint else {}),
        }
        return _redirect(url_for("auth.sign_in") + "?" + urlencode(target))
    if isinstance(outcome, StepUp):
        # The second-factor page adds the missing factor to this session, then comes back.
        return _redirect(url_for("two_factor.second_factor", next=resume_url))
    if isinstance(outcome, SetUpSecondFactor):
        # The chosen organization's policy: set up a second factor, then come back.
        flash(outcome.message)
        return _redirect(url_for("two_factor.setup", next=resume_url))
    if isinstance(outcome, GoToConsent):
        return _redirect(url_for("oauth.consent_page", uid=outcome.uid))
    return render_template("oauth/consent.html", **vars(outcome)), 200


def _redirect(location: str) -> BaseResponse:
    response = BaseResponse(status=302, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf = app.extensions["csrf"]
    # Clients post here from their own origins; they authenticate instead (RFC 6749 §2.3).
    for view in (authorize, token, userinfo):
        csrf.exempt(view)

"""OAuth 2.1 and OpenID Connect endpoints: authorize (with its sign-in and consent hand-off),
token, userinfo, JWKS and discovery.

The authorize endpoint validates with Authlib, asks `interaction.decide` what comes next, and
either answers the client or saves the request and sends the user to sign in or consent;
those pages come back to `resume`. Unknown clients and unregistered redirect URIs get an
error page, never a redirect (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import Blueprint, Flask, Response, jsonify, render_template, request, url_for
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as BaseResponse

from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.identity.models import User
from idp.identity.sessions import ActiveSession
from idp.keys import app_keys
from idp.oauth import acr, consent
from idp.oauth.discovery import app_metadata
from idp.oauth.interaction import Interaction, Next, decide, requested_claims
from idp.oauth.metadata_documents import names_document
from idp.oauth.models import TokenFamily
from idp.oauth.resources import Target, check_scopes, target_of
from idp.oauth.scopes import DESCRIPTIONS, user_claims
from idp.oauth.server import Server, app_server
from idp.oauth.tokens import app_tokens
from idp.settings import app_settings
from idp.web.current import current_login, current_user
from idp.web.errors import render_error

log = logging.getLogger(__name__)
bp = Blueprint("oauth", __name__)


class RequestNotSupported(OAuth2Error):
    """OpenID Connect Core §3.1.2.6: the OP does not support request objects."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuth2Error):
    error = "request_uri_not_supported"


class Context:
    """How the user signed in, handed to the grant that saves the code."""

    def __init__(
        self,
        login: ActiveSession,
        claims: dict[str, list[str]],
        acr_values: list[str],
        resources: list[str],
    ) -> None:
        self.resources = resources  # RFC 8707, checked by `_target`
        self.session_id = login.id
        self.auth_time = login.authenticated_at
        self.amr = list(login.amr) or ["pwd"]
        self.acr = acr.achieved(acr_values, self.amr)
        self.id_token_claims = claims.get("id_token", [])


def server() -> Server:
    value: Server = app_server()
    return value


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> BaseResponse | tuple[str | Response, int]:
    source = request.args if request.method == "GET" else request.form
    return _run(Interaction.start(list(source.items(multi=True))))


@bp.get("/authorize/resume/<uid>")
def resume(uid: str) -> BaseResponse | tuple[str | Response, int]:
    interaction = _load(uid)
    if interaction is None:
        return render_error(
            400, "This sign-in request has expired. Go back to the app and start again."
        )
    return _run(interaction)


@bp.route("/authorize/consent/<uid>", methods=["GET", "POST"])
def consent_page(uid: str) -> BaseResponse | tuple[str | Response, int] | str:
    interaction = _load(uid)
    user = current_user()
    if interaction is None or user is None:
        return render_error(
            400, "This sign-in request has expired. Go back to the app and start again."
        )
    grant, failure = _validate(interaction)
    if failure is not None:
        return failure
    client = grant.client
    try:
        target = _target(interaction, grant)
    except OAuth2Error as error:
        return _deliver_error(error, interaction)
    if request.method == "GET":
        # Step-up by scope: the user is asked only for what was not allowed before.
        allowed = set.intersection(
            *(consent.remembered(user, client, r) for r in target.uris or [""])
        )
        asked = [s for s in interaction.scopes if s not in allowed] or interaction.scopes
        return render_template(
            "oauth/consent.html",
            client=client,
            origin=_origin(client),
            user=user,
            uid=uid,
            resources=[(r.name, r.uri) for r in target.registered]
            + [(None, uri) for uri in target.uris if uri not in {r.uri for r in target.registered}],
            scopes=_described(asked, target),
            already=_described([s for s in interaction.scopes if s not in asked], target),
            redirect_host=urlsplit(grant.redirect_uri).netloc,
        )
    if request.form.get("decision") != "allow":
        return _deliver_error(
            OAuth2Error(
                error="access_denied",
                description="The user denied the request.",
                redirect_uri=grant.redirect_uri,
            ),
            interaction,
        )
    consent.grant(user, client, interaction.scopes, target.uris)
    interaction.consented = True
    return _run(interaction)


@bp.route("/token", methods=["POST"])
def token() -> Response:
    response: Response = server().create_token_response()
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    """OpenID Connect Core §5.3; errors per RFC 6750 §3."""
    header = request.headers.get("Authorization", "")
    token = (
        header[7:].strip()
        if header[:7].lower() == "bearer "
        else request.form.get("access_token")
        if request.method == "POST"
        else None
    )
    if not token:
        return _bearer_error(401, None)
    claims = app_tokens().verify(token)
    family = _live_family(claims)
    if claims is None or family is None or family.user_id is None:
        return _bearer_error(
            401, "invalid_token", "The access token is invalid, expired or revoked."
        )
    scopes = claims.get("scope", "").split()
    if "openid" not in scopes:
        return _bearer_error(
            403, "insufficient_scope", "The access token lacks the openid scope.", scope="openid"
        )
    user = db.session.get(User, family.user_id)
    if user is None:
        return _bearer_error(401, "invalid_token", "The user no longer exists.")
    response = jsonify(user_claims(user, scopes))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jwks.json")
def jwks() -> Response:
    return _cached_json(app_keys().jwks())


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery() -> Response:
    return _cached_json(app_metadata())


def _cached_json(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={app_settings().jwks_max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _live_family(claims: dict[str, Any] | None) -> TokenFamily | None:
    if claims is None:
        return None
    family_id = str(claims.get("jti", "")).split(".", 1)[0]
    family = db.session.get(TokenFamily, family_id) if family_id else None
    if family is None or family.revoked_at is not None:
        return None
    return family


def _bearer_error(
    status: int, error: str | None, description: str = "", scope: str = ""
) -> Response:
    params = ['realm="userinfo"']
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{description}"')
    if scope:
        params.append(f'scope="{scope}"')
    body = {"error": error, "error_description": description} if error else {}
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = "Bearer " + ", ".join(params)
    return response


def _oauth_request(interaction: Interaction) -> Request:
    builder = EnvironBuilder(
        path="/authorize",
        base_url=app_settings().issuer,
        query_string=urlencode(interaction.params),
    )
    try:
        return builder.get_request()
    finally:
        builder.close()


def _validate(
    interaction: Interaction,
) -> tuple[Any, BaseResponse | tuple[str | Response, int] | None]:
    """Authlib's validation of the request; a failure is already the response to send."""
    try:
        grant = server().get_consent_grant(
            request=_oauth_request(interaction), end_user=current_user()
        )
    except OAuth2Error as error:
        return None, _deliver_error(error, interaction)
    return grant, None


def _run(interaction: Interaction) -> BaseResponse | tuple[str | Response, int]:
    grant, failure = _validate(interaction)
    if failure is not None:
        return failure
    user, login = current_user(), current_login()
    try:
        if interaction.param("request") is not None:
            raise RequestNotSupported(redirect_uri=grant.redirect_uri)
        if interaction.param("request_uri") is not None:
            raise RequestUriNotSupported(redirect_uri=grant.redirect_uri)
        if interaction.param("response_mode") not in {None, "query", "form_post"}:
            raise InvalidRequestError("response_mode must be query or form_post.")
        resources = _target(interaction, grant)
        claims = requested_claims(interaction.param("claims"))
        step = decide(interaction, login, user, grant.client, _hinted_subject(interaction))
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        return _deliver_error(error, interaction)
    if step is not Next.ISSUE and not _saved(interaction):
        return render_error(503, "Signing in to apps is briefly unavailable. Try again soon.")
    if step is Next.SIGN_IN:
        target = {"next": url_for("oauth.resume", uid=interaction.uid)}
        if interaction.param("login_hint"):
            target["login_hint"] = interaction.param("login_hint") or ""
        return _redirect(url_for("auth.sign_in") + "?" + urlencode(target))
    if step is Next.STEP_UP:
        # The second-factor page adds the missing factor to this session, then comes back.
        return _redirect(
            url_for("two_factor.second_factor", next=url_for("oauth.resume", uid=interaction.uid))
        )
    if step is Next.CONSENT:
        return _redirect(url_for("oauth.consent_page", uid=interaction.uid))
    assert user is not None and login is not None
    wanted = acr.requested(interaction.param("acr_values"), interaction.param("claims"))
    grant.request.interaction = Context(login, claims, wanted, resources.uris)
    response = server().create_authorization_response(
        request=grant.request, grant_user=user, grant=grant
    )
    app_store().delete("interaction:" + interaction.uid)
    return _deliver(response.headers["Location"], interaction)


def _target(interaction: Interaction, grant: Any) -> Target:
    """RFC 8707 §2: the resources the request names, checked before the user sees anything;
    scopes beyond the client's registration must be ones those resources accept."""
    try:
        target = target_of(
            interaction.resources,
            allow_unregistered=app_settings().allow_unregistered_resources,
        )
        check_scopes(" ".join(interaction.scopes), grant.client.own_scope, target)
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        raise
    return target


def _origin(client: Any) -> str:
    """How the client came to be, in the words of the consent page."""
    if names_document(client.client_id):
        host = urlsplit(client.client_id).hostname
        return f"This app is identified by a metadata document at {host}."
    if client.dynamic:
        return "This app registered itself."
    return "This app was registered by the administrator."


def _described(scopes: list[str], target: Target) -> list[tuple[str, str]]:
    """Each scope in plain words: the resource's description, else the OpenID Connect one."""
    described = []
    for scope in scopes:
        words = next((r.scopes[scope] for r in target.registered if r.scopes.get(scope)), "")
        described.append((scope, words or DESCRIPTIONS.get(scope, scope)))
    return described


def _load(uid: str) -> Interaction | None:
    try:
        return Interaction.load(app_store(), uid)
    except StoreUnavailable:
        log.warning("cannot load an authorization request: the store is unavailable")
        return None


def _saved(interaction: Interaction) -> bool:
    try:
        interaction.save(app_store())
    except StoreUnavailable:
        log.warning("cannot save an authorization request: the store is unavailable")
        return False
    return True


def _hinted_subject(interaction: Interaction) -> str | None:
    hint = interaction.param("id_token_hint")
    if not hint:
        return None
    claims = app_tokens().verify(hint, typ="JWT", allow_expired=True)
    if claims is None:
        raise InvalidRequestError("id_token_hint is not an ID token issued here.")
    return str(claims.get("sub"))


def _deliver_error(
    error: OAuth2Error, interaction: Interaction
) -> BaseResponse | tuple[str | Response, int]:
    if not error.redirect_uri:
        message = error.description or "The application sent an invalid sign-in request."
        return render_error(400, f"{message} ({error.error})")
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    location = _with_params(error.redirect_uri, params, interaction)
    return _deliver(location, interaction)


def _with_params(uri: str, params: list[tuple[str, str]], interaction: Interaction) -> str:
    state = interaction.param("state")
    if state is not None:
        params.append(("state", state))
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + params
    return urlunsplit(parts._replace(query=urlencode(query)))


def _deliver(location: str, interaction: Interaction) -> BaseResponse | tuple[str | Response, int]:
    """Send the authorization response with `iss` (RFC 9207 §2), by redirect or form post."""
    parts = urlsplit(location)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    params.append(("iss", app_settings().issuer))
    if interaction.param("response_mode") == "form_post":
        target = urlunsplit(parts._replace(query=""))
        return render_template("oauth/form_post.html", action=target, params=params), 200
    return _redirect(urlunsplit(parts._replace(query=urlencode(params))))


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

"""Client registration endpoints: POST /register (RFC 7591 §3) and GET, PUT and DELETE
/register/<client_id> (RFC 7592 §2). JSON in and out, never cached.

Authlib's endpoints, configured in idp.oauth.registration, answer both. `IDP_REGISTRATION=off`
answers 404; registrations are rate limited per client IP (`IDP_REGISTRATION_LIMIT`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify
from flask_limiter import Limiter
from werkzeug.exceptions import HTTPException

from idp.core.ratelimit import retry_at
from idp.oauth.registration import ConfigurationEndpoint, RegistrationEndpoint
from idp.oauth.server import Server, app_server
from idp.settings import Settings, app_settings

bp = Blueprint("registration", __name__)


@bp.post("/register")
def register() -> Response:
    if app_settings().registration == "off":
        return _turned_off()
    response: Response = app_server().create_endpoint_response(RegistrationEndpoint.ENDPOINT_NAME)
    return response


@bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
def configure(client_id: str) -> Response:
    if app_settings().registration == "off":
        return _turned_off()
    response: Response = app_server().create_endpoint_response(ConfigurationEndpoint.ENDPOINT_NAME)
    return response


def _turned_off() -> Response:
    return _json_error(404, "invalid_request", "Dynamic client registration is turned off here.")


@bp.errorhandler(429)
def _too_many(_exceeded: HTTPException) -> Response:
    when = retry_at()
    seconds = max(1, int((when - datetime.now(UTC)).total_seconds())) if when else 60
    response = _json_error(
        429,
        "temporarily_unavailable",
        f"Too many registrations from this address; try again in {seconds} seconds.",
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _json_error(status: int, error: str, description: str) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask, limiter: Limiter) -> None:
    settings: Settings = app.extensions["idp.settings"]
    server: Server = app.extensions["idp.oauth"]
    advertised: dict[str, Any] = json.loads(app.extensions["idp.oauth.discovery"])
    initial_token = settings.registration_token if settings.registration == "token" else None
    server.register_endpoint(
        RegistrationEndpoint(
            issuer=settings.issuer,
            server_metadata=advertised,
            initial_token=initial_token,
            unused_ttl=settings.dynamic_client_unused_ttl,
        )
    )
    server.register_endpoint(
        ConfigurationEndpoint(issuer=settings.issuer, server_metadata=advertised)
    )
    app.register_blueprint(bp)
    # Clients call these from anywhere with bearer tokens or none; no cookies, so no CSRF.
    csrf = app.extensions["csrf"]
    for view in (register, configure):
        csrf.exempt(view)
    per_ip = limiter.limit(lambda: app_settings().registration_limit, methods=["POST"])
    views: dict[str, Any] = app.view_functions
    views["registration.register"] = per_ip(views["registration.register"])

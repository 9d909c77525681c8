"""Token introspection (RFC 7662 §2) and revocation (RFC 7009 §2) endpoints.

Both are Authlib endpoints registered on the authorization server (idp.oauth.introspection,
idp.oauth.revocation); these views only hand them the request. Clients post here from their
own servers and authenticate themselves, so the views are CSRF-exempt.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Request, Response, request

from idp.oauth.server import Server, app_server
from idp.web.lean_request import LeanRequest

bp = Blueprint("tokens", __name__)


def server() -> Server:
    value: Server = app_server()
    return value


@bp.post("/introspect")
def introspect() -> Response:
    return introspection_response(request)


def introspection_response(request: Request | LeanRequest) -> Response:
    """To Flask's request or the lean path's (idp.web.lean)."""
    response: Response = server().create_endpoint_response("introspection", request)
    return response


@bp.post("/revoke")
def revoke() -> Response:
    return revocation_response(request)


def revocation_response(request: Request | LeanRequest) -> Response:
    """To Flask's request or the lean path's (idp.web.lean)."""
    response: Response = server().create_endpoint_response("revocation", request)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf = app.extensions["csrf"]
    for view in (introspect, revoke):
        csrf.exempt(view)

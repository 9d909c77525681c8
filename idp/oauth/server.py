"""Authlib's authorization server, configured for us.

Clients authenticate with `client_secret_basic`, `client_secret_post` or `none` (public);
token responses are never cached (RFC 6749 §5.1). The web layer delivers authorization
responses, adding `iss` (RFC 9207) and the `form_post` response mode.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Request
from flask import Response
from flask import request as flask_request

from idp.oauth.clients import find_client
from idp.oauth.grants import AuthorizationCodeGrant, ClientCredentialsGrant, S256Only


class Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, issuer: str) -> None:
        super().__init__()
        self.issuer = issuer
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(ClientCredentialsGrant)

    def query_client(self, client_id: str) -> Any:
        return find_client(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Tokens are stored as they are minted (idp.oauth.tokens)."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return FlaskOAuth2Request(request if request is not None else flask_request)

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        response: Response = super().handle_response(status, body, headers)
        if response.mimetype == "application/json":
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response

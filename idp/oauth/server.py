"""Authlib's authorization server, configured for us.

Clients authenticate with `client_secret_basic`, `client_secret_post`, `private_key_jwt`
(RFC 7523) or `none` (public), one of them per request (RFC 6749 §2.3), at the token endpoint
and at the device authorization endpoint (RFC 8628, idp.oauth.device); token, introspection
(RFC 7662) and revocation (RFC 7009) responses are never cached (RFC 6749 §5.1). The
authorization flow is idp.oauth.authorize; idp.oauth.delivery adds `iss` (RFC 9207) and the
`form_post` response mode. Grants and endpoints reach `settings`, `tokens` and `store` as
attributes of this server (idp.oauth.wiring).

A client_id that is a URL names a client metadata document (idp.oauth.metadata_documents);
one that cannot be used is `invalid_client`, everywhere a client is looked up, as is a client an
admin disabled. A successful
token response marks its client used (dynamically registered clients expire when unused).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError
from flask import Flask, Request, Response, current_app
from flask import request as flask_request

from idp.core import generations, metrics
from idp.core.store import Store
from idp.oauth.client_auth import PrivateKeyJWT, one_method
from idp.oauth.clients import cached_client, mark_used
from idp.oauth.device import DeviceAuthorizationEndpoint, DeviceCodeGrant
from idp.oauth.errors import printable
from idp.oauth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    S256Only,
)
from idp.oauth.introspection import IntrospectionEndpoint
from idp.oauth.metadata_documents import MetadataDocumentError, MetadataDocuments, names_document
from idp.oauth.revocation import RevocationEndpoint
from idp.oauth.tokens import TokenService
from idp.settings import Settings


class Server(AuthorizationServer):  # type: ignore[misc]
    """The provider's protocol engine, built with everything its grants and endpoints use:
    they reach it as `self.server`."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenService,
        store: Store,
        documents: MetadataDocuments | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.issuer = settings.issuer
        self.tokens = tokens
        self.store = store
        self.documents = documents  # None: URL client_ids are unknown clients
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(RefreshTokenGrant)
        self.register_grant(DeviceCodeGrant)
        self.register_client_auth_method(
            PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(self.issuer, store)
        )
        self.register_endpoint(IntrospectionEndpoint)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(DeviceAuthorizationEndpoint)

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().init_app(app, *args, **kwargs)
        app.extensions["idp.oauth"] = self
        app.extensions["idp.oauth.tokens"] = self.tokens

    def query_client(self, client_id: str) -> Any:
        if not names_document(client_id):
            client = cached_client(client_id)
            # A disabled client is unknown: invalid_client (RFC 6749 §5.2) wherever it calls.
            return client if client is not None and client.disabled_at is None else None
        if self.documents is None:
            return None
        try:
            return self.documents.client(client_id)
        except MetadataDocumentError as error:
            raise InvalidClientError(description=printable(error.message)) from None

    def authenticate_client(self, request: Any, methods: list[str], endpoint: str = "token") -> Any:
        """Every endpoint that authenticates clients comes here: one method per request."""
        one_method(request, methods)
        return super().authenticate_client(request, methods, endpoint)

    def create_token_response(self, request: Any = None) -> Response:
        oauth_request = self.create_oauth2_request(request)
        response: Response = super().create_token_response(oauth_request)
        generations.verify_deferred()  # before counting a token the request may not answer
        client = getattr(oauth_request, "client", None)
        if response.status_code == 200:
            metrics.token_issued(oauth_request.payload.grant_type)
        if response.status_code == 200 and client is not None:
            mark_used(client)
        return response

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Tokens are stored as they are minted (idp.oauth.tokens)."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return _Request(request if request is not None else flask_request)

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        if isinstance(body, dict):
            body = json.dumps(body, separators=(",", ":"))
        response: Response = super().handle_response(status, body, headers)
        if response.mimetype == "application/json":
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response


class _Request(FlaskOAuth2Request):
    """Authlib's request over Flask's (or over the lean path's, idp.web.lean_request, which
    has the same attributes), keeping its headers as they are. Authlib's own constructor tests
    them for truth (`headers or {}`), which counts the headers by walking the whole WSGI
    environ (granian copies the process's environment into it) on every protocol request."""

    def __init__(self, request: Request) -> None:
        OAuth2Request.__init__(self, request.method, _url(request))
        self.headers = request.headers
        self._request = request
        self.payload = FlaskOAuth2Payload(request)


def _url(request: Request) -> str:
    """The request's URL, as Authlib reads it (a transport check, RFC 7592's
    `registration_client_uri`). Werkzeug's `request.url` also turns it into an IRI, which cost
    about a tenth of an introspection request."""
    url = f"{request.scheme}://{request.host}{quote(request.root_path + request.path)}"
    query = request.query_string
    return f"{url}?{query.decode('latin-1')}" if query else url


def app_server() -> Server:
    """The authorization server of the current app."""
    value: Server = current_app.extensions["idp.oauth"]
    return value

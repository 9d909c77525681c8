"""The MCP Python SDK accepts our verifier as its `TokenVerifier` (mcp.server.auth.provider).

RFC 9068 §4 (the token is verified before the SDK sees it) and the SDK's bearer middleware
(RFC 6750 §2.1 header). Our provider issues `aud` = the issuer until RFC 8707 resource
indicators land, so the verifier opts in with `accept_issuer_audience=True`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken, TokenVerifier
from starlette.requests import HTTPConnection

from idp.resource import McpTokenVerifier, ResourceServer
from tests.resource.test_verifier import client_credentials_token

RESOURCE = "https://mcp.example.com/mcp"


def run_async(function: Any, *args: Any) -> Any:
    """Run a coroutine function to completion in a thread of its own: the browser tests'
    Playwright keeps an event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, function, *args).result(timeout=30)


def verifier_for(server) -> McpTokenVerifier:
    return McpTokenVerifier(ResourceServer(server.url, RESOURCE, accept_issuer_audience=True))


def test_verify_token_returns_the_sdks_access_token(server, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[])
    token = client_credentials_token(server, client)
    verifier: TokenVerifier = verifier_for(server)  # satisfies the SDK's protocol (mypy)

    access = run_async(verifier.verify_token, token)

    assert isinstance(access, AccessToken)
    assert access.token == token
    assert access.client_id == client.client_id
    assert access.scopes == ["profile", "email"]
    assert access.subject == client.client_id
    assert access.resource == server.url  # accepted through the issuer audience, and says so
    assert access.claims is not None and access.claims["iss"] == server.url
    assert access.expires_at == access.claims["exp"]


def test_a_refused_token_is_none(server):
    assert run_async(verifier_for(server).verify_token, "not-a-jwt") is None


def test_the_sdks_bearer_backend_authenticates_with_it(server, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[])
    token = client_credentials_token(server, client)
    backend = BearerAuthBackend(verifier_for(server))
    connection = HTTPConnection(
        {"type": "http", "headers": [(b"authorization", b"Bearer " + token.encode())]}
    )

    result = run_async(backend.authenticate, connection)

    assert result is not None
    credentials, user = result
    assert credentials.scopes == ["profile", "email"]
    assert isinstance(user, AuthenticatedUser)
    assert user.access_token.client_id == client.client_id

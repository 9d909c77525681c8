"""The MCP Python SDK accepts our verifier as its `TokenVerifier` (mcp.server.auth.provider).

RFC 9068 §4 (the token is verified before the SDK sees it) and the SDK's bearer middleware
(RFC 6750 §2.1 header). The MCP server is a registered resource with scopes of its own; its
tokens come from the client credentials grant with `resource` (RFC 8707 §2), so their `aud`
is the server and their scope its own.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest
import requests
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken, TokenVerifier
from starlette.requests import HTTPConnection

from idp.oauth.resources import create_resource
from idp.resource import McpTokenVerifier, ResourceServer

RESOURCE = "https://mcp.example.com/mcp"
SCOPES = ["notes:read", "notes:write"]


@pytest.fixture
def token(server, make_client) -> tuple[str, str]:
    """(client_id, an access token for the MCP server holding its own scopes)."""
    with server.app.app_context():
        create_resource(RESOURCE, "Notes", dict.fromkeys(SCOPES, ""))
    client = make_client(grant_types=["client_credentials"], redirect_uris=[], scopes=SCOPES)
    response = requests.post(
        server.url + "/token",
        data={"grant_type": "client_credentials", "scope": " ".join(SCOPES), "resource": RESOURCE},
        auth=(client.client_id, client.client_secret),
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return client.client_id, response.json()["access_token"]


def run_async(function: Any, *args: Any) -> Any:
    """Run a coroutine function to completion in a thread of its own: the browser tests'
    Playwright keeps an event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, function, *args).result(timeout=30)


def verifier_for(server) -> McpTokenVerifier:
    return McpTokenVerifier(ResourceServer(server.url, RESOURCE, SCOPES[:1]))


def test_verify_token_returns_the_sdks_access_token(server, token):
    client_id, token = token
    verifier: TokenVerifier = verifier_for(server)  # satisfies the SDK's protocol (mypy)

    access = run_async(verifier.verify_token, token)

    assert isinstance(access, AccessToken)
    assert access.token == token
    assert access.client_id == client_id
    assert access.scopes == SCOPES
    assert access.subject == client_id
    assert access.resource == RESOURCE
    assert access.claims is not None and access.claims["iss"] == server.url
    assert access.expires_at == access.claims["exp"]


def test_a_refused_token_is_none(server):
    assert run_async(verifier_for(server).verify_token, "not-a-jwt") is None


def test_the_sdks_bearer_backend_authenticates_with_it(server, token):
    client_id, token = token
    backend = BearerAuthBackend(verifier_for(server))
    connection = HTTPConnection(
        {"type": "http", "headers": [(b"authorization", b"Bearer " + token.encode())]}
    )

    result = run_async(backend.authenticate, connection)

    assert result is not None
    credentials, user = result
    assert credentials.scopes == SCOPES
    assert isinstance(user, AuthenticatedUser)
    assert user.access_token.client_id == client_id

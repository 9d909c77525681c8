"""The official MCP Python SDK, unpatched, against an MCP server protected by this provider.

What the SDK's client does on its own, and what is checked:
- finds the authorization server from the MCP server's 401 and its protected resource
  metadata (RFC 9728 §5.1 `resource_metadata`, §3 metadata) and our RFC 8414 metadata;
- registers itself (RFC 7591 §3.2.1: a public client with a loopback redirect URI) with the
  MCP server's own scopes, those of its metadata (`notes:read`), which the provider accepts
  because the MCP server is a registered resource (RFC 8707);
- authorizes with PKCE S256 and `resource` (RFC 7636, RFC 8707 §2) through a person signing in
  and consenting in Chromium, checks `iss` (RFC 9207 §2.4), exchanges the code;
- lists the tools and calls one;
- or, given the URL of its client metadata document, uses it as client_id and registers
  nothing (MCP authorization 2025-11-25 "Client ID Metadata Documents"); the provider fetches
  the document and the consent page says where the app is identified;
- a tool needing one more scope answers 403 insufficient_scope with the scope (RFC 6750 §3.1,
  MCP authorization 2025-11-25 "Scope Challenge Handling"); the SDK asks again for the union
  of scopes, the person consents without signing in again, and the call goes through.
"""

from __future__ import annotations

import queue
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from sqlalchemy import select

from idp.db import db
from idp.oauth.models import Client as StoredClient
from tests.mcp.conftest import (
    Loopback,
    Person,
    document_client_settings,
    next_authorization_url,
    publish_client_document,
)
from tests.oauth.conftest import query_of
from tests.oauth.issued import claims_of

pytestmark = pytest.mark.browser


class MemoryStorage:
    """The SDK's TokenStorage, kept in memory (a CLI would write it to disk)."""

    def __init__(self) -> None:
        self.tokens: list[OAuthToken] = []
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens[-1] if self.tokens else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def oauth_provider(
    mcp_url: str,
    loopback: Loopback,
    urls: queue.Queue[str],
    storage: MemoryStorage,
    client_metadata_url: str | None = None,
) -> OAuthClientProvider:
    """The SDK's OAuth client: the redirect handler hands the URL to the person at the
    browser; the callback handler waits for the response at the loopback redirect URI.
    With `client_metadata_url` the SDK uses that URL as its client_id instead of
    registering, when the provider advertises `client_id_metadata_document_supported`."""

    async def redirect_handler(url: str) -> None:
        urls.put(url)

    async def callback_handler() -> AuthorizationCodeResult:
        response = await anyio.to_thread.run_sync(loopback.next_response)
        assert "code" in response, f"the authorization was refused: {response}"
        return AuthorizationCodeResult(
            code=response["code"], state=response.get("state"), iss=response.get("iss")
        )

    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Notes CLI",
            redirect_uris=[loopback.redirect_uri],  # type: ignore[list-item]
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )


async def use_notes(mcp_url: str, auth: OAuthClientProvider) -> dict[str, Any]:
    """What an MCP host does: connect, list the tools, call them."""
    async with (
        httpx2.AsyncClient(auth=auth, timeout=60) as http,
        Client(streamable_http_client(mcp_url, http_client=http)) as client,
    ):
        tools = await client.list_tools()
        notes = await client.call_tool("read_notes", {})
        written = await client.call_tool("write_note", {"text": "buy milk"})
    return {
        "tools": sorted(tool.name for tool in tools.tools),
        "read_notes": (notes.is_error, notes.content[0].text),  # type: ignore[union-attr]
        "write_note": (written.is_error, written.content[0].text),  # type: ignore[union-attr]
    }


def used_notes(user_id: int) -> dict[str, Any]:
    """What `use_notes` reports once both tools ran for the person `user_id`."""
    return {
        "tools": ["read_notes", "write_note"],
        "read_notes": (False, f"notes of {user_id}"),
        "write_note": (False, f"saved 'buy milk' for {user_id} with notes:read notes:write"),
    }


def assert_stepped_up(storage: MemoryStorage) -> None:
    """The first token holds the endpoint's scope; the last one the tool's as well."""
    first, last = storage.tokens[0], storage.tokens[-1]
    assert set((first.scope or "").split()) == {"notes:read"}  # cut to the resource's
    assert set((last.scope or "").split()) == {"notes:read", "notes:write"}


def ended(client: Future[Any]) -> bool:
    if client.done():
        client.result()  # raises the client's error
    return client.done()


def start(function: Any, *args: Any) -> Future[Any]:
    """Run a coroutine function in a thread of its own (Playwright holds the main thread)."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(anyio.run, function, *args)
    pool.shutdown(wait=False)
    return future


def test_sdk_registers_authorizes_calls_and_steps_up(
    server, mcp_server, loopback, person: Person, make_user
):
    user_id = make_user("ada@example.com")
    storage, urls = MemoryStorage(), queue.Queue[str]()
    client = start(
        use_notes, mcp_server.url, oauth_provider(mcp_server.url, loopback, urls, storage)
    )

    first = next_authorization_url(urls, lambda: ended(client))
    person.authorize(first, expect_sign_in=True)
    second = next_authorization_url(urls, lambda: ended(client))
    person.authorize(second, expect_sign_in=False)  # the same browser session: consent only
    result = client.result(timeout=60)

    assert result == used_notes(user_id)
    # RFC 7591 §3.2.1: registered once, as a public client with the loopback redirect URI
    # and the scopes of the MCP server's metadata.
    assert storage.client is not None and storage.client.token_endpoint_auth_method == "none"
    with server.app.app_context():
        stored = db.session.scalar(
            select(StoredClient).filter_by(client_id=storage.client.client_id)
        )
        assert stored is not None and stored.dynamic
        assert stored.redirect_uris == [loopback.redirect_uri]
        assert stored.scope == "notes:read offline_access"
    # Both requests: PKCE S256 and the MCP server as `resource` (RFC 8707 §2); the step-up
    # asks for what was granted plus the scope named in the challenge.
    first_query, second_query = query_of(first), query_of(second)
    for query in (first_query, second_query):
        assert query["code_challenge_method"] == "S256"
        assert query["resource"] == mcp_server.url
        assert query["client_id"] == storage.client.client_id
    assert first_query["scope"].split() == ["notes:read", "offline_access"]
    assert set(second_query["scope"].split()) == {"notes:read", "offline_access", "notes:write"}
    assert ["Change your notes" in seen for seen in person.seen] == [False, True]
    assert_stepped_up(storage)
    claims = claims_of(server, storage.tokens[-1].access_token)
    assert claims["sub"] == str(user_id)
    assert claims["client_id"] == storage.client.client_id
    assert claims["aud"] == mcp_server.url  # RFC 8707 §2, RFC 9068 §3
    assert claims["scope"] == "notes:read notes:write"  # cut to what the resource accepts


@document_client_settings
def test_sdk_uses_a_client_metadata_document_instead_of_registering(
    server, mcp_server, loopback, person: Person, make_user, document_server
):
    """MCP authorization 2025-11-25 "Client ID Metadata Documents": the client's https URL is
    its client_id; the provider fetches the document at that URL and checks the redirect URI
    against it (the draft §4.1, §6.1); nothing is registered (RFC 7591 is not used). The
    document lists the MCP server's own scopes; the step-up to `notes:write` works as for a
    registered client (RFC 6750 §3.1, "Scope Challenge Handling")."""
    user_id = make_user("ada@example.com")
    document_url = publish_client_document(document_server, "Notes CLI", loopback.redirect_uri)
    storage, urls = MemoryStorage(), queue.Queue[str]()
    provider = oauth_provider(mcp_server.url, loopback, urls, storage, document_url)
    client = start(use_notes, mcp_server.url, provider)

    authorization = next_authorization_url(urls, lambda: ended(client))
    person.authorize(authorization, expect_sign_in=True)
    second = next_authorization_url(urls, lambda: ended(client))  # the step-up
    person.authorize(second, expect_sign_in=False)
    result = client.result(timeout=60)

    assert result == used_notes(user_id)
    assert storage.client is not None and storage.client.client_id == document_url
    for query in (query_of(authorization), query_of(second)):
        assert query["client_id"] == document_url
        assert query["code_challenge_method"] == "S256"
        assert query["resource"] == mcp_server.url  # RFC 8707 §2
        assert query["redirect_uri"] == loopback.redirect_uri
    assert "notes:write" in query_of(second)["scope"].split()
    # The consent page says where the app is identified, and where the answer goes.
    for introduced in person.introduced:
        assert "This app is identified by a metadata document at 127.0.0.1." in introduced
        assert f"you will be sent to {urlsplit(loopback.redirect_uri).netloc}." in introduced
    # The provider fetched the document once and kept it per its Cache-Control (the draft
    # §4.4); the client it knows is the document's, not a registered one.
    assert document_server.hits["/notes-cli/client.json"] == 1
    with server.app.app_context():
        clients = db.session.scalars(select(StoredClient)).all()
        assert [(c.client_id, c.name, c.dynamic) for c in clients] == [
            (document_url, "Notes CLI", False)
        ]
        assert clients[0].redirect_uris == [loopback.redirect_uri]
        assert clients[0].scope == "notes:read notes:write"
    assert_stepped_up(storage)
    claims = claims_of(server, storage.tokens[-1].access_token)
    assert claims["sub"] == str(user_id)
    assert claims["client_id"] == document_url
    assert claims["aud"] == mcp_server.url  # RFC 8707 §2, RFC 9068 §3
    assert claims["scope"] == "notes:read notes:write"  # cut to what the resource accepts

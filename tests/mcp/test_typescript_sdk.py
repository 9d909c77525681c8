"""The official MCP TypeScript SDK's client, unpatched, against the same protected MCP server.

tests/node/mcp-client.mjs runs the SDK's `Client` over `StreamableHTTPClientTransport` with an
in-memory `OAuthClientProvider` and its own loopback redirect URI (RFC 8252 §7.3), as a
command-line MCP host does. It prints each authorization URL; here a person signs in and
consents in Chromium. Checked: discovery from the 401 (RFC 9728 §5.1), registration as a
public client (RFC 7591 §3.2.1), PKCE S256 and `resource` (RFC 7636, RFC 8707 §2), `iss` in
the response (RFC 9207 §2.4), a tool call, and the step-up after 403 insufficient_scope
(RFC 6750 §3.1, MCP authorization 2025-11-25 "Scope Challenge Handling") with consent only.
Given the URL of its client metadata document, the SDK uses it as client_id and registers
nothing (MCP authorization 2025-11-25 "Client ID Metadata Documents").

Without Node 20+ the test is skipped, except on CI (`CI=true`), where that is a failure.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from typing import Any

import pytest
from sqlalchemy import select

from idp.db import db
from idp.oauth.models import Client as StoredClient
from tests.mcp.conftest import (
    Person,
    document_client_settings,
    next_authorization_url,
    publish_client_document,
)
from tests.oauth.conftest import query_of
from tests.oauth.issued import claims_of
from tests.oauth.test_oauth4webapi import NODE_DIR, install_dependencies, node

pytestmark = pytest.mark.browser
SCRIPT = NODE_DIR / "mcp-client.mjs"


def assert_used_notes(result: dict[str, Any], user_id: int) -> None:
    """Both tools ran for the person `user_id`, the second after the step-up."""
    assert result["read_notes"] == {"isError": False, "text": f"notes of {user_id}"}
    assert result["write_note"] == {
        "isError": False,
        "text": f"saved 'buy milk' for {user_id} with notes:read notes:write",
    }


class NodeClient:
    """mcp-client.mjs in a subprocess; its stdout lines sorted into URLs and the result."""

    def __init__(self, *args: str) -> None:
        # Only the provider fetches a client metadata document: Node trusts nothing extra.
        environment = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
        self.process = subprocess.Popen(
            [node(), str(SCRIPT), *args],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.urls: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        self.result: dict[str, Any] | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            message = json.loads(line)
            if "authorize" in message:
                self.urls.put(message["authorize"])
            else:
                self.result = message["result"]

    def ended(self) -> bool:
        if self.process.poll() is None:
            return False
        self._reader.join(timeout=5)
        assert self.process.returncode == 0, self.failure()
        return True

    def finish(self, timeout: float = 60) -> dict[str, Any]:
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        assert self.process.returncode == 0 and self.result is not None, self.failure()
        return self.result

    def failure(self) -> str:
        assert self.process.stderr is not None
        return (
            f"exit {self.process.returncode}\n{self.process.stderr.read()}\n{''.join(self.lines)}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def test_typescript_sdk_registers_authorizes_calls_and_steps_up(
    server, mcp_server, person: Person, make_user
):
    install_dependencies()
    user_id = make_user("ada@example.com")
    client = NodeClient(mcp_server.url, server.url)
    try:
        first = next_authorization_url(client.urls, client.ended)
        person.authorize(first, expect_sign_in=True)
        second = next_authorization_url(client.urls, client.ended)
        person.authorize(second, expect_sign_in=False)  # the same browser session: consent only
        result = client.finish()
    finally:
        client.stop()

    assert result["tools"] == ["read_notes", "write_note"]
    assert_used_notes(result, user_id)
    registered = result["client"]
    assert registered["token_endpoint_auth_method"] == "none"
    with server.app.app_context():
        stored = db.session.scalar(
            select(StoredClient).filter_by(client_id=registered["client_id"])
        )
        assert stored is not None and stored.dynamic
        assert stored.redirect_uris == registered["redirect_uris"]
    assert result["authorization_urls"] == [first, second]
    first_query, second_query = query_of(first), query_of(second)
    for query in (first_query, second_query):
        assert query["code_challenge_method"] == "S256"
        assert query["resource"] == mcp_server.url
        assert query["client_id"] == registered["client_id"]
    # The first request takes the scopes of the resource metadata; the step-up those the
    # challenge names: the granted one and the one the tool needs.
    assert first_query["scope"] == "notes:read"
    assert second_query["scope"].split() == ["notes:read", "notes:write"]
    # The step-up's consent page asks only for the scope not yet allowed.
    assert person.seen == ["Read your notes", "Change your notes"]
    tokens = result["tokens"]
    assert [set(token["scope"].split()) for token in tokens] == [
        {"notes:read"},
        {"notes:read", "notes:write"},
    ]
    claims = claims_of(server, tokens[-1]["access_token"])
    assert claims["sub"] == str(user_id)
    assert claims["client_id"] == registered["client_id"]
    assert claims["aud"] == mcp_server.url  # RFC 8707 §2, RFC 9068 §3


@document_client_settings
def test_typescript_sdk_uses_a_client_metadata_document_instead_of_registering(
    server, mcp_server, person: Person, make_user, document_server
):
    """MCP authorization 2025-11-25 "Client ID Metadata Documents": the SDK's
    `clientMetadataUrl` is its client_id; the document lists the loopback redirect URI without
    a port, as a published document of a command-line client must (RFC 8252 §7.3: the port
    is chosen at run time and may vary); the provider fetches it, nothing is registered."""
    install_dependencies()
    user_id = make_user("ada@example.com")
    document_url = publish_client_document(
        document_server, "Notes CLI (TypeScript)", "http://127.0.0.1/callback"
    )
    client = NodeClient(mcp_server.url, server.url, document_url)
    try:
        authorization = next_authorization_url(client.urls, client.ended)
        person.authorize(authorization, expect_sign_in=True)
        second = next_authorization_url(client.urls, client.ended)  # the step-up
        person.authorize(second, expect_sign_in=False)
        result = client.finish()
    finally:
        client.stop()

    assert_used_notes(result, user_id)
    assert result["client"] == {"client_id": document_url}  # no registration response
    for query in (query_of(authorization), query_of(second)):
        assert query["client_id"] == document_url
        assert query["code_challenge_method"] == "S256"
        assert query["resource"] == mcp_server.url  # RFC 8707 §2
        assert query["redirect_uri"].startswith("http://127.0.0.1:")
    for introduced in person.introduced:
        assert "This app is identified by a metadata document at 127.0.0.1." in introduced
    # Fetched once and kept per its Cache-Control (the draft §4.4); the only client the
    # provider knows is the document's.
    assert document_server.hits["/notes-cli/client.json"] == 1
    with server.app.app_context():
        clients = db.session.scalars(select(StoredClient)).all()
        assert [(c.client_id, c.name, c.dynamic) for c in clients] == [
            (document_url, "Notes CLI (TypeScript)", False)
        ]
    tokens = result["tokens"]
    assert [set(token["scope"].split()) for token in tokens] == [
        {"notes:read"},
        {"notes:read", "notes:write"},
    ]
    claims = claims_of(server, tokens[-1]["access_token"])
    assert claims["sub"] == str(user_id)
    assert claims["client_id"] == document_url
    assert claims["aud"] == mcp_server.url  # RFC 8707 §2, RFC 9068 §3

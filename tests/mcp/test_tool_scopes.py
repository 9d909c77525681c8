"""`ToolScopes` in front of the SDK's MCP endpoint, spoken to over plain HTTP.

RFC 6750 §3 and §3.1 (no error without a token; `invalid_token` 401; `insufficient_scope` 403
with the `scope` attribute), RFC 9728 §5.1 (`resource_metadata` in the challenge), MCP
authorization 2025-11-25 "Scope Challenge Handling" (the challenge names the scopes held and
those missing). A refused call never reaches the tool.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.oauth.issued import issue

ACCEPT = "application/json, text/event-stream"


def rpc(url: str, token: str | None, method: str, params: Any = None, **headers: str) -> Any:
    headers = {"Accept": ACCEPT, "MCP-Protocol-Version": "2025-11-25", **headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    return requests.post(url, json=body, headers=headers, timeout=10)


def result_of(response: requests.Response) -> Any:
    """The JSON-RPC message of a JSON or one-event SSE answer."""
    text = response.text
    if response.headers["Content-Type"].startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)


def session(url: str, token: str) -> str:
    """An initialized MCP session (the handshake of MCP 2025-11-25)."""
    hello = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "plain-http", "version": "1"},
    }
    response = rpc(url, token, "initialize", hello)
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    headers = {
        "Accept": ACCEPT,
        "Authorization": f"Bearer {token}",
        "Mcp-Session-Id": session_id,
        "MCP-Protocol-Version": "2025-11-25",
    }
    assert requests.post(url, json=note, headers=headers, timeout=10).status_code == 202
    return session_id


@pytest.fixture
def token_for(server, browser, make_user, make_client, mcp_server):
    make_user("ada@example.com")
    client = make_client()

    def token(scope: str) -> str:
        return issue(server, browser, client, scope=scope, resource=mcp_server.url)["access_token"]

    return token


def test_a_tool_needing_a_missing_scope_is_refused_with_the_scopes_to_ask_for(
    server, mcp_server, token_for
):
    token = token_for("notes:read")
    session_id = session(mcp_server.url, token)

    response = rpc(
        mcp_server.url,
        token,
        "tools/call",
        {"name": "write_note", "arguments": {"text": "buy milk"}},
        **{"Mcp-Session-Id": session_id},
    )

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="notes:read notes:write"' in challenge  # held, then missing
    metadata = mcp_server.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    assert f'resource_metadata="{metadata}"' in challenge
    assert response.headers["Cache-Control"] == "no-store"
    # The same session may still use the tools its token covers.
    allowed = rpc(
        mcp_server.url,
        token,
        "tools/call",
        {"name": "read_notes", "arguments": {}},
        **{"Mcp-Session-Id": session_id},
    )
    assert allowed.status_code == 200
    assert not result_of(allowed)["result"].get("isError")


def test_a_token_holding_the_scope_reaches_the_tool(server, mcp_server, token_for):
    token = token_for("notes:read notes:write")
    session_id = session(mcp_server.url, token)

    response = rpc(
        mcp_server.url,
        token,
        "tools/call",
        {"name": "write_note", "arguments": {"text": "buy milk"}},
        **{"Mcp-Session-Id": session_id},
    )

    assert response.status_code == 200
    text = result_of(response)["result"]["content"][0]["text"]
    assert text.startswith("saved 'buy milk' for ")


@pytest.mark.parametrize(
    ("authorization", "status", "error"),
    [(None, 401, None), ("Bearer not-a-jwt", 401, "invalid_token"), ("Basic YTpi", 401, None)],
    ids=["no token", "not a JWT", "another scheme"],
)
def test_a_call_without_a_valid_token_is_refused(mcp_server, authorization, status, error):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.post(
        mcp_server.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "write_note"}},
        headers={"Accept": ACCEPT, **headers},
        timeout=10,
    )

    assert response.status_code == status
    assert "resource_metadata=" in response.headers["WWW-Authenticate"]
    assert ("error=" in response.headers["WWW-Authenticate"]) == (error is not None)


def test_a_listed_tool_called_with_an_oversized_body_is_refused(mcp_server, token_for):
    token = token_for("notes:read notes:write")
    body = json.dumps(
        {"method": "tools/call", "params": {"name": "write_note"}, "pad": "x" * (5 << 20)}
    )

    response = requests.post(
        mcp_server.url,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == 413
    assert response.json() == {"error": "request_too_large"}

"""The MCP server the SDK tests connect to: the SDK's `MCPServer` over streamable HTTP, its
tokens checked by `idp.resource`, served by uvicorn on 127.0.0.1 in a thread of its own.

`notes_server` is the README's "Protect an MCP server" example, run as written: the SDK
serves the RFC 9728 metadata naming our provider and answers 401 with its URL; the
`read_notes` tool needs the server's own `notes:read` (every call to the endpoint does),
`write_note` also needs `notes:write`, answered 403 insufficient_scope with that scope by
`ToolScopes`.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp

from idp.resource import McpTokenVerifier, ResourceServer, ToolScopes

BASE_SCOPES = ["notes:read"]
TOOL_SCOPES = {"write_note": ["notes:write"]}


def notes_server(issuer: str, resource: str) -> ASGIApp:
    """The MCP app for `resource` (its URL, ending in /mcp, registered with the provider)
    trusting `issuer`: only tokens whose `aud` is `resource` are accepted (RFC 8707)."""
    api = ResourceServer(
        issuer,
        resource,
        BASE_SCOPES + [s for scopes in TOOL_SCOPES.values() for s in scopes],
    )
    mcp = MCPServer(
        "Notes",
        token_verifier=McpTokenVerifier(api),
        auth=AuthSettings(
            issuer_url=issuer,
            resource_server_url=resource,
            required_scopes=BASE_SCOPES,
            validate_token_resource=True,  # the SDK checks the audience too
        ),
    )

    @mcp.tool()
    def read_notes() -> str:
        """The signed-in person's notes."""
        token = get_access_token()
        assert token is not None  # the SDK's bearer check ran before any tool
        return f"notes of {token.subject}"

    @mcp.tool()
    def write_note(text: str) -> str:
        """Add a note (needs the `notes:write` scope)."""
        token = get_access_token()
        assert token is not None
        return f"saved {text!r} for {token.subject} with {' '.join(sorted(token.scopes))}"

    return ToolScopes(mcp.streamable_http_app(), api, TOOL_SCOPES)


class McpServerThread:
    """uvicorn serving `notes_server` on 127.0.0.1, on a port it bound itself."""

    def __init__(self, issuer: str) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/mcp"
        app = notes_server(issuer, self.url)
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the MCP server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

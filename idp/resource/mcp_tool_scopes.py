"""Per-tool scopes for an MCP server: an ASGI middleware in front of the MCP endpoint.

    app = ToolScopes(mcp.streamable_http_app(), api, {"send_message": ["messages:write"]})

A `tools/call` of a listed tool goes through only when the bearer token holds that tool's
scopes. Otherwise the answer is RFC 6750 §3.1 `403 insufficient_scope` with the scopes in the
challenge (those it has and those it lacks), which MCP clients take as the cue to ask the
user again for the added scope (MCP authorization 2025-11-25, "Scope Challenge Handling").
Everything else passes untouched, so the SDK's own bearer check still guards the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from idp.resource.verifier import BearerError, IssuerUnavailable, ResourceServer

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 4 << 20  # bytes of a request body read to find the tool's name

Refusal = tuple[int, Mapping[str, str], Mapping[str, str]]


class ToolScopes:
    """Checks the scopes a tool needs before the MCP server runs it."""

    def __init__(
        self, app: ASGIApp, server: ResourceServer, tools: Mapping[str, Sequence[str]]
    ) -> None:
        self.app = app
        self.server = server
        self.tools = {name: tuple(scopes) for name, scopes in tools.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await _send_json(send, 413, {"error": "request_too_large"}, {})
            return
        needed = self.scopes_for(body)
        if needed:
            refusal = await self._refusal(_bearer_token(scope), needed)
            if refusal is not None:
                await _send_json(send, *refusal)
                return
        await self.app(scope, _replay(body, receive), send)

    def scopes_for(self, body: bytes) -> tuple[str, ...]:
        """The scopes the tools called in this JSON-RPC body need (none for anything else)."""
        try:
            parsed = json.loads(body)
        except ValueError:
            return ()  # not ours to answer: the MCP server reports the parse error
        messages = parsed if isinstance(parsed, list) else [parsed]
        needed: list[str] = []
        for message in messages:
            if not isinstance(message, dict) or message.get("method") != "tools/call":
                continue
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str):
                needed += [s for s in self.tools.get(name, ()) if s not in needed]
        return tuple(needed)

    async def _refusal(self, token: str, needed: tuple[str, ...]) -> Refusal | None:
        """Status, JSON body and headers refusing the call, or None when the token will do."""
        import anyio.to_thread

        try:
            await anyio.to_thread.run_sync(self.check, token, needed)
        except BearerError as error:
            headers = {"www-authenticate": error.www_authenticate(), "cache-control": "no-store"}
            return error.status, error.body(), headers
        except IssuerUnavailable:
            return 503, {"error": "temporarily_unavailable"}, {}
        return None

    def check(self, token: str, needed: tuple[str, ...]) -> None:
        """Raise BearerError unless `token` is valid and holds `needed`.

        The challenge names the scopes the token has plus those it lacks: a client asking
        for exactly that keeps what it was granted (MCP authorization 2025-11-25, "Scope
        Challenge Handling": existing scopes and the newly required ones)."""
        claims = self.server.verify(token)
        missing = [scope for scope in needed if scope not in claims.scopes]
        if missing:
            raise self.server.error(
                "insufficient_scope",
                "The token lacks a scope this tool needs.",
                [*claims.scopes, *missing],
            )


def _bearer_token(scope: Scope) -> str:
    """The token of an `Authorization: Bearer` header (RFC 6750 §2.1), or "" when none."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" else ""
    return ""


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it is larger than MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the client's later events."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _send_json(
    send: Send, status: int, body: Mapping[str, str], headers: Mapping[str, str]
) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(name.encode(), value.encode("latin-1")) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})

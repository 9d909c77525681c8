"""The MCP Python SDK's `TokenVerifier` (mcp.server.auth.provider) over `ResourceServer`.

    FastMCP(..., token_verifier=McpTokenVerifier(api), auth=AuthSettings(...))

`mcp` (and anyio, which it brings) is imported only when a token is verified, so nothing
else in idp.resource needs the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.resource.verifier import BearerError, Claims, ResourceServer

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken


class McpTokenVerifier:
    """Verifies on a worker thread (key fetches block); a refused token is None."""

    def __init__(self, server: ResourceServer) -> None:
        self.server = server

    async def verify_token(self, token: str) -> AccessToken | None:
        import anyio.to_thread

        try:
            claims: Claims = await anyio.to_thread.run_sync(self.server.verify, token)
        except BearerError:
            return None
        return self.access_token(token, claims)

    def access_token(self, token: str, claims: Claims) -> AccessToken:
        from mcp.server.auth.provider import AccessToken

        # The SDK compares `resource` with its resource_server_url: name the audience that
        # matched, so a token accepted only through the issuer audience is not passed off
        # as one issued for this resource.
        resource = self.server.resource
        if resource not in claims.audience:
            resource = self.server.issuer
        return AccessToken(
            token=token,
            client_id=claims.client_id,
            scopes=list(claims.scopes),
            expires_at=claims.expires_at,
            resource=resource,
            subject=claims.sub,
            claims=dict(claims.raw),
        )

"""Protecting an API or MCP server with this provider's access tokens (RFC 9068, RFC 9728).

Standalone: nothing here imports the provider's app, database or settings, so a resource
server in another process only needs this package, Flask (for `require`) and, for the MCP
adapter, the `mcp` SDK.
"""

from idp.resource.flask_views import bearer_token, require, serve_metadata
from idp.resource.mcp_adapter import McpTokenVerifier
from idp.resource.mcp_tool_scopes import ToolScopes
from idp.resource.verifier import BearerError, Claims, IssuerUnavailable, ResourceServer

__all__ = [
    "BearerError",
    "Claims",
    "IssuerUnavailable",
    "McpTokenVerifier",
    "ResourceServer",
    "ToolScopes",
    "bearer_token",
    "require",
    "serve_metadata",
]

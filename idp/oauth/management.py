"""The management API (/api) as a built-in protected resource (RFC 8707): its URI, the
audience of the access tokens it accepts, is `{issuer}/api`, and its scopes are the
permissions of the management API, one read and one write scope per noun.

A client gets such a token with the client_credentials grant, naming the resource:
`grant_type=client_credentials&resource={issuer}/api&scope=admin:clients:read`, if it is
registered with those scopes. API keys (idp.api.keys) hold the same permissions. The scopes
appear in discovery's `scopes_supported` through idp.oauth.resources.valid_scopes.

Adding a noun is adding its two scopes here.
"""

from __future__ import annotations

PATH = "/api"
NAME = "Management API"

SCOPES: dict[str, str] = {
    "admin:clients:read": "List and read OAuth clients",
    "admin:clients:write": "Create, change, disable and delete OAuth clients",
    "admin:resources:read": "List and read protected resources",
    "admin:resources:write": "Create, change and delete protected resources",
    "admin:keys:read": "List signing keys",
    "admin:keys:write": "Rotate signing keys",
    "admin:api_keys:read": "List API keys",
    "admin:api_keys:write": "Create and revoke API keys",
    "admin:people:read": "List, search and read people",
    "admin:people:write": "Create people; ban, unban, set the admin role, end sessions, "
    "send a password reset",
    "admin:organizations:read": "List and read organizations, their members, invitations, "
    "roles and teams",
    "admin:organizations:write": "Create, change and delete organizations, their members, "
    "invitations, roles and teams",
    "admin:audit:read": "Read and export the audit log",
}


def management_uri(issuer: str) -> str:
    """The management API's resource URI: the audience of its access tokens."""
    return issuer.rstrip("/") + PATH

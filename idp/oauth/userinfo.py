"""The UserInfo endpoint's rules (OpenID Connect Core §5.3), with errors per RFC 6750 §3.

The token is one of our JWT access tokens, verified by `TokenService`; its family must be live
(not revoked) and belong to a user who still exists; its audience must include this provider
(RFC 9068 §4, RFC 8707 §2: a token for an API or MCP server is not good here), and it must
hold `openid`, else 403 insufficient_scope. `claims_for` returns the claims or a `Refusal` the
web layer turns into a `WWW-Authenticate: Bearer` challenge; reading the token from the
request is the web layer's.

Authlib's `authlib.oidc.core.UserInfoEndpoint` is not used: it takes the token from a
`ResourceProtector`, which reads only the Authorization header (we also accept the form body,
RFC 6750 §2.2), answers a request without a token with an `error` code where RFC 6750 §3.1 wants
none, and has no notion of a token family revoked after the JWT was signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.oauth.families import FamilyState, UserClaims, family_with_user
from idp.oauth.organizations import claims as organization_claims
from idp.oauth.scopes import user_claims
from idp.oauth.tokens import TokenService

REALM = "userinfo"


@dataclass(frozen=True)
class Refusal:
    """An RFC 6750 §3 error: no `error` when the request carried no token (§3.1)."""

    status: int
    error: str | None = None
    description: str = ""
    scope: str = ""

    def challenge(self) -> dict[str, str]:
        """The parameters of the `WWW-Authenticate: Bearer` challenge, in order."""
        params = {"realm": REALM}
        if self.error:
            params["error"] = self.error
        if self.description:
            params["error_description"] = self.description
        if self.scope:
            params["scope"] = self.scope
        return params

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description} if self.error else {}


INVALID = Refusal(401, "invalid_token", "The access token is invalid, expired or revoked.")
ANOTHER_AUDIENCE = Refusal(
    401, "invalid_token", "The access token is for another resource, not for this provider."
)


def claims_for(tokens: TokenService, token: str | None) -> dict[str, Any] | Refusal:
    """The user's claims for the scopes of `token` (Core §5.3.2), or why not."""
    if not token:
        return Refusal(401)
    claims = tokens.verify(token)
    found = live_family(claims)
    if claims is None or found is None or found[0].user_id is None:
        return INVALID
    family, user = found
    if not for_issuer(claims, tokens.issuer):
        return ANOTHER_AUDIENCE
    scopes = claims.get("scope", "").split()
    if "openid" not in scopes:
        return Refusal(
            403, "insufficient_scope", "The access token lacks the openid scope.", "openid"
        )
    if user is None:
        return Refusal(401, "invalid_token", "The user no longer exists.")
    # Core §5.5: also the claims the authorization request asked of userinfo by name.
    claims = user_claims(user, scopes, (family.claims or {}).get("userinfo"))
    # The organization of the grant, while the person is still a member of it.
    return claims | organization_claims(user.id, family.organization_id, " ".join(scopes))


def for_issuer(claims: dict[str, Any], issuer: str) -> bool:
    """RFC 9068 §4: the audience must include us; a token asked for without `resource` has
    the issuer as its audience (RFC 8707 §2)."""
    audience = claims.get("aud")
    return audience == issuer or (isinstance(audience, list) and issuer in audience)


def live_family(claims: dict[str, Any] | None) -> tuple[FamilyState, UserClaims | None] | None:
    """The token family of a verified access token, unless it was revoked, with its user
    (None once deleted), read in one statement."""
    if claims is None:
        return None
    family_id = str(claims.get("jti", "")).split(".", 1)[0]
    found = family_with_user(family_id) if family_id else None
    if found is None or found[0].revoked_at is not None:
        return None
    return found

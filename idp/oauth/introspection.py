"""Token introspection (RFC 7662) and the lookup of a presented token it shares with
revocation (RFC 7009).

Access tokens are JWTs we signed: a token is found when its signature verifies, and its family
is the part of its `jti` before the first ".". Refresh tokens are found by their SHA-256. A
token is active while it is unexpired, its family is not revoked and, for a refresh token, it
has not been rotated. A client credentials token has no family (its `jti` holds no "."): it
is active while its client exists and its `jti` is not denied (idp.oauth.denylist).

Who may introspect what (RFC 7662 §2.1, §4): the client a token was issued to; the
introspecting client of a resource, for the access tokens whose `aud` includes that resource;
with IDP_INTROSPECTION_ANY_CLIENT, any confidential client, for any token. Public clients
cannot authenticate here at all. A token the caller may not see is `{"active": false}`, as
one that does not exist (RFC 7662 §2.2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2 import rfc7662
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from sqlalchemy import select

from idp.core.security import digest
from idp.db import db, utcnow
from idp.errors import InvalidInput
from idp.identity.models import User
from idp.oauth.client_auth import CONFIDENTIAL_METHODS
from idp.oauth.clients import cached_client
from idp.oauth.denylist import is_denied
from idp.oauth.families import FamilyState, family_state
from idp.oauth.models import Client, RefreshToken, TokenFamily
from idp.oauth.resources import Resource
from idp.oauth.scopes import subject
from idp.oauth.tokens import TokenService
from idp.oauth.wiring import ServerParts

ACCESS_TOKEN = "access_token"  # noqa: S105 (a token type hint)
REFRESH_TOKEN = "refresh_token"  # noqa: S105 (a token type hint)


@dataclass
class PresentedToken:
    """A token found from its string: its kind, its family and what we know of it."""

    kind: str
    family: TokenFamily | FamilyState | None  # FamilyState: an access token's (hot path)
    claims: dict[str, Any] = field(default_factory=dict)  # an access token's JWT claims
    row: RefreshToken | None = None
    standalone: bool = False  # an access token issued without a family (client credentials)

    def check_client(self, client: Client) -> bool:
        if self.standalone:
            return bool(self.claims.get("client_id") == client.client_id)
        return self.family is not None and self.family.client_id == client.id

    def is_expired(self) -> bool:
        if self.row is None:
            return bool(self.claims["exp"] <= time.time())
        now = utcnow()
        return self.row.expires_at <= now or self.row.family.expires_at <= now

    def is_revoked(self) -> bool:
        if self.standalone:
            jti, client_id = str(self.claims.get("jti", "")), str(self.claims.get("client_id"))
            client = cached_client(client_id)
            return is_denied(jti) or client is None or _disabled_since(client, self.claims)
        if self.family is None or self.family.revoked_at is not None:
            return True
        return self.row is not None and self.row.rotated_at is not None


def _disabled_since(client: Client, claims: dict[str, Any]) -> bool:
    """A family-less token of a client disabled now, or since the token was issued."""
    if client.disabled_at is not None:
        return True
    before = client.revoked_before
    return before is not None and float(claims.get("iat", 0)) < before.timestamp()


def find_token(tokens: TokenService, token: str, hint: str | None) -> PresentedToken | None:
    """RFC 7009 §2.1, RFC 7662 §2.1: the hint orders the search; it never limits it."""
    finders = [_access_token, _refresh_token]
    if hint == REFRESH_TOKEN:
        finders.reverse()
    for find in finders:
        found = find(tokens, token)
        if found is not None:
            return found
    return None


def _access_token(tokens: TokenService, token: str) -> PresentedToken | None:
    claims = tokens.verify(token, allow_expired=True)
    if claims is None:
        return None
    jti = str(claims.get("jti", ""))
    if "." not in jti:
        return PresentedToken(ACCESS_TOKEN, None, claims=claims, standalone=bool(jti))
    family = family_state(jti.split(".", 1)[0])
    return PresentedToken(ACCESS_TOKEN, family, claims=claims)


def _refresh_token(tokens: TokenService, token: str) -> PresentedToken | None:
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(token)))
    return PresentedToken(REFRESH_TOKEN, row.family, row=row) if row is not None else None


def may_introspect(client: Client, token: PresentedToken, *, any_client: bool) -> bool:
    """Whether `client`, authenticated, may see `token` (the policy in this module's doc)."""
    if token.check_client(client):
        return True
    if client.is_public:
        return False
    if any_client:
        return True
    return token.kind == ACCESS_TOKEN and _introspects_audience(client, token.claims.get("aud"))


def _introspects_audience(client: Client, audience: Any) -> bool:
    """Whether the client is the introspecting client of a resource in the audience."""
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    found = db.session.scalar(
        select(Resource.id)
        .where(Resource.uri.in_(audiences), Resource.introspection_client_id == client.client_id)
        .limit(1)
    )
    return found is not None


def introspector(client_id: str) -> str:
    """A client that may be a resource's introspecting client: one that exists and
    authenticates (RFC 7662 §2.1); InvalidInput otherwise."""
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        raise InvalidInput(f"No client {client_id!r}.", field="introspection_client")
    if client.is_public:
        raise InvalidInput(
            f"The client {client_id!r} is public; only a confidential client may introspect "
            "tokens.",
            field="introspection_client",
        )
    return client.client_id


def check_params(request: Any) -> None:
    """RFC 7662 §2.1, RFC 7009 §2.1: `token` is required; the hint is a hint, and the server
    MAY ignore it, so an unknown one is ignored rather than refused."""
    if not request.form.get("token"):
        raise InvalidRequestError("The token parameter is required.")


class IntrospectionEndpoint(rfc7662.IntrospectionEndpoint):
    server: ServerParts

    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_METHODS)  # RFC 7662 §2.1: not public clients

    def check_params(self, request: Any, client: Client) -> None:
        check_params(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return find_token(self.server.tokens, token_string, token_type_hint)

    def check_permission(self, token: PresentedToken, client: Client, request: Any) -> bool:
        return may_introspect(
            client, token, any_client=self.server.settings.introspection_any_client
        )

    def introspect_token(self, token: PresentedToken) -> dict[str, Any]:
        """RFC 7662 §2.2."""
        if token.row is None:
            keys = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti")
            body = {key: token.claims[key] for key in keys if key in token.claims}
            return {"active": True, **body, "token_type": "Bearer"}
        family = token.row.family
        user = db.session.get(User, family.user_id) if family.user_id is not None else None
        return {
            "active": True,
            "scope": family.scope,
            "client_id": family.client.client_id,
            "sub": subject(user) if user else family.client.client_id,
            "exp": int(token.row.expires_at.timestamp()),
            "iat": int(token.row.created_at.timestamp()),
            "iss": self.server.issuer,
            "aud": self.server.issuer,  # a refresh token is for this server's token endpoint
            "token_type": REFRESH_TOKEN,
        }

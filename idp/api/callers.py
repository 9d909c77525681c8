"""Who calls the management API: the holder of an API key, or a client with an access token
from the client_credentials grant for the management API's audience (idp.oauth.management).

A token is accepted when we signed it, it is unexpired, its family is not revoked (nor its
client disabled, which revokes them), its audience includes `{issuer}/api` (RFC 8707, RFC 9068
§4) and it was issued to the client itself, not for a person: a person's consent never grants
admin powers. Its permissions are its management scopes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from idp.api.keys import PREFIX, permissions_of, presented_key
from idp.api.models import ApiKey
from idp.core.security import digest
from idp.db import db, utcnow
from idp.identity.actors import ClientActor
from idp.identity.models import User
from idp.oauth.clients import cached_client
from idp.oauth.introspection import ACCESS_TOKEN, find_token
from idp.oauth.management import SCOPES, management_uri
from idp.oauth.tokens import TokenService


@dataclass
class Caller:
    """An authenticated caller and what it may do."""

    permissions: set[str]
    subject: str  # "key:<prefix>" or "client:<client_id>", for audit rows and rate limits
    user: User | None = None  # the key's owner; None for a client
    client: ClientActor | None = None  # the client behind a client-credentials token
    rate_limit: int | None = None  # a key's requests a minute


class Refused(Exception):
    """The credentials are not good for the management API; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def caller_for(secret: str, tokens: TokenService) -> Caller:
    """The caller presenting `secret` (an API key or an access token), or Refused."""
    if secret.startswith(PREFIX):
        return _key_holder(secret)
    return _client(secret, tokens)


def _key_holder(secret: str) -> Caller:
    key = presented_key(secret)
    if key is None:
        raise Refused(_why_unusable(secret))
    return Caller(
        permissions=permissions_of(key),
        subject=f"key:{key.prefix}",
        user=key.user,
        rate_limit=key.rate_limit,
    )


def _why_unusable(secret: str) -> str:
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(secret)))
    if key is None:
        return "The API key is not known here."
    if key.revoked_at is not None:
        return "The API key was revoked."
    assert key.expires_at is not None and key.expires_at <= utcnow()
    return "The API key has expired."


def _client(token: str, tokens: TokenService) -> Caller:
    claims = tokens.verify(token)
    if claims is None:
        raise Refused("The access token is not valid here, or has expired.")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    uri = management_uri(tokens.issuer)
    if uri not in audiences:
        raise Refused(f"The access token is not for the management API ({uri}).")
    found = find_token(tokens, token, ACCESS_TOKEN)
    if found is None or found.is_revoked():
        raise Refused("The access token was revoked.")
    if found.family is not None and found.family.user_id is not None:
        raise Refused("The management API takes client-credentials tokens, not a person's.")
    scopes = str(claims.get("scope", "")).split()
    client_id = str(claims.get("client_id"))
    client = cached_client(client_id)
    return Caller(
        permissions={scope for scope in scopes if scope in SCOPES},
        subject=f"client:{client_id}",
        client=ClientActor(client_id, client.name if client else client_id),
    )

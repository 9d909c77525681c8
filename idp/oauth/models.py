"""Clients, authorization codes, token families, refresh tokens and consents.

Secrets are stored as SHA-256 digests (idp.core.security): client secrets, codes and refresh
tokens are random and long, so a slow KDF would add nothing. Every token issued from one
authorization belongs to one `TokenFamily`; revoking the family ends them all (RFC 6749
§4.1.2 on code replay, RFC 9700 §4.14.2 on refresh-token reuse).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.core.security import digest, same
from idp.db import Model, UTCDateTime, utcnow
from idp.oauth.redirects import matches_registered
from idp.oauth.resources import resource_scopes, valid_scopes
from idp.oauth.scopes import SUPPORTED_SCOPES


class Client(Model):
    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default="")
    auth_method: Mapped[str] = mapped_column(String(40), default="client_secret_basic")
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    logo_uri: Mapped[str | None] = mapped_column(String(2000))
    client_uri: Mapped[str | None] = mapped_column(String(2000))
    first_party: Mapped[bool] = mapped_column(default=False)
    dynamic: Mapped[bool] = mapped_column(default=False)
    registration_token_hash: Mapped[str | None] = mapped_column(String(64))
    access_token_ttl: Mapped[int] = mapped_column(default=3600)
    id_token_ttl: Mapped[int] = mapped_column(default=3600)
    refresh_token_ttl: Mapped[int] = mapped_column(default=30 * 86400)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an admin: the client is then unknown to every endpoint (idp.oauth.server).
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when disabled: access tokens issued before it stay revoked once enabled again (the
    # client credentials grant's tokens have no family to revoke).
    revoked_before: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    # The client interface Authlib calls (authlib.oauth2.rfc6749.ClientMixin).

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 6749 §3.1.2.3: without a redirect_uri, only a single registered one is unambiguous.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    @property
    def chose_its_scope(self) -> bool:
        """Registered by itself (RFC 7591), or described by a metadata document it publishes
        (its client_id is the document's URL; issued client ids never hold "://")."""
        return self.dynamic or "://" in self.client_id

    @property
    def own_scope(self) -> str:
        """The scopes this client may ask for on its own, before any resource's scopes.

        A client that registered itself or publishes its metadata chose its own `scope`
        (RFC 7591 §2), so that list limits nothing an attacker could not register anyway: it
        may ask for any OpenID Connect scope, and the person's consent decides. MCP clients
        depend on it: they register with the scopes of the first challenge and later step up
        to others (MCP authorization 2025-11-25, "Scope Challenge Handling") without
        registering again.

        A registered scope of a resource since deleted is no longer one the client may get.
        """
        if self.chose_its_scope:
            return " ".join(SUPPORTED_SCOPES)
        valid = valid_scopes()
        return " ".join(scope for scope in self.scope.split() if scope in valid)

    def get_allowed_scope(self, scope: str) -> str | None:
        """The requested scope, or None (invalid_scope) if it asks for more than allowed.

        At the authorization endpoint a client may also ask for the scopes of registered
        resources (RFC 8707); the request must then name a resource that accepts them
        (idp.oauth.resources.check_scopes), and the user is asked.
        """
        requested = scope.split() if scope else []
        extra = set(requested) - set(self.own_scope.split())
        if extra and not extra <= resource_scopes():
            return None
        return " ".join(dict.fromkeys(requested))

    def registered_scope(self, scope: str) -> str | None:
        """The requested scope if the client may ask for all of it on its own, else None."""
        requested = scope.split() if scope else []
        if not set(requested) <= set(self.own_scope.split()):
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return matches_registered(redirect_uri, self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_hash is not None and same(digest(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class AuthorizationCode(Model):
    """A code, bound to client, redirect URI, PKCE challenge and the sign-in that made it."""

    __tablename__ = "oauth_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_client.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column()
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(200))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    family_id: Mapped[str | None] = mapped_column(String(64))
    resources: Mapped[list[str]] = mapped_column(JSON, default=list)  # RFC 8707, as authorized
    # The organization chosen at consent (idp.oauth.organizations); deleting it ends the code.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )

    client: Mapped[Client] = relationship()

    # The code interface Authlib calls (authlib.oauth2.rfc6749.AuthorizationCodeMixin).

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class TokenFamily(Model):
    """Every token issued from one grant; revoking the family revokes them all."""

    __tablename__ = "oauth_token_family"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column()
    scope: Mapped[str] = mapped_column(Text)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(200))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    # OpenID Connect Core §5.5: claims the `claims` parameter asked for, by target; userinfo
    # releases the "userinfo" ones, and a refreshed ID token holds the "id_token" ones (§12.2).
    claims: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # RFC 8707: the resources the grant was authorized for; a refresh may narrow, never widen.
    resources: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The organization the grant is for (idp.oauth.organizations); deleting it ends the grant.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )

    client: Mapped[Client] = relationship()


class RefreshToken(Model):
    __tablename__ = "oauth_refresh_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_token_family.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Once rotated, and until `successor_until` (the reuse window): the token that replaced it,
    # sealed, for concurrent refreshes to get the same one (idp.oauth.rotation).
    successor: Mapped[str | None] = mapped_column(Text)
    successor_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    family: Mapped[TokenFamily] = relationship()


class Consent(Model):
    """What a user allowed a client: remembered per user, client and resource (RFC 8707; ""
    when the request named none), as the set of scopes allowed."""

    __tablename__ = "oauth_consent"
    __table_args__ = (UniqueConstraint("user_id", "client_id", "resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    resource: Mapped[str] = mapped_column(String(2000), default="")
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()

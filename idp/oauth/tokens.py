"""Minting tokens: JWT access tokens (RFC 9068), ID tokens (OpenID Connect Core §2), and
opaque refresh tokens stored as digests. Access tokens are signed with the keys of
IDP_ACCESS_TOKEN_ALG when it is set (ES256 signs about ten times faster than RS256), ID tokens
always with IDP_SIGNING_ALG's; the JWKS publishes both.

Every token issued to a user belongs to a `TokenFamily`. An access token's `jti` is
`<family>.<random>`, so introspection and userinfo can tell whether its family was revoked
without a row per token. A client credentials token has no family (nothing is written to issue
it): its `jti` is random, with no ".", and revoking it lists it in idp.oauth.denylist.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from authlib.oidc.core.util import create_half_hash
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.core.security import digest, new_token
from idp.db import db, utcnow
from idp.keys import KeyRing, KeyStore, SigningKey
from idp.keys.jwk import ALGORITHMS
from idp.keys.sealing import Sealer
from idp.oauth.families import FamilyGrant
from idp.oauth.models import Client, RefreshToken, TokenFamily
from idp.oauth.organizations import claims as organization_claims
from idp.oauth.resources import Target, registered_target
from idp.oauth.scopes import ClaimsUser, subject, user_claims

# OpenID Connect Core §3.1.3.6: at_hash is optional in the code flow, and Core defines its hash
# only for the SHA-2 algorithms; for Ed25519 libraries disagree (Authlib's client refuses any
# at_hash), so ID tokens signed with Ed25519 go without.
AT_HASH_ALGORITHMS = ("RS256", "ES256")
# A family as a row, or as a refresh reads it (idp.oauth.families).
Family = TokenFamily | FamilyGrant


@dataclass
class Grant:
    """Who and what a set of tokens is for: the outcome of a validated grant."""

    client: Client
    scope: str
    user: ClaimsUser | None = None  # a `User`, or a refresh's `UserClaims`
    session_id: int | None = None
    auth_time: datetime | None = None
    acr: str | None = None
    amr: list[str] = field(default_factory=list)
    nonce: str | None = None
    # OpenID Connect Core §5.5: claims asked for by name, by target ("id_token", "userinfo").
    claims: dict[str, list[str]] = field(default_factory=dict)
    # RFC 8707: the access token's audience; none means this issuer.
    resources: list[str] = field(default_factory=list)
    organization_id: int | None = None  # chosen for the `organization` scope


class TokenService:
    def __init__(
        self,
        keys: KeyStore,
        issuer: str,
        secret_key: str,
        *,
        max_lifetime: int = 86400,
        access_keys: KeyStore | None = None,
    ) -> None:
        self.keys = keys  # signs ID tokens, and access tokens unless `access_keys` is given
        self.access_keys = access_keys or keys
        self.published = KeyRing(keys, access_keys) if access_keys else KeyRing(keys)
        self.issuer = issuer
        # No token may outlive the key retention period (idp.keys): cap every lifetime.
        self.max_lifetime = max_lifetime
        self._sid_key = hashlib.sha256(b"idp sid\0" + secret_key.encode()).digest()
        # Seals the successor a rotated refresh token keeps for its reuse window
        # (idp.oauth.rotation); a key of its own, derived from the same secret.
        self.successors = Sealer(secret_key, info=b"idp refresh-token successors v1")
        self._verified = VerifiedTokens(issuer)

    def access_ttl(self, client: Client, target: Target | None = None) -> int:
        """The client's access-token lifetime, or the resource's when it sets one."""
        lifetime = (target.access_token_ttl() if target else None) or client.access_token_ttl
        return min(lifetime, self.max_lifetime)

    def open_family(self, grant: Grant, resources: list[str] | None = None) -> TokenFamily:
        """A new family for `grant`; `resources` (default: the grant's) are what it may reach."""
        if grant.user:
            lifetime = grant.client.refresh_token_ttl
        else:
            lifetime = self.access_ttl(grant.client, registered_target(grant.resources))
        family = TokenFamily(
            id=new_token(18),
            client_id=grant.client.id,
            user_id=grant.user.id if grant.user else None,
            session_id=grant.session_id,
            scope=grant.scope,
            auth_time=grant.auth_time,
            acr=grant.acr,
            amr=list(grant.amr),
            claims=grant.claims or None,
            resources=list(grant.resources if resources is None else resources),
            organization_id=grant.organization_id,
            expires_at=utcnow() + timedelta(seconds=lifetime),
        )
        db.session.add(family)
        return family

    def issue(self, grant: Grant, family: Family | None, *, refresh: bool) -> dict[str, Any]:
        """The token response body (RFC 6749 §5.1); the caller commits.

        `scope` is the access token's: with resources, only what they accept (RFC 8707 §2.2).
        """
        target = registered_target(grant.resources)
        access_token = self.access_token(grant, family, target)
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.access_ttl(grant.client, target),
            "scope": target.cut(grant.scope),
        }
        if refresh:
            assert family is not None, "a refresh token belongs to a family"
            body["refresh_token"] = self.refresh_token(grant.client, family)
        if grant.user is not None and "openid" in grant.scope.split():
            body["id_token"] = self.id_token(grant, access_token)
        return body

    def refresh_token(self, client: Client, family: Family, token: str | None = None) -> str:
        """Store a refresh token (`token`, or a new one) of `family`; return it."""
        token = token or new_token(32)
        expires = min(family.expires_at, utcnow() + timedelta(seconds=client.refresh_token_ttl))
        db.session.add(
            RefreshToken(token_hash=digest(token), family_id=family.id, expires_at=expires)
        )
        return token

    def access_token(self, grant: Grant, family: Family | None, target: Target) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject(grant.user) if grant.user else grant.client.client_id,
            "aud": target.audience or self.issuer,  # RFC 8707 §2, RFC 9068 §2.2
            "client_id": grant.client.client_id,
            "scope": target.cut(grant.scope),
            "iat": now,
            "exp": now + self.access_ttl(grant.client, target),
            "jti": f"{family.id}.{new_token(12)}" if family else new_token(24),
            **_authentication(grant),
            **_organization(grant),
        }
        return self._sign(claims, typ="at+jwt", signing=self.access_keys.signing_key())

    def id_token(self, grant: Grant, access_token: str | None = None) -> str:
        assert grant.user is not None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject(grant.user),
            "aud": grant.client.client_id,
            "iat": now,
            "exp": now + min(grant.client.id_token_ttl, self.max_lifetime),
            **_authentication(grant),
            **_organization(grant),
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        if grant.session_id is not None:
            claims["sid"] = self.sid(grant.session_id)
        signing = self.keys.signing_key()  # one key for at_hash and the signature
        if access_token and signing.alg in AT_HASH_ALGORITHMS:
            claims["at_hash"] = create_half_hash(access_token, signing.alg).decode()
        if grant.claims.get("id_token"):
            extra = user_claims(grant.user, [], grant.claims["id_token"])
            claims.update({k: v for k, v in extra.items() if k not in claims})
        return self._sign(claims, typ="JWT", signing=signing)

    def sid(self, session_id: int) -> str:
        """An opaque, stable identifier of a sign-in session (OpenID Connect Front/Back-Channel)."""
        return hmac.new(self._sid_key, str(session_id).encode(), hashlib.sha256).hexdigest()[:32]

    def _sign(self, claims: dict[str, Any], *, typ: str, signing: SigningKey | None = None) -> str:
        signing = signing or self.keys.signing_key()
        header = {"alg": signing.alg, "kid": signing.kid, "typ": typ}
        return jwt.encode(header, claims, signing.key, algorithms=[signing.alg])

    def jwks(self) -> bytes:
        """The JWK Set (RFC 7517 §5) of every key that signs or signed our tokens."""
        return self.published.jwks()

    def verify(
        self, token: str, *, typ: str = "at+jwt", allow_expired: bool = False
    ) -> dict[str, Any] | None:
        """The claims of a token we signed (and, unless allowed, unexpired), or None."""
        claims = self._verified.get(token, typ, self.published.public_keyset())
        if claims is None or (claims["exp"] <= time.time() and not allow_expired):
            return None
        return claims


class VerifiedTokens:
    """The claims of tokens whose signature, `typ` and `iss` were checked, by token: a
    resource server presents one token many times (introspection, userinfo). A token that
    verified under a key set verifies under it for ever, so entries are kept while the key
    set is the same object (idp.keys replaces it when a key is added, activated or removed),
    and at most `max_entries` of them; expiry is the caller's, checked on every use."""

    def __init__(self, issuer: str, max_entries: int = 4096) -> None:
        self.issuer = issuer
        self.max_entries = max_entries
        self._keyset: KeySet | None = None
        self._claims: dict[tuple[str, str], dict[str, Any] | None] = {}

    def get(self, token: str, typ: str, keyset: KeySet) -> dict[str, Any] | None:
        """A copy of the verified claims of `token` (shallow: never change a nested `aud` or
        `amr` list), or None if it does not verify."""
        if keyset is not self._keyset:
            self._claims, self._keyset = {}, keyset
        claims = self._claims.get((token, typ), _UNSEEN)
        if claims is _UNSEEN:
            claims = _verify(token, typ, keyset, self.issuer)
            if len(self._claims) >= self.max_entries:
                self._claims = {}
            self._claims[(token, typ)] = claims
        return dict(claims) if claims is not None else None


_UNSEEN: dict[str, Any] = {}


def _verify(token: str, typ: str, keyset: KeySet, issuer: str) -> dict[str, Any] | None:
    try:
        decoded = jwt.decode(token, keyset, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError):
        return None
    claims = dict(decoded.claims)
    if decoded.header.get("typ") != typ or claims.get("iss") != issuer:
        return None
    return claims if isinstance(claims.get("exp"), int) else None


def _authentication(grant: Grant) -> dict[str, Any]:
    """How the user signed in (OpenID Connect Core §2): auth_time, acr, amr when known."""
    claims: dict[str, Any] = {}
    if grant.auth_time is not None:
        claims["auth_time"] = int(grant.auth_time.timestamp())
    if grant.acr:
        claims["acr"] = grant.acr
    if grant.amr:
        claims["amr"] = grant.amr
    return claims


def _organization(grant: Grant) -> dict[str, Any]:
    """The organization claims when the `organization` scope was granted (oauth.organizations)."""
    user_id = grant.user.id if grant.user else None
    return organization_claims(user_id, grant.organization_id, grant.scope)


def app_tokens() -> TokenService:
    """The token service of the current app (registered with the authorization server)."""
    value: TokenService = current_app.extensions["idp.oauth.tokens"]
    return value

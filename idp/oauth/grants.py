"""Authlib grants, extended only where Authlib leaves things to us.

- PKCE is required for every client and only S256 is accepted (RFC 9700 §2.1.1, OAuth 2.1).
- Codes live at most 60 s, are single use, and a replay revokes what the first use issued
  (RFC 6749 §4.1.2). Redeeming marks the row used in one conditional UPDATE, so two processes
  racing on one code cannot both win.
- Refresh tokens rotate on every use (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2) and a family never
  forks (idp.oauth.rotation): requests that present the same token within
  `IDP_REFRESH_REUSE_GRACE` seconds (racing, or retried) all get the same successor; later
  reuse revokes the family.
- Tokens are minted by `TokenService` (JWT access tokens, ID tokens, hashed refresh tokens).
- Clients authenticate at the token endpoint as registered (idp.oauth.client_auth).
- Resource indicators (RFC 8707 §2.2): a code or refresh token request may name a subset of
  the resources the grant was authorized for, never another; client credentials may name
  registered resources. Access tokens carry them as `aud` (idp.oauth.tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import select, update

from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.db import commit_session, db, utcnow
from idp.identity.models import User
from idp.oauth.client_auth import AUTH_METHODS, CONFIDENTIAL_METHODS
from idp.oauth.errors import printable
from idp.oauth.families import FamilyGrant, RefreshTokenState
from idp.oauth.models import AuthorizationCode, Client, TokenFamily
from idp.oauth.organizations import still_member
from idp.oauth.requests import AuthorizationRequest
from idp.oauth.resources import check_scopes, narrowed, target_of
from idp.oauth.rotation import present, rotate
from idp.oauth.tokens import Grant
from idp.oauth.wiring import ServerParts

CODE_TTL = 60


class S256Only(CodeChallenge):
    """PKCE with S256, required on every authorization request."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with S256.")
        if data.get("code_challenge_method") != "S256":
            # RFC 7636 §4.3: an absent method means "plain", which we refuse.
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    server: ServerParts

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def generate_authorization_code(self) -> str:
        return new_token(32)

    def save_authorization_code(self, code: str, request: AuthorizationRequest) -> None:
        context = request.sign_in  # who signed in, and how (idp.oauth.authorize)
        assert context is not None, "a code is issued only to a signed-in user"
        payload = request.payload
        db.session.add(
            AuthorizationCode(
                code_hash=digest(code),
                client_id=request.client.id,
                user_id=request.user.id,
                session_id=context.session_id,
                redirect_uri=payload.redirect_uri or "",
                scope=payload.scope or "",
                nonce=payload.data.get("nonce"),
                code_challenge=payload.data["code_challenge"],
                code_challenge_method=payload.data["code_challenge_method"],
                claims=context.claims or None,
                auth_time=context.auth_time,
                acr=context.acr,
                amr=list(context.amr),
                resources=list(context.resources),
                organization_id=context.organization_id,
                expires_at=utcnow() + timedelta(seconds=CODE_TTL),
            )
        )
        db.session.commit()

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        row = db.session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(code))
        )
        if row is None or row.client_id != client.id:
            return None
        if row.used_at is not None:
            _revoke_what_it_issued(row)
            raise InvalidGrantError("This authorization code was already used.")
        if row.expires_at <= utcnow():
            return None
        return row

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # RFC 8707 §2.2: checked before the code is consumed, so a refused request changes
        # nothing and the code still works with the resources the user allowed.
        code: AuthorizationCode = self.request.authorization_code
        self.request.resources = narrowed(requested_resources(self.request), code.resources)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Already consumed in `generate_token`; nothing left to do."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        return db.session.get(User, authorization_code.user_id)

    def generate_token(
        self,
        user: Any = None,
        scope: Any = None,
        grant_type: Any = None,
        expires_in: Any = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        code: AuthorizationCode = self.request.authorization_code
        consumed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == code.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if consumed.rowcount != 1:  # type: ignore[attr-defined]
            # Another request redeemed it first; our UPDATE waited for that one to commit, so
            # what it issued is on the row now, and a replay revokes it (RFC 6749 §4.1.2).
            db.session.rollback()
            db.session.refresh(code)
            _revoke_what_it_issued(code)
            raise InvalidGrantError("This authorization code was already used.")
        grant = Grant(
            client=self.request.client,
            scope=code.scope,
            user=user,
            session_id=code.session_id,
            auth_time=code.auth_time,
            acr=code.acr,
            amr=list(code.amr),
            nonce=code.nonce,
            claims=code.claims or {},
            resources=self.request.resources,
            organization_id=code.organization_id,
        )
        family = self.server.tokens.open_family(grant, resources=code.resources)
        code.family_id = family.id
        refresh = include_refresh_token and "offline_access" in code.scope.split()
        body = self.server.tokens.issue(grant, family, refresh=refresh)
        db.session.commit()
        return body


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4: confidential clients only, for scopes they are registered for."""

    server: ServerParts

    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_METHODS)

    def validate_requested_scope(self) -> None:
        """The client's registered scopes, and those of the resources it names (RFC 8707)."""
        target = target_of(
            requested_resources(self.request),
            allow_unregistered=self.server.settings.allow_unregistered_resources,
        )
        scope = self.request.payload.scope or ""
        if not target:
            _within(scope, self.request.client.own_scope)
        check_scopes(scope, self.request.client.own_scope, target)
        self.request.resources = target.uris

    def generate_token(
        self,
        user: Any = None,
        scope: Any = None,
        grant_type: Any = None,
        expires_in: Any = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        grant = Grant(
            client=self.request.client, scope=scope or "", resources=self.request.resources
        )
        # No family row: nothing to write (idp.oauth.denylist revokes such a token).
        return self.server.tokens.issue(grant, None, refresh=False)


@dataclass
class PresentedRefreshToken:
    """A presented refresh token in the shape Authlib's RefreshTokenGrant asks for."""

    token: RefreshTokenState
    successor: str | None = None  # when rotated as it was read (idp.oauth.rotation.present)

    def check_client(self, client: Client) -> bool:
        return self.token.family.client_id == client.id

    def get_scope(self) -> str:
        # RFC 6749 §6: the new refresh token keeps the scope of the one presented.
        return self.token.family.scope


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 §6 with rotation; the checks run in the order listed in `_check`.

    The presented token, its family and its user are read in one SELECT on the driver's
    cursor (idp.oauth.families), and the rotation writes with Core statements
    (idp.oauth.rotation); on PostgreSQL both are one statement when the request narrows
    nothing (`rotation.present`). A refresh builds no ORM object.
    """

    server: ServerParts

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> PresentedRefreshToken:
        grace = timedelta(seconds=self.server.settings.refresh_reuse_grace)
        narrows = bool(self.request.payload.scope or requested_resources(self.request))
        found = present(
            digest(refresh_token), self.request.client, grace, self.server.tokens, narrowed=narrows
        )
        if found is None:
            raise InvalidGrantError("The refresh token is unknown.")
        token, successor = found
        if successor is None:  # else rotated by a statement that made these checks
            _check(token, self.request.client, grace)
        family = token.family
        _within(self.request.payload.scope or "", family.scope)
        # RFC 8707 §2.2: the family's resources, or fewer; a resource since removed is refused.
        resources = narrowed(requested_resources(self.request), family.resources)
        target_of(resources, allow_unregistered=self.server.settings.allow_unregistered_resources)
        self.request.resources = resources
        return PresentedRefreshToken(token, successor)

    def authenticate_user(self, refresh_token: PresentedRefreshToken) -> Any:
        return refresh_token.token.user  # read with the token

    def generate_token(
        self,
        user: Any = None,
        scope: Any = None,
        grant_type: Any = None,
        expires_in: Any = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        presented: PresentedRefreshToken = self.request.refresh_token
        token, client = presented.token, self.request.client
        grace = timedelta(seconds=self.server.settings.refresh_reuse_grace)
        successor = presented.successor or rotate(token, client, grace, self.server.tokens)
        if successor is None:
            _revoke_for_reuse(token.family, client)
        family = token.family
        grant = Grant(
            client=client,
            scope=" ".join(dict.fromkeys((scope or family.scope).split())),
            user=user,
            session_id=family.session_id,
            # OpenID Connect Core §12.2: same auth_time, acr and amr; no nonce.
            auth_time=family.auth_time,
            acr=family.acr,
            amr=list(family.amr),
            claims=family.claims or {},  # §12.2: the ID token asks for what the first one did
            resources=self.request.resources,
            organization_id=family.organization_id,  # the same organization as the first
        )
        body = self.server.tokens.issue(grant, family, refresh=False)
        body["refresh_token"] = successor
        commit_session()  # the rotation committed its own writes (idp.oauth.rotation)
        return body

    def revoke_old_credential(self, refresh_token: PresentedRefreshToken) -> None:
        """Already rotated in `generate_token`, before the new pair was minted."""


def requested_resources(request: Any) -> list[str]:
    """The `resource` parameters of a token request (RFC 8707 §2.2; several are allowed)."""
    return [str(value) for value in request.payload.datalist.get("resource", [])]


def _check(token: RefreshTokenState, client: Client, grace: timedelta) -> None:
    family, now = token.family, utcnow()
    if family.client_id != client.id:
        raise InvalidGrantError("The refresh token was issued to another client.")
    if family.revoked_at is not None:
        raise InvalidGrantError("The refresh token was revoked.")
    if token.expires_at <= now or family.expires_at <= now:
        raise InvalidGrantError("The refresh token has expired.")
    if token.rotated_at is not None and now - token.rotated_at > grace:
        # RFC 9700 §4.14.2: reuse of a rotated token revokes its family, past a short grace.
        _revoke_for_reuse(family, client)
    if not still_member(family.user_id, family.organization_id):
        revoke_family(family.id)
        db.session.commit()
        raise InvalidGrantError("The user is no longer a member of the grant's organization.")


def _revoke_for_reuse(family: FamilyGrant, client: Client) -> NoReturn:
    revoke_family(family.id)
    record(
        Event.REFRESH_TOKEN_REUSED,
        user_id=family.user_id,
        subject=client.client_id,
        family=family.id,
    )
    db.session.commit()
    raise InvalidGrantError("The refresh token was already used; its grant is now revoked.")


def _within(requested: str, granted: str) -> None:
    """RFC 6749 §3.3 and §6: a request may narrow the granted scope, never widen it."""
    extra = set(requested.split()) - set(granted.split())
    if extra:
        raise InvalidScopeError(printable(f"Scope not granted: {' '.join(sorted(extra))}."))


def revoke_family(family_id: str) -> bool:
    """Revoke every token of a family; True if this call did it. The caller commits."""
    result = db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _revoke_what_it_issued(code: AuthorizationCode) -> None:
    if code.family_id:
        revoke_family(code.family_id)
        db.session.commit()

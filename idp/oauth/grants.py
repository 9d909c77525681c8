"""Authlib grants, extended only where Authlib leaves things to us.

- PKCE is required for every client and only S256 is accepted (RFC 9700 §2.1.1, OAuth 2.1).
- Codes live at most 60 s, are single use, and a replay revokes what the first use issued
  (RFC 6749 §4.1.2). Redeeming marks the row used in one conditional UPDATE, so two processes
  racing on one code cannot both win.
- Tokens are minted by `TokenService` (JWT access tokens, ID tokens, hashed refresh tokens).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import select, update

from idp.core.security import digest, new_token
from idp.db import db, utcnow
from idp.identity.models import User
from idp.oauth.models import AuthorizationCode, TokenFamily
from idp.oauth.tokens import Grant, TokenService

CODE_TTL = 60


def tokens() -> TokenService:
    from idp.services import services

    return services().tokens


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
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def generate_authorization_code(self) -> str:
        return new_token(32)

    def save_authorization_code(self, code: str, request: Any) -> None:
        context = request.interaction  # set by the authorize view: who signed in, and how
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
                claims=context.id_token_claims or None,
                auth_time=context.auth_time,
                acr=context.acr,
                amr=list(context.amr),
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
            db.session.rollback()
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
            id_token_claims=list((code.claims or {}).get("id_token", [])),
        )
        family = tokens().open_family(grant)
        code.family_id = family.id
        refresh = include_refresh_token and "offline_access" in code.scope.split()
        body = tokens().issue(grant, family, refresh=refresh)
        db.session.commit()
        return body


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def generate_token(
        self,
        user: Any = None,
        scope: Any = None,
        grant_type: Any = None,
        expires_in: Any = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        grant = Grant(client=self.request.client, scope=scope or "")
        family = tokens().open_family(grant)
        body = tokens().issue(grant, family, refresh=False)
        db.session.commit()
        return body


def _revoke_what_it_issued(code: AuthorizationCode) -> None:
    if code.family_id:
        db.session.execute(
            update(TokenFamily)
            .where(TokenFamily.id == code.family_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        db.session.commit()

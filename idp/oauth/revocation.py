"""Token revocation (RFC 7009).

Revoking an access or a refresh token revokes its whole family: every token issued from the
same grant, so the access tokens introspect inactive and userinfo refuses them. A token the
server does not know (or already revoked) is answered 200 too (RFC 7009 §2.2). A client
credentials token has no family: revoking it denies its `jti` until it expires
(idp.oauth.denylist). A public
client authenticates with its client_id alone (`none`) and may revoke only its own tokens
(RFC 7009 §5); a token of another client is refused with `invalid_grant` (RFC 6749 §5.2).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc7009

from idp.core.audit import Event, record
from idp.db import db
from idp.oauth.client_auth import AUTH_METHODS
from idp.oauth.denylist import deny, is_denied
from idp.oauth.grants import revoke_family
from idp.oauth.introspection import PresentedToken, check_params, find_token
from idp.oauth.models import Client
from idp.oauth.wiring import ServerParts


class RevocationEndpoint(rfc7009.RevocationEndpoint):
    server: ServerParts

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)  # RFC 7009 §5: public clients too

    def check_params(self, request: Any, client: Client) -> None:
        check_params(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        token = find_token(self.server.tokens, token_string, token_type_hint)
        # A token whose family is gone is as good as unknown.
        known = token is not None and (token.family is not None or token.standalone)
        return token if known else None

    def revoke_token(self, token: PresentedToken, request: Any) -> None:
        if token.standalone:  # a client credentials token: denied until it expires
            jti = str(token.claims["jti"])
            if not is_denied(jti):
                deny(jti, int(token.claims["exp"]))
                record(Event.TOKEN_REVOKED, subject=request.client.client_id, jti=jti)
            db.session.commit()
            return
        family = token.family
        assert family is not None
        if revoke_family(family.id):
            record(
                Event.TOKEN_REVOKED,
                user_id=family.user_id,
                subject=request.client.client_id,
                family=family.id,
                token_type=token.kind,
            )
        db.session.commit()

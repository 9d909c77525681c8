"""Client authentication with a signed JWT: `private_key_jwt` (RFC 7523 §2.2, §3; OpenID
Connect Core §9).

The client signs an assertion with a private key whose public half it registered
(`Client.jwks`). Its `aud` must name this server: the issuer or the token endpoint URL. Each
`jti` is accepted once: it is remembered in the shared store until the assertion expires, so
a replay to another process fails too; while that store is unreachable, assertions are refused
(503) rather than accepted unchecked. `client_secret_basic`, `client_secret_post` and `none` are
Authlib's own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError, OAuth2Error
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from idp.core.store import Store, StoreUnavailable
from idp.oauth.models import Client

# RFC 6749 §2.3.1 (HTTP Basic, or the form body), RFC 7523 §2.2, and `none` for public clients
# (RFC 6749 §2.1): every way a client may authenticate, here and nowhere else.
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
PRIVATE_KEY_JWT = "private_key_jwt"
CONFIDENTIAL_METHODS = (*SECRET_METHODS, PRIVATE_KEY_JWT)
PUBLIC = "none"
AUTH_METHODS = (*CONFIDENTIAL_METHODS, PUBLIC)
# What a client may sign its assertions with: asymmetric only (never HS256 keyed with a public
# key). Wider than what we sign with (idp.keys.jwk.ALGORITHMS): PS256 is accepted too.
KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
SIGNING_ALGORITHMS = list(KEY_TYPES)
LEEWAY = 60  # seconds of clock skew allowed on exp, nbf and iat

log = logging.getLogger(__name__)


class ReplayCheckUnavailable(OAuth2Error):
    """The store that remembers used assertions cannot be reached; try again shortly."""

    error = "temporarily_unavailable"
    status_code = 503
    description = "Client assertions cannot be checked right now. Try again shortly."


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, issuer: str, store: Store) -> None:
        super().__init__(leeway=LEEWAY)
        self.audiences = [issuer, f"{issuer}/token"]
        self.store = store  # remembers each jti until its assertion expires

    def get_audiences(self) -> list[str]:
        return self.audiences

    def resolve_client_public_key(self, client: Client) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered public keys.")
        try:
            return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise InvalidClientError(
                description="The client's registered public keys are unusable."
            ) from error

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        # As Authlib's, but only asymmetric algorithms (never HS256 keyed with a public key),
        # and an assertion without `kid` is tried against each key of the right type.
        header = jws.extract_compact(assertion.encode()).headers()
        for key in _candidates(resolve_key, header):
            try:
                token = jwt.decode(assertion, key, algorithms=SIGNING_ALGORITHMS)
            except (JoseError, ValueError):
                continue
            self.verify_claims(token.claims)
            return dict(token.claims)
        raise InvalidClientError(
            description="The client assertion is not signed by a registered key."
        )

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:

        ttl = max(1, int(claims["exp"] - time.time()) + self.leeway)
        try:
            return self.store.add(f"client-assertion:{claims['sub']}:{jti}", b"1", ttl)
        except StoreUnavailable as error:
            log.warning("cannot check a client assertion for replay: %s", error)
            raise ReplayCheckUnavailable() from error


def _candidates(keys: KeySet, header: dict[str, Any]) -> list[Key]:
    usable = [key for key in keys if key.get("use") in (None, "sig")]
    if header.get("kid"):
        return [key for key in usable if key.kid == header["kid"]]
    return [key for key in usable if key.key_type == KEY_TYPES.get(header.get("alg", ""))]

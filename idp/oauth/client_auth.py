"""Client authentication with a signed JWT: `private_key_jwt` (RFC 7523 §2.2, §3; OpenID
Connect Core §9).

The client signs an assertion with a private key whose public half it registered
(`Client.jwks`). Its `aud` must name this server: the issuer or the token endpoint URL. Each
`jti` is accepted once: it is remembered in the shared store until the assertion expires, so
a replay to another process fails too; while that store is unreachable, assertions are refused
(503) rather than accepted unchecked. An assertion must expire within `MAX_ASSERTION_LIFETIME`
of its use (RFC 7523 §3 lets the server bound it), so no replay record is kept for long.
`client_secret_basic`, `client_secret_post` and `none` are Authlib's own.

`one_method` runs before any method is tried: a request that authenticates in more than one
way (HTTP Basic, a secret in the body, an assertion) or names another client in `client_id`
is `invalid_client` (RFC 6749 §2.3), whichever way would have succeeded.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError, OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
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
# Ed25519, not the deprecated EdDSA (RFC 9864), as for the keys we sign with.
KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "Ed25519": "OKP"}
SIGNING_ALGORITHMS = list(KEY_TYPES)
LEEWAY = 60  # seconds of clock skew allowed on exp, nbf and iat
# Seconds from now within which an assertion must expire: the hour Authlib's client gives its
# assertions, so a replay record lasts an hour at most, not until a far-off `exp`.
MAX_ASSERTION_LIFETIME = 3600

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

    def verify_claims(self, claims: Any) -> None:
        # Before Authlib's checks, which end by remembering the jti until `exp`.
        exp = claims.get("exp")
        latest = time.time() + MAX_ASSERTION_LIFETIME + self.leeway
        if isinstance(exp, int | float) and exp > latest:
            raise InvalidClientError(
                description="The client assertion must expire within "
                f"{MAX_ASSERTION_LIFETIME} seconds."
            )
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        ttl = max(1, int(claims["exp"] - time.time()) + self.leeway)
        try:
            return self.store.add(f"client-assertion:{claims['sub']}:{jti}", b"1", ttl)
        except StoreUnavailable as error:
            log.warning("cannot check a client assertion for replay: %s", error)
            raise ReplayCheckUnavailable() from error


def one_method(request: Any, methods: list[str]) -> None:
    """RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
    request." Also refused: a `client_id` parameter naming another client than the Basic user
    name or the assertion's `sub` (RFC 7523 §3). 401 with a Basic challenge (RFC 6749 §5.2)."""
    form = request.form
    basic = request.headers.get("Authorization", "").split(" ")[0].lower() == "basic"
    assertion = form.get("client_assertion") or form.get("client_assertion_type")
    if basic + bool(form.get("client_secret")) + bool(assertion) > 1:
        raise _refusal("Authenticate the client in one way only.", basic, methods)
    client_id = form.get("client_id")
    named = extract_basic_authorization(request.headers)[0] if basic else None
    if assertion:
        named = _unverified_subject(str(form.get("client_assertion", "")))
    if client_id and named is not None and named != client_id:
        raise _refusal("client_id names another client than the credentials.", basic, methods)


def _refusal(description: str, basic: bool, methods: list[str]) -> InvalidClientError:
    status = 401 if basic or "client_secret_basic" in methods else 400
    return InvalidClientError(status_code=status, description=description)


def _unverified_subject(assertion: str) -> Any:
    """The `sub` of an assertion, before its signature is checked (that comes next)."""
    try:
        return json.loads(jws.extract_compact(assertion.encode()).payload).get("sub")
    except (JoseError, ValueError, AttributeError):
        return None  # malformed: the assertion method refuses it


def _candidates(keys: KeySet, header: dict[str, Any]) -> list[Key]:
    usable = [key for key in keys if key.get("use") in (None, "sig")]
    if header.get("kid"):
        return [key for key in usable if key.kid == header["kid"]]
    return [key for key in usable if key.key_type == KEY_TYPES.get(header.get("alg", ""))]

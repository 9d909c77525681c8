"""Accepting this provider's access tokens at a resource server (an API or an MCP server).

`ResourceServer` verifies JWT access tokens (RFC 9068) against the issuer's published keys,
describes the resource in RFC 9728 metadata, and builds the RFC 6750 §3 / RFC 9728 §5.1
`WWW-Authenticate` challenge. It depends only on the standard library and joserfc, so it runs
in any process; the Flask and MCP adapters live next to it. It never talks to the provider's
database: keys come from the issuer's discovery document (OpenID Connect Discovery §4) and
its `jwks_uri`, fetched with timeouts and cached.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

# Asymmetric only: never `none`, never HS*. The provider defines what it signs with in
# idp.keys.jwk.ALGORITHMS; this package imports no other idp package, so it keeps its own copy.
ALGORITHMS = ("RS256", "ES256", "Ed25519")
LEEWAY = 30  # seconds of clock skew allowed on `exp` and `iat`
REFETCH_INTERVAL = 30.0  # at most one JWKS refetch per this many seconds for an unknown `kid`
MAX_DOCUMENT = 1 << 20  # bytes read from a discovery document or JWKS


@dataclass(frozen=True)
class Claims:
    """What a verified access token says (RFC 9068 §2.2)."""

    sub: str
    client_id: str
    scopes: tuple[str, ...]
    audience: tuple[str, ...]
    expires_at: int
    raw: Mapping[str, Any]


class BearerError(Exception):
    """A refused bearer request, rendered as RFC 6750 §3 says.

    `error` is "invalid_token" (401) or "insufficient_scope" (403), or None when the request
    carried no token at all: then the challenge names no error (RFC 6750 §3.1).
    `description` is safe to show to the client.
    """

    def __init__(
        self,
        error: str | None,
        description: str,
        *,
        resource_metadata: str,
        realm: str,
        scopes: Iterable[str] = (),
    ) -> None:
        super().__init__(description)
        self.error = error
        self.status = 403 if error == "insufficient_scope" else 401
        self.description = description
        self.resource_metadata = resource_metadata
        self.realm = realm
        self.scopes = tuple(scopes)

    def challenge(self) -> dict[str, str]:
        """The challenge's parameters, in order: realm, resource_metadata (RFC 9728 §5.1),
        error and error_description (none without a token, RFC 6750 §3.1), scope."""
        params = {"realm": self.realm, "resource_metadata": self.resource_metadata}
        if self.error:
            params |= {"error": self.error, "error_description": self.description}
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        return params

    def www_authenticate(self) -> str:
        """`Bearer realm=..., resource_metadata=..., error=..., error_description=..., scope=...`

        Built here with the standard library, for servers without Werkzeug (the ASGI
        middleware); the Flask views build the same challenge with Werkzeug's
        `WWWAuthenticate` (idp.resource.flask_views)."""
        params = self.challenge().items()
        return "Bearer " + ", ".join(f'{name}="{_quotable(value)}"' for name, value in params)

    def body(self) -> dict[str, str]:
        """A JSON body to go with the challenge."""
        if self.error is None:
            return {"error_description": self.description}
        return {"error": self.error, "error_description": self.description}


class IssuerUnavailable(Exception):
    """The issuer's discovery document or keys could not be fetched: a 503, not a bad token."""


class ResourceServer:
    """One protected resource trusting one issuer.

    `resource` is this resource's identifier (RFC 9728 §1.2), the value access tokens must
    carry in `aud`. `accept_issuer_audience=True` also accepts tokens whose `aud` is the
    issuer: the provider issues those to clients that send no RFC 8707 `resource`, so it is
    opt-in, and any resource accepting them accepts tokens meant for every other resource.
    `leeway` is the clock skew, in seconds, allowed on `exp` and `iat`.
    """

    def __init__(
        self,
        issuer: str,
        resource: str,
        scopes_supported: list[str] | None = None,
        *,
        accept_issuer_audience: bool = False,
        realm: str | None = None,
        leeway: int = LEEWAY,
        jwks_cache_seconds: int = 300,
        http_timeout: float = 5.0,
    ) -> None:
        for name, url in (("issuer", issuer), ("resource", resource)):
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
                raise ValueError(f"{name} must be an absolute http(s) URL without fragment: {url}")
        self.issuer = issuer
        self.resource = resource
        self.scopes_supported = list(scopes_supported or [])
        self.accept_issuer_audience = accept_issuer_audience
        self.realm = realm or resource
        self.leeway = leeway
        self._keys = _KeyCache(issuer, jwks_cache_seconds, http_timeout)

    @property
    def jwks_fetches(self) -> int:
        """How many times the issuer's JWKS was fetched (for monitoring and tests)."""
        return self._keys.fetches

    def metadata(self) -> dict[str, Any]:
        """Protected resource metadata (RFC 9728 §2)."""
        return {
            "resource": self.resource,
            "authorization_servers": [self.issuer],
            "scopes_supported": self.scopes_supported,
            "bearer_methods_supported": ["header"],
        }

    def metadata_path(self) -> str:
        """Where the metadata is served (RFC 9728 §3.1): the well-known prefix + the path."""
        path = urlsplit(self.resource).path
        return "/.well-known/oauth-protected-resource" + ("" if path in ("", "/") else path)

    def metadata_url(self) -> str:
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}{self.metadata_path()}"

    def error(self, error: str | None, description: str, scopes: Iterable[str] = ()) -> BearerError:
        """A refusal from this resource, with its realm and metadata URL."""
        return BearerError(
            error,
            description,
            resource_metadata=self.metadata_url(),
            realm=self.realm,
            scopes=scopes,
        )

    def verify(self, token: str, required_scopes: Iterable[str] = ()) -> Claims:
        """The claims of a valid access token for this resource holding `required_scopes`.

        Raises BearerError when the token is missing, invalid or lacks a scope, and
        IssuerUnavailable when the issuer's keys cannot be fetched.
        """
        required = tuple(required_scopes)
        if not token:
            raise self.error(None, "This resource needs a bearer token.", required)
        header = self._header(token, required)
        keys = self._keys.get(header.get("kid"))
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise self.error(
                "invalid_token", "The token's signature is invalid.", required
            ) from exc
        claims = self._checked(dict(decoded.claims), required)
        missing = [scope for scope in required if scope not in claims.scopes]
        if missing:
            raise self.error("insufficient_scope", "The token lacks a required scope.", required)
        return claims

    def _header(self, token: str, required: tuple[str, ...]) -> dict[str, Any]:
        try:
            header = dict(extract_compact(token.encode("ascii")).headers())
        except (JoseError, ValueError, UnicodeError) as exc:
            raise self.error("invalid_token", "The token is not a signed JWT.", required) from exc
        if header.get("alg") not in ALGORITHMS:
            raise self.error("invalid_token", "The token's algorithm is not accepted.", required)
        # RFC 9068 §4: `typ` tells access tokens apart from ID tokens and other JWTs.
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise self.error("invalid_token", "The token is not an access token.", required)
        return header

    def _checked(self, claims: dict[str, Any], required: tuple[str, ...]) -> Claims:
        """RFC 9068 §4: issuer, audience, lifetime; then the claims this module hands out."""
        now = time.time()
        aud = claims.get("aud")
        audience = tuple(v for v in (aud if isinstance(aud, list) else [aud]) if isinstance(v, str))
        accepted = {self.resource, self.issuer} if self.accept_issuer_audience else {self.resource}
        exp, iat = claims.get("exp"), claims.get("iat")
        scope = claims.get("scope", "")
        problems = [
            (claims.get("iss") != self.issuer, "The token is from another issuer."),
            (not accepted.intersection(audience), "The token is not meant for this resource."),
            (not _is_int(exp) or exp + self.leeway <= now, "The token has expired."),
            (not _is_int(iat) or iat - self.leeway > now, "The token is issued in the future."),
            (not isinstance(claims.get("sub"), str), "The token has no subject."),
            (not isinstance(claims.get("client_id"), str), "The token names no client."),
            (not isinstance(scope, str), "The token's scope is malformed."),
        ]
        for failed, description in problems:
            if failed:
                raise self.error("invalid_token", description, required)
        return Claims(
            sub=claims["sub"],
            client_id=claims["client_id"],
            scopes=tuple(scope.split()),
            audience=audience,
            expires_at=int(claims["exp"]),
            raw=MappingProxyType(claims),
        )


class _KeyCache:
    """The issuer's JWKS, refetched when stale or (rate-limited) when a `kid` is unknown."""

    def __init__(self, issuer: str, max_age: int, timeout: float) -> None:
        self.issuer = issuer
        self.max_age = max_age
        self.timeout = timeout
        self._lock = threading.Lock()
        self._jwks_uri: str | None = None
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._last_refetch = float("-inf")
        self.fetches = 0  # how many times the JWKS was fetched; tests read it

    def get(self, kid: Any) -> KeySet:
        with self._lock:
            now = time.monotonic()
            if self._keys is None or now - self._fetched_at >= self.max_age:
                self._fetch(now, keep_stale=self._keys is not None)
            elif self._unknown(kid) and now - self._last_refetch >= REFETCH_INTERVAL:
                # The issuer may have rotated: ask again, but not on every request, or anyone
                # could make us hammer the issuer with made-up `kid`s.
                self._last_refetch = now
                self._fetch(now, keep_stale=True)
            assert self._keys is not None
            return self._keys

    def _unknown(self, kid: Any) -> bool:
        return self._keys is not None and kid is not None and not _has_kid(self._keys, kid)

    def _fetch(self, now: float, *, keep_stale: bool) -> None:
        try:
            if self._jwks_uri is None:
                self._jwks_uri = self._discover()
            keys = KeySet.import_key_set(_get_json(self._jwks_uri, self.timeout))  # type: ignore[arg-type]
        except (OSError, ValueError, JoseError) as exc:
            if keep_stale:  # an issuer outage should not refuse tokens we can still check
                return
            raise IssuerUnavailable(f"cannot fetch the keys of {self.issuer}") from exc
        self.fetches += 1
        self._keys = keys
        self._fetched_at = now

    def _discover(self) -> str:
        """The `jwks_uri` of the issuer's discovery document (OpenID Connect Discovery §4)."""
        document = _get_json(
            self.issuer.rstrip("/") + "/.well-known/openid-configuration", self.timeout
        )
        # OpenID Connect Discovery §4.3 / RFC 8414 §3.3: the document must name this issuer.
        if document.get("issuer") != self.issuer:
            raise ValueError("the discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError("the discovery document has no jwks_uri")
        return jwks_uri


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    if urlsplit(url).scheme not in ("https", "http"):
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        data = response.read(MAX_DOCUMENT + 1)
    if len(data) > MAX_DOCUMENT:
        raise ValueError(f"{url} answered more than {MAX_DOCUMENT} bytes")
    document = json.loads(data)
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _quotable(value: str) -> str:
    """RFC 6750 §3: attribute values are quoted-strings; drop what they may not hold."""
    return "".join(c for c in value if c not in '"\\' and " " <= c <= "~")

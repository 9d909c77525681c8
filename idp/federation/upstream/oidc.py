"""A generic OpenID Connect relying party: discovery, the authorization URL, the callback.

Storage-free: it is built from a `RelyingPartyConfig` (issuer or discovery URL, client id and
secret, scopes) and a `Transport`; what a sign-in must remember between `start` and `finish`
(state, nonce, PKCE verifier) is the `Started` it returns, for the caller to keep and to hand
back once. Used by the upstream providers here and by enterprise SSO connections.

- Discovery (OpenID Connect Discovery 1.0 §4): the document's `issuer` must equal the issuer
  configured (§4.3); Microsoft's multi-tenant `{tenantid}` template is the one exception.
- Authorization request (OIDC Core §3.1.2.1) with `state`, `nonce` and PKCE S256 (RFC 7636 §4).
- Callback: the error (RFC 6749 §4.1.2.1), `state`, `iss` (RFC 9207 §2.4).
- Code exchange (RFC 6749 §4.1.3) with client_secret_basic or client_secret_post (§2.3.1).
- ID token (OIDC Core §3.1.3.7): signature through the provider's JWKS (joserfc, asymmetric
  algorithms only), `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`.
- UserInfo (OIDC Core §5.3.2): its `sub` must equal the ID token's.

Every failure is an `UpstreamError` whose `reason` is short and stable, for the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.federation.asserted import Asserted
from idp.federation.upstream.claims import asserted_from_claims, check_id_token_claims
from idp.federation.upstream.errors import UNREACHABLE, UpstreamError
from idp.federation.upstream.transport import Transport, TransportError

__all__ = [
    "Finished",
    "OidcRelyingParty",
    "ProviderMetadata",
    "RelyingPartyConfig",
    "Started",
    "Transport",
    "UpstreamError",
    "check_callback",
    "pkce_pair",
    "token_request",
]

WELL_KNOWN = "/.well-known/openid-configuration"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
ALGORITHMS += ["EdDSA", "Ed25519"]
CACHE_SECONDS = 300
TENANT = "{tenantid}"
_cache: dict[str, tuple[float, Any]] = {}


@dataclass(frozen=True)
class RelyingPartyConfig:
    """One upstream as a relying party sees it. `issuer` is the issuer URL or the URL of its
    discovery document; `source` is what `Asserted.source` will say."""

    source: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    auth_method: str = "client_secret_basic"
    use_userinfo: bool = True
    tenant_issuer: bool = False  # Microsoft "common": the issuer holds {tenantid}
    name_claim: str = "name"
    email_claim: str = "email"

    def discovery_url(self) -> str:
        if self.issuer.endswith(WELL_KNOWN):
            return self.issuer
        return self.issuer.rstrip("/") + WELL_KNOWN

    def expected_issuer(self) -> str:
        if self.issuer.endswith(WELL_KNOWN):
            return self.issuer[: -len(WELL_KNOWN)]
        return self.issuer


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    iss_parameter: bool = False  # RFC 9207 §3: authorization_response_iss_parameter_supported


@dataclass(frozen=True)
class Started:
    """A sign-in in progress: send the browser to `url`; keep the rest until the callback."""

    url: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Started:
        return cls(**{k: str(data[k]) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Finished:
    """The callback's result: who signed in, and the upstream's token response."""

    asserted: Asserted
    tokens: dict[str, Any] = field(default_factory=dict)


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 §4.1, §4.2: a verifier of 43+ characters and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def check_callback(started: Started, params: Mapping[str, str], issuer: str | None) -> str:
    """The authorization response's checks, in order; returns the code."""
    if not same(params.get("state"), started.state):
        raise UpstreamError("bad_state", "This sign-in link is not valid any more. Start again.")
    if issuer is not None and params.get("iss") is not None and params["iss"] != issuer:
        # RFC 9207 §2.4: a response from another issuer is a mix-up attack.
        raise UpstreamError("iss_mismatch", "The answer came from another provider.")
    if params.get("error"):
        # RFC 6749 §4.1.2.1: the provider refused, or the person cancelled.
        raise UpstreamError(
            "provider_error",
            "The provider did not sign you in.",
            detail=f"{params['error']}: {params.get('error_description', '')}"[:300],
        )
    code = params.get("code")
    if not code:
        raise UpstreamError("no_code", "The provider's answer has no authorization code.")
    return code


class OidcRelyingParty:
    """One OpenID Connect provider, as a relying party; no storage of its own."""

    def __init__(self, config: RelyingPartyConfig, transport: Transport) -> None:
        self.config = config
        self.transport = transport

    # Discovery

    def metadata(self) -> ProviderMetadata:
        """OpenID Connect Discovery 1.0 §4, cached for a few minutes in this process."""
        url = self.config.discovery_url()
        doc = self._json(url, "discovery")
        expected = self.config.expected_issuer()
        issuer = doc.get("issuer")
        if not isinstance(issuer, str) or not self._issuer_matches(issuer, expected):
            raise UpstreamError(
                "discovery", "The provider's configuration is wrong.", detail=f"issuer {issuer!r}"
            )
        try:
            return ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                userinfo_endpoint=doc.get("userinfo_endpoint"),
                algorithms=tuple(doc.get("id_token_signing_alg_values_supported") or ["RS256"]),
                iss_parameter=doc.get("authorization_response_iss_parameter_supported") is True,
            )
        except KeyError as missing:
            raise UpstreamError(
                "discovery", "The provider's configuration is incomplete.", detail=str(missing)
            ) from None

    def _issuer_matches(self, issuer: str, expected: str) -> bool:
        if self.config.tenant_issuer and TENANT in issuer:
            return True  # checked against the ID token's `tid` instead
        return issuer == expected

    # The authorization request

    def start(
        self, redirect_uri: str, *, login_hint: str | None = None, reauthenticate: bool = False
    ) -> Started:
        """OIDC Core §3.1.2.1 with state, nonce and PKCE S256 (RFC 7636 §4.3); `reauthenticate`
        sends `prompt=login`, so the provider asks for the credentials again."""
        meta = self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            params["login_hint"] = login_hint
        if reauthenticate:
            params["prompt"] = "login"
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        url = meta.authorization_endpoint + separator + urlencode(params)
        return Started(url, state, nonce, verifier, redirect_uri)

    # The callback

    def finish(self, started: Started, params: Mapping[str, str]) -> Finished:
        """Check the authorization response, redeem the code, check the ID token."""
        meta = self.metadata()
        issuer = None if self.config.tenant_issuer else meta.issuer
        code = check_callback(started, params, issuer)
        if meta.iss_parameter and issuer is not None and "iss" not in params:
            raise UpstreamError("iss_missing", "The answer does not say which provider sent it.")
        tokens = self.exchange(meta, code, started)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise UpstreamError("no_id_token", "The provider sent no ID token.")
        claims = self.validate_id_token(meta, id_token, started.nonce)
        access_token = tokens.get("access_token")
        if self.config.use_userinfo and meta.userinfo_endpoint and isinstance(access_token, str):
            claims = {
                **self.userinfo(meta.userinfo_endpoint, access_token, claims["sub"]),
                **claims,
            }
        return Finished(self.asserted(claims), tokens)

    def exchange(self, meta: ProviderMetadata, code: str, started: Started) -> dict[str, Any]:
        """RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5); the client authenticates
        as configured (§2.3.1)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": started.redirect_uri,
            "code_verifier": started.code_verifier,
        }
        return token_request(self.transport, meta.token_endpoint, form, self.config)

    def validate_id_token(
        self, meta: ProviderMetadata, id_token: str, nonce: str
    ) -> dict[str, Any]:
        """OIDC Core §3.1.3.7, steps 1-11 that apply to a confidential client."""
        algorithms = [a for a in meta.algorithms if a in ALGORITHMS] or ["RS256"]
        claims = self._verified_claims(meta, id_token, algorithms)
        check_id_token_claims(claims, self._issuer_for(meta, claims), self.config.client_id)
        if not same(claims.get("nonce"), nonce):
            raise UpstreamError("nonce_mismatch", "The sign-in answer was not for this request.")
        return claims

    def _verified_claims(
        self, meta: ProviderMetadata, token: str, algs: list[str]
    ) -> dict[str, Any]:
        for refresh in (False, True):  # a key we have not seen: the provider may have rotated
            keys = self._keys(meta.jwks_uri, refresh)
            try:
                return dict(jwt.decode(token, keys, algorithms=algs).claims)
            except JoseError as error:
                failure = error
            except ValueError as error:
                failure = JoseError(str(error))
        raise UpstreamError(
            "bad_signature", "The provider's ID token is not valid.", detail=repr(failure)
        )

    def _issuer_for(self, meta: ProviderMetadata, claims: Mapping[str, Any]) -> str:
        if self.config.tenant_issuer and TENANT in meta.issuer:
            return meta.issuer.replace(TENANT, str(claims.get("tid", "")))
        return meta.issuer

    def _keys(self, jwks_uri: str, refresh: bool) -> KeySet:
        if refresh:
            _cache.pop(jwks_uri, None)
        doc = self._json(jwks_uri, "jwks")
        try:
            return KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise UpstreamError(
                "jwks", "The provider's keys are unusable.", detail=repr(error)
            ) from None

    def userinfo(self, endpoint: str, access_token: str, subject: str) -> dict[str, Any]:
        """OIDC Core §5.3: the claims; §5.3.2: their `sub` must be the ID token's."""
        try:
            answer = self.transport.get(endpoint, {"Authorization": f"Bearer {access_token}"})
        except TransportError as error:
            raise UpstreamError("userinfo", UNREACHABLE, detail=str(error)) from None
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise UpstreamError("userinfo", UNREACHABLE, detail=f"HTTP {answer.status}")
        if answer.body.get("sub") != subject:
            raise UpstreamError("userinfo_sub", "The provider described another person.")
        return dict(answer.body)

    def asserted(self, claims: Mapping[str, Any]) -> Asserted:
        return asserted_from_claims(
            self.config.source, claims, self.config.name_claim, self.config.email_claim
        )

    def _json(self, url: str, what: str) -> dict[str, Any]:
        cached = _cache.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return dict(cached[1])
        try:
            answer = self.transport.get(url)
        except TransportError as error:
            raise UpstreamError(what, UNREACHABLE, detail=str(error)) from None
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise UpstreamError(what, UNREACHABLE, detail=f"{url}: HTTP {answer.status}")
        _cache[url] = (time.monotonic() + CACHE_SECONDS, answer.body)
        return dict(answer.body)


def token_request(
    transport: Transport, endpoint: str, form: dict[str, str], config: RelyingPartyConfig
) -> dict[str, Any]:
    """POST to a token endpoint with the client's credentials; its JSON answer."""
    headers: dict[str, str] = {}
    if config.auth_method == "client_secret_post":
        form = {**form, "client_id": config.client_id, "client_secret": config.client_secret}
    else:  # RFC 6749 §2.3.1: both parts form-urlencoded before Basic
        pair = f"{_form(config.client_id)}:{_form(config.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    try:
        answer = transport.post(endpoint, form, headers)
    except TransportError as error:
        raise UpstreamError("token_request", UNREACHABLE, detail=str(error)) from None
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 200 or "error" in body or "access_token" not in body:
        raise UpstreamError(
            "token_request",
            "The provider refused to complete the sign-in.",
            detail=f"HTTP {answer.status}: {str(body.get('error', ''))[:100]}",
        )
    return dict(body)


def _form(value: str) -> str:
    return quote_plus(value)

"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

Authlib's `ClientRegistrationEndpoint` and `ClientConfigurationEndpoint` run both protocols;
this module supplies what they leave to us:

- `ClientMetadata`: the metadata we accept (RFC 7591 §2), with each field's type and default.
  The client store (idp.oauth.clients) then applies the rules every client obeys; its refusals
  become `invalid_redirect_uri` or `invalid_client_metadata` (RFC 7591 §3.2.2).
- Bearer tokens: the initial access token in `token` mode (RFC 7591 §3) and each client's
  registration access token (RFC 7592 §3), stored as a SHA-256 digest. Both are compared in
  constant time; a missing or wrong one is `invalid_token` (RFC 6750 §3.1).
- The client information response (RFC 7591 §3.2.1, RFC 7592 §3).
- Expiry: each registration first deletes dynamic clients unused for
  IDP_DYNAMIC_CLIENT_UNUSED_TTL (clients.prune_unused).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2.rfc6749 import InvalidRequestError, JsonPayload, OAuth2Error
from authlib.oauth2.rfc7591 import (
    ClientMetadataClaims,
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint
from flask import Request
from flask import request as flask_request
from joserfc.errors import JoseError

from idp.core.security import digest, new_token, same
from idp.errors import InvalidInput
from idp.oauth import clients
from idp.oauth.bearer import BearerTokenError, bearer_token
from idp.oauth.errors import printable
from idp.oauth.limits import oversized_metadata
from idp.oauth.models import Client
from idp.oauth.scopes import SUPPORTED_SCOPES

REFUSED_GRANTS = {"implicit": "the implicit grant", "password": "the password grant"}
# Members of a JWK that only a private or symmetric key has (RFC 7518 §6).
SECRET_KEY_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


class ClientMetadata(ClientMetadataClaims):  # type: ignore[misc]
    """The client metadata we register (RFC 7591 §2); anything else is ignored, as §2 asks."""

    REGISTERED_CLAIMS = [
        "redirect_uris",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
        "client_name",
        "client_uri",
        "logo_uri",
        "scope",
        "jwks",
        "post_logout_redirect_uris",  # OpenID Connect RP-Initiated Logout §3.1
    ]
    LISTS = ("redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types")
    STRINGS = ("client_name", "client_uri", "logo_uri", "scope", "token_endpoint_auth_method")

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        # In place of Authlib's list: its URI checks answer invalid_client_metadata where
        # RFC 7591 §3.2.2 wants invalid_redirect_uri, and the client store checks the URIs,
        # scopes and names every client must have.
        self.validate_types()
        self.validate_grant_types()
        self.validate_response_types()
        self.validate_token_endpoint_auth_method()
        self.validate_jwks()

    def validate_types(self) -> None:
        for key in self.LISTS:
            if key in self and not _is_list_of_strings(self[key]):
                raise InvalidClientMetadataError(f"{key} must be an array of strings.")
        for key in self.STRINGS:
            if key in self and not isinstance(self[key], str):
                raise InvalidClientMetadataError(f"{key} must be a string.")
        if "jwks" in self and not isinstance(self["jwks"], dict):
            raise InvalidClientMetadataError("jwks must be a JSON Web Key Set object.")
        oversized = oversized_metadata(self)
        if oversized:
            raise InvalidClientMetadataError(oversized)

    def validate_grant_types(self) -> None:
        # RFC 7591 §2: without grant_types the client uses only authorization_code.
        grants = self.setdefault("grant_types", ["authorization_code"])
        for grant in grants:
            if grant in REFUSED_GRANTS:
                raise InvalidClientMetadataError(
                    f"OAuth 2.1 does not allow {REFUSED_GRANTS[grant]}; use authorization_code."
                )

    def validate_response_types(self) -> None:
        uses_code = "authorization_code" in self["grant_types"]
        types = self.setdefault("response_types", ["code"] if uses_code else [])
        if any(value != "code" for value in types):
            raise InvalidClientMetadataError("The only supported response type is code.")
        # RFC 7591 §2.1: the code response type goes with the authorization_code grant.
        if ("code" in types) != uses_code:
            raise InvalidClientMetadataError(
                "response_types must be [code] with the authorization_code grant and [] without."
            )

    def validate_token_endpoint_auth_method(self) -> None:
        # RFC 7591 §2: the default is client_secret_basic.
        method = self.setdefault("token_endpoint_auth_method", "client_secret_basic")
        supported = self.params.get("token_endpoint_auth_methods_supported", [])
        if method not in supported:
            raise InvalidClientMetadataError(
                printable(f"token_endpoint_auth_method must be one of {', '.join(supported)}.")
            )

    def validate_jwks(self) -> None:
        if "jwks" not in self:
            return
        keys = self["jwks"].get("keys")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
            raise InvalidClientMetadataError("jwks must be a JWK Set: an object with a keys array.")
        if any(SECRET_KEY_MEMBERS & set(key) for key in keys):
            raise InvalidClientMetadataError("jwks must hold public keys only.")
        super().validate_jwks()  # keys Authlib can import, and never beside jwks_uri


def _is_list_of_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def client_spec(metadata: dict[str, Any]) -> clients.ClientSpec:
    """A store request from validated metadata, filling the defaults RFC 7591 §2 leaves to us."""
    redirect_uris = list(metadata.get("redirect_uris", []))
    return clients.ClientSpec(
        name=metadata.get("client_name") or _default_name(redirect_uris),
        redirect_uris=redirect_uris,
        grant_types=list(metadata["grant_types"]),
        scopes=metadata.get("scope", "").split() or list(SUPPORTED_SCOPES),
        auth_method=metadata["token_endpoint_auth_method"],
        post_logout_redirect_uris=list(metadata.get("post_logout_redirect_uris", [])),
        logo_uri=metadata.get("logo_uri"),
        client_uri=metadata.get("client_uri"),
        jwks=metadata.get("jwks"),
    )


def _default_name(redirect_uris: list[str]) -> str:
    """The host people will be sent back to: the least surprising name for a nameless app."""
    for uri in redirect_uris:
        try:
            parts = urlsplit(uri)
        except ValueError:
            continue
        if parts.hostname or parts.scheme:
            return parts.hostname or parts.scheme
    return "Unnamed app"


def protocol_error(error: InvalidInput) -> OAuth2Error:
    """The RFC 7591 §3.2.2 error for a client the store refused."""
    kind = InvalidRedirectURIError if error.field == "redirect_uris" else InvalidClientMetadataError
    return kind(printable(error.message))


@dataclass
class Issued:
    """Secrets minted by this request: shown once, in this response only."""

    registration_token: str
    client_secret: str | None = None


def client_information(client: Client, issuer: str, issued: Issued) -> dict[str, Any]:
    """What is registered, and how to manage it (RFC 7591 §3.2.1, RFC 7592 §3)."""
    info: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"] if "authorization_code" in client.grant_types else [],
        "token_endpoint_auth_method": client.auth_method,
        "scope": client.scope,
        "registration_access_token": issued.registration_token,
        "registration_client_uri": f"{issuer}/register/{client.client_id}",
    }
    optional = {"logo_uri": client.logo_uri, "client_uri": client.client_uri, "jwks": client.jwks}
    info.update({key: value for key, value in optional.items() if value is not None})
    if client.secret_hash is not None:
        info["client_secret_expires_at"] = 0  # never
    if issued.client_secret is not None:
        info["client_secret"] = issued.client_secret
    return info


class MetadataBody(JsonPayload):  # type: ignore[misc]
    """The request body: a JSON object, or `invalid_client_metadata`."""

    def __init__(self, request: Request) -> None:
        self._request = request

    @cached_property
    def data(self) -> dict[str, Any]:
        body = self._request.get_json(silent=True) if self._request.is_json else None
        if not isinstance(body, dict):
            raise InvalidClientMetadataError(
                "Send the client metadata as a JSON object with Content-Type: application/json."
            )
        return body


@dataclass
class RegistrationAccess:
    """What a valid bearer token here allows: registering, or managing its own client."""

    token: str | None = None
    client: Client | None = None

    def check_client(self, client: Client) -> bool:
        return self.client is not None and self.client.id == client.id


class MetadataEndpoint:
    """What registration and configuration share: the body, the metadata, the server's rules."""

    issuer: str
    server_metadata: dict[str, Any]

    def create_endpoint_request(self, request: Any) -> FlaskJsonRequest:
        json_request = FlaskJsonRequest(flask_request)
        json_request.payload = MetadataBody(flask_request)
        json_request.client_id = (flask_request.view_args or {}).get("client_id")
        return json_request

    def get_server_metadata(self) -> dict[str, Any]:
        return self.server_metadata

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        claims = ClientMetadata(request.payload.data, {}, {}, self.server_metadata)
        try:
            claims.validate()
        except JoseError as error:
            raise InvalidClientMetadataError(printable(error.description)) from error
        registered: dict[str, Any] = claims.get_registered_claims()
        return registered


class RegistrationEndpoint(MetadataEndpoint, ClientRegistrationEndpoint):  # type: ignore[misc]
    """POST /register (RFC 7591 §3); open, or guarded by an initial access token."""

    def __init__(
        self,
        *,
        issuer: str,
        server_metadata: dict[str, Any],
        initial_token: str | None,
        unused_ttl: int,
    ) -> None:
        super().__init__()
        self.issuer = issuer
        self.server_metadata = server_metadata
        self.initial_token = initial_token
        self.unused_ttl = unused_ttl

    def authenticate_token(self, request: Any) -> RegistrationAccess:
        if self.initial_token is None:
            return RegistrationAccess()
        presented = bearer_token(request.headers.get("Authorization"))
        if presented is None:
            raise BearerTokenError("Registration needs an initial access token (Bearer).")
        if not same(digest(presented), digest(self.initial_token)):
            raise BearerTokenError("The initial access token is not valid.")
        return RegistrationAccess(token=presented)

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        """Nothing yet: the store mints the id and secret, added after saving."""
        return {}

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> Client:
        clients.prune_unused(self.unused_ttl)  # registrations nobody used go first
        token = new_token(32)
        try:
            client, secret = clients.create_client(
                client_spec(client_metadata), dynamic=True, registration_token=token
            )
        except InvalidInput as error:
            raise protocol_error(error) from error
        request.issued = Issued(registration_token=token, client_secret=secret)
        return client

    def generate_client_registration_info(self, client: Client, request: Any) -> dict[str, Any]:
        return client_information(client, self.issuer, request.issued)


class ConfigurationEndpoint(MetadataEndpoint, ClientConfigurationEndpoint):  # type: ignore[misc]
    """GET, PUT and DELETE /register/<client_id> with the registration access token (RFC 7592)."""

    def __init__(self, *, issuer: str, server_metadata: dict[str, Any]) -> None:
        super().__init__()
        self.issuer = issuer
        self.server_metadata = server_metadata

    def authenticate_token(self, request: Any) -> RegistrationAccess:
        # RFC 7592 §2: an invalid token is an RFC 6750 error. An unknown client gets the same
        # answer, so the endpoint does not tell which client ids exist.
        presented = bearer_token(request.headers.get("Authorization"))
        if presented is None:
            raise BearerTokenError("Send the registration access token as a Bearer token.")
        client = clients.find_client(request.client_id or "")
        stored = client.registration_token_hash if client is not None else None
        if client is None or stored is None or not same(digest(presented), stored):
            raise BearerTokenError("The registration access token is not valid for this client.")
        return RegistrationAccess(token=presented, client=client)

    def authenticate_client(self, request: Any) -> Client | None:
        access: RegistrationAccess = request.credential
        return access.client

    def revoke_access_token(self, request: Any, token: Any) -> None:
        """Never needed: `authenticate_token` accepts a token only together with its client."""

    def check_permission(self, client: Client, request: Any) -> bool:
        return client.dynamic

    def introspect_client(self, client: Client) -> dict[str, Any]:
        return {}

    def generate_client_registration_info(self, client: Client, request: Any) -> dict[str, Any]:
        issued = getattr(request, "issued", None) or Issued(request.credential.token)
        return client_information(client, self.issuer, issued)

    def create_update_client_response(self, client: Client, request: Any) -> Any:
        data = request.payload.data
        # RFC 7592 §2.2: these fields are the server's to set.
        for key in (
            "registration_access_token",
            "registration_client_uri",
            "client_secret_expires_at",
            "client_id_issued_at",
        ):
            if key in data:
                raise InvalidRequestError(f"{key} must not be sent in an update.")
        if data.get("client_id") != client.client_id:
            raise InvalidRequestError("client_id must be sent and name the client being updated.")
        secret = data.get("client_secret")
        if "client_secret" in data and not (
            isinstance(secret, str) and client.check_client_secret(secret)
        ):
            raise InvalidRequestError("client_secret does not match the client's secret.")
        client = self.update_client(client, self.extract_client_metadata(request), request)
        return self.create_read_client_response(client, request)

    def update_client(
        self, client: Client, client_metadata: dict[str, Any], request: Any
    ) -> Client:
        # RFC 7592 §2.2: the request replaces the metadata; omitted fields take their defaults.
        try:
            secret = clients.update_client(client, client_spec(client_metadata))
        except InvalidInput as error:
            raise protocol_error(error) from error
        request.issued = Issued(request.credential.token, client_secret=secret)
        return client

    def delete_client(self, client: Client, request: Any) -> None:
        clients.delete_client(client.client_id)

"""Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2, built once per app;
only `scopes_supported` follows the resources registered since (re-rendered when the
`resources` change counter of idp.core.generations moves)."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app

from idp.core import generations
from idp.keys.jwk import ALGORITHMS
from idp.oauth import acr
from idp.oauth.client_auth import AUTH_METHODS, CONFIDENTIAL_METHODS, SIGNING_ALGORITHMS
from idp.oauth.clients import GRANT_TYPES
from idp.oauth.resources import valid_scopes
from idp.oauth.scopes import SUPPORTED_CLAIMS, SUPPORTED_SCOPES

RECHECK_SECONDS = 1.0  # as the key store's: how long another process's change may go unseen
_documents: generations.Cache[bytes] = generations.Cache(
    "resources", recheck_seconds=RECHECK_SECONDS
)
_generation = generations.in_session("resources")


def metadata(
    issuer: str, *, registration: bool = False, metadata_documents: bool = False
) -> dict[str, Any]:
    """The metadata; `registration` advertises dynamic client registration (RFC 7591 §3),
    `metadata_documents` URL client_ids (Client ID Metadata Documents; MCP 2025-11-25)."""
    document: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGORITHMS,
        # RFC 8414 §2: introspection (RFC 7662) for confidential clients; revocation (RFC 7009)
        # for public clients too.
        "introspection_endpoint": f"{issuer}/introspect",
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": SIGNING_ALGORITHMS,
        "revocation_endpoint": f"{issuer}/revoke",
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": SIGNING_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        # RFC 8628 §4
        "device_authorization_endpoint": f"{issuer}/device_authorization",
        "claims_supported": SUPPORTED_CLAIMS,
        "claims_parameter_supported": True,
        "acr_values_supported": acr.SUPPORTED,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": True,
        "claim_types_supported": ["normal"],
        "ui_locales_supported": ["en"],
    }
    if registration:
        document["registration_endpoint"] = f"{issuer}/register"
    if metadata_documents:
        document["client_id_metadata_document_supported"] = True
    return document


def serialized(
    issuer: str, *, registration: bool = False, metadata_documents: bool = False
) -> bytes:
    document = metadata(issuer, registration=registration, metadata_documents=metadata_documents)
    return json.dumps(document, separators=(",", ":")).encode()


def app_metadata() -> bytes:
    """The current app's metadata document: serialised once, but for `scopes_supported`,
    which lists the OpenID Connect scopes and those of the registered resources. Kept as bytes
    until a resource changes: at once in this process, within RECHECK_SECONDS in others."""
    base: bytes = current_app.extensions["idp.oauth.discovery"]
    return _documents.get(base, lambda: _with_scopes(base), _generation)


def kept_metadata(app: Flask) -> bytes | None:
    """`app_metadata()` when it is kept and due no check: no app context needed."""
    return _documents.peek(app.extensions["idp.oauth.discovery"])


def _with_scopes(base: bytes) -> bytes:
    document = json.loads(base)
    document["scopes_supported"] = valid_scopes()
    return json.dumps(document, separators=(",", ":")).encode()

"""The largest values clients may send, in one place (the README's "Limits" table lists them).

- Request parameters (`oversized_parameter`): checked on arrival at the authorization, token,
  introspection, revocation, device, userinfo and logout endpoints (idp.web.inputs).
- Client metadata (`oversized_metadata`): at POST and PUT /register (RFC 7591 §2), including
  members we otherwise ignore; the client store (idp.oauth.clients) applies the same limits
  to clients made by the `idp` command.

A value over its limit is refused with a message naming the field and the limit; nothing is
stored.
"""

from __future__ import annotations

from typing import Any

MAX_URI_LENGTH = 2000  # every URI: redirect, logout, logo, client, resource, ...
MAX_NAME_LENGTH = 200  # client_name (the column's size)
MAX_REDIRECT_URIS = 20  # redirect_uris, and post_logout_redirect_uris
MAX_SCOPE_LENGTH = 1000  # a scope string, all its scopes with their spaces
MAX_STATE_LENGTH = 1000  # state (RFC 6749 §4.1.1), sent back to the client
MAX_NONCE_LENGTH = 512  # nonce (OpenID Connect Core §3.1.2.1), stored with the code
MAX_CLAIMS_LENGTH = 4000  # the claims parameter (OpenID Connect Core §5.5), JSON
MAX_HINT_LENGTH = 4000  # login_hint, id_token_hint (an ID token), acr_values, ui_locales
MAX_CONTACTS = 10  # contacts (RFC 7591 §2), each an email address
MAX_EMAIL_LENGTH = 320
MAX_TEXT_LENGTH = 200  # software_id, software_version
MAX_LIST_LENGTH = 10  # grant_types, response_types, keys in jwks
MAX_LIFETIME = 10 * 365 * 86400  # seconds: any token lifetime set by the `idp` command or admin

PARAMETER_LIMITS = {
    "state": MAX_STATE_LENGTH,
    "nonce": MAX_NONCE_LENGTH,
    "scope": MAX_SCOPE_LENGTH,
    "claims": MAX_CLAIMS_LENGTH,
    "redirect_uri": MAX_URI_LENGTH,
    "post_logout_redirect_uri": MAX_URI_LENGTH,
    "resource": MAX_URI_LENGTH,
    "login_hint": MAX_HINT_LENGTH,
    "id_token_hint": MAX_HINT_LENGTH,
    "acr_values": MAX_HINT_LENGTH,
    "ui_locales": MAX_HINT_LENGTH,
}

METADATA_STRINGS = {
    "client_name": MAX_NAME_LENGTH,
    "scope": MAX_SCOPE_LENGTH,
    "client_uri": MAX_URI_LENGTH,
    "logo_uri": MAX_URI_LENGTH,
    "tos_uri": MAX_URI_LENGTH,
    "policy_uri": MAX_URI_LENGTH,
    "jwks_uri": MAX_URI_LENGTH,
    "software_id": MAX_TEXT_LENGTH,
    "software_version": MAX_TEXT_LENGTH,
}
METADATA_LISTS = {
    "redirect_uris": (MAX_REDIRECT_URIS, MAX_URI_LENGTH),
    "post_logout_redirect_uris": (MAX_REDIRECT_URIS, MAX_URI_LENGTH),
    "contacts": (MAX_CONTACTS, MAX_EMAIL_LENGTH),
    "grant_types": (MAX_LIST_LENGTH, MAX_TEXT_LENGTH),
    "response_types": (MAX_LIST_LENGTH, MAX_TEXT_LENGTH),
}


def oversized_parameter(params: list[tuple[str, str]]) -> str | None:
    """What is wrong with the first request parameter over its limit, or None."""
    for name, value in params:
        limit = PARAMETER_LIMITS.get(name)
        if limit is not None and len(value) > limit:
            return f"{name} has at most {limit} characters."
    return None


def oversized_metadata(metadata: dict[str, Any]) -> str | None:
    """What is wrong with the first client metadata member over its limit, or None."""
    for name, limit in METADATA_STRINGS.items():
        value = metadata.get(name)
        if isinstance(value, str) and len(value) > limit:
            return f"{name} has at most {limit} characters."
    for name, (count, length) in METADATA_LISTS.items():
        values = metadata.get(name)
        if not isinstance(values, list):
            continue
        if len(values) > count:
            return f"{name} has at most {count} entries."
        if any(isinstance(v, str) and len(v) > length for v in values):
            return f"Each of {name} has at most {length} characters."
    jwks = metadata.get("jwks")
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if isinstance(keys, list) and len(keys) > MAX_LIST_LENGTH:
        return f"jwks has at most {MAX_LIST_LENGTH} keys."
    return None

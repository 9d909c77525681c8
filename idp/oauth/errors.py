"""Protocol errors of our own, one class per error, each with the text that defines it.

Authlib has the errors of RFC 6749 and OpenID Connect Core §3.1.2.6 that it raises itself
(`authlib.oauth2.rfc6749.errors`, `authlib.oidc.core.errors`); those are used as they are.
How an error reaches the client (redirect, form post or our own page) is idp.oauth.delivery.

An `error_description` holds only the characters RFC 6749 §5.2 allows (Authlib raises
ValueError for any other). So a description never carries raw client input: our own pass it
through `printable`, and parameters Authlib itself echoes in its descriptions (`redirect_uri`,
`response_type`) are refused first by `unprintable_parameter` when they hold a character no
valid value has.
"""

from __future__ import annotations

from collections.abc import Iterable

from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError, OAuth2Error

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: "The requested resource is invalid, missing, unknown, or malformed."."""

    error = "invalid_target"
    status_code = 400


# Parameters whose every valid value is within DESCRIPTION_CHARS: URIs (RFC 3986 §2: ASCII
# without quote or backslash), scope tokens (RFC 6749 §3.3), response and grant types and the
# other registered values (RFC 6749 §3.1.1, §4.1.3; RFC 7636 §4.3; RFC 7009 §2.1). Each maps
# to the error a malformed value gets.
PRINTABLE_PARAMETERS: dict[str, type[OAuth2Error]] = {
    "redirect_uri": InvalidRequestError,
    "post_logout_redirect_uri": InvalidRequestError,
    "response_type": InvalidRequestError,
    "response_mode": InvalidRequestError,
    "grant_type": InvalidRequestError,
    "code_challenge_method": InvalidRequestError,
    "token_type_hint": InvalidRequestError,
    "scope": InvalidScopeError,
    "resource": InvalidTargetError,
}


def printable(text: str) -> str:
    """`text` fit for an error_description: any character RFC 6749 §5.2 forbids becomes "?"."""
    return "".join(ch if ch in DESCRIPTION_CHARS else "?" for ch in text)


def unprintable_parameter(params: Iterable[tuple[str, str]]) -> OAuth2Error | None:
    """The error for the first parameter of PRINTABLE_PARAMETERS holding a character outside
    DESCRIPTION_CHARS (no valid value does), or None. The description names the parameter,
    never its value."""
    for name, value in params:
        kind = PRINTABLE_PARAMETERS.get(name)
        if kind is not None and not DESCRIPTION_CHARS.issuperset(value):
            return kind(f"{name} holds a character that no valid value has.")
    return None


class RequestNotSupported(OAuth2Error):
    """OpenID Connect Core §3.1.2.6: "The OP does not support use of the request parameter
    defined in Section 6." We never accept request objects."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuth2Error):
    """OpenID Connect Core §3.1.2.6: "The OP does not support use of the request_uri parameter
    defined in Section 6." We never fetch request objects by reference."""

    error = "request_uri_not_supported"


class AccessDenied(OAuth2Error):
    """RFC 6749 §4.1.2.1: "The resource owner or authorization server denied the request."
    Sent when the user answers no on the consent page."""

    error = "access_denied"
    description = "The user denied the request."

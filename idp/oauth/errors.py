"""Protocol errors of our own, one class per error, each with the text that defines it.

Authlib has the errors of RFC 6749 and OpenID Connect Core §3.1.2.6 that it raises itself
(`authlib.oauth2.rfc6749.errors`, `authlib.oidc.core.errors`); those are used as they are.
How an error reaches the client (redirect, form post or our own page) is idp.oauth.delivery.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import OAuth2Error


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

"""How an authorization response reaches the client, as data the web layer renders.

- Success and error responses carry `iss` (RFC 9207 §2) and go by redirect (query response
  mode) or by an auto-submitting form (`form_post`, OAuth 2.0 Form Post Response Mode §2).
- An error goes back to the client with `state` (RFC 6749 §4.1.2.1), unless the client or its
  redirect URI could not be trusted: then the user sees our own page, never a redirect.

What the response holds (the code) is Authlib's; which errors there are is idp.oauth.errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc6749.errors import OAuth2Error

FORM_POST = "form_post"
RESPONSE_MODES = ("query", FORM_POST)


@dataclass(frozen=True)
class Respond:
    """Deliver an authorization response (success or error) to the client."""

    action: str  # the redirect URI, without query
    params: tuple[tuple[str, str], ...]
    form_post: bool

    @property
    def location(self) -> str:
        """The redirect for the query response mode (RFC 6749 §4.1.2)."""
        return urlunsplit(urlsplit(self.action)._replace(query=urlencode(self.params)))


@dataclass(frozen=True)
class ErrorPage:
    """Show the user our own error page; nothing goes to the client."""

    status: int
    message: str


def respond(location: str, response_mode: str | None, issuer: str) -> Respond:
    """The response Authlib built as a redirect to `location`, with `iss` (RFC 9207 §2)."""
    parts = urlsplit(location)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    params.append(("iss", issuer))
    action = urlunsplit(parts._replace(query=""))
    return Respond(action, tuple(params), response_mode == FORM_POST)


def error_response(
    error: OAuth2Error, state: str | None, response_mode: str | None, issuer: str
) -> Respond | ErrorPage:
    """RFC 6749 §4.1.2.1: to the client with `state`, or, without a trusted redirect URI, to
    the user."""
    if not error.redirect_uri:
        message = error.description or "The application sent an invalid sign-in request."
        return ErrorPage(400, f"{message} ({error.error})")
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    if state is not None:
        params.append(("state", state))
    parts = urlsplit(error.redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + params
    return respond(urlunsplit(parts._replace(query=urlencode(query))), response_mode, issuer)

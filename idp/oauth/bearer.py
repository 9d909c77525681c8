"""RFC 6750 on our side: reading a Bearer token from a request and writing the challenge.

`bearer_token` reads the header's scheme and token itself: Werkzeug's parser would also decode
a Basic header, and fail on one that is not base64 of UTF-8. Werkzeug's `WWWAuthenticate`
holds the challenge. Its serialisation leaves
token-shaped values bare (`error=invalid_token`); RFC 6750 §3 writes every value as a
quoted-string and clients match that, so `BearerChallenge` quotes them all, escaping `"` and
`\\` with Werkzeug's `quote_header_value`. Which errors there are is the endpoints'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6750 import InvalidTokenError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.http import quote_header_value


class BearerChallenge(WWWAuthenticate):
    """A `Bearer` challenge (RFC 6750 §3) with every value a quoted-string, in order."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__("bearer", dict(values.items()))

    def to_header(self) -> str:
        values = self.parameters.items()
        params = (f"{k}={quote_header_value(v, allow_token=False)}" for k, v in values)
        return "Bearer " + ", ".join(params)


def bearer_token(authorization: str | None) -> str | None:
    """RFC 6750 §2.1: the token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, *token = (authorization or "").split(None, 1) or [""]
    if scheme.lower() != "bearer":
        return None
    return "".join(token).strip() or None


class BearerTokenError(InvalidTokenError):  # type: ignore[misc]
    """RFC 6750 §3.1 invalid_token, its challenge built by `BearerChallenge`."""

    def get_headers(self) -> list[tuple[str, Any]]:
        headers: list[tuple[str, Any]] = [
            h for h in super().get_headers() if h[0] != "WWW-Authenticate"
        ]
        challenge = {"error": self.error, "error_description": self.get_error_description()}
        headers.append(("WWW-Authenticate", BearerChallenge(challenge).to_header()))
        return headers

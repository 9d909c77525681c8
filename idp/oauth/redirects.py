"""Redirect URIs: what may be registered, and how a request's URI must match.

Registration (RFC 8252 §7, RFC 9700 §4.1.1): HTTPS; `http` only on loopback; or a
private-use scheme in reverse-domain form for native apps. Never a fragment
(RFC 6749 §3.1.2), never a user name or password, a port, if any, from 1 to 65535, and
ASCII only (RFC 3986 §3.2.2: an internationalised host in its IDNA form, xn--...).
Matching is exact string comparison (RFC 9700 §4.1.3), except that the port of a loopback
redirect URI may vary (RFC 8252 §7.3): nothing else about it may differ.

Loopback is 127.0.0.1, [::1] and also `localhost`: RFC 8252 §8.3 prefers the IP literals, but
MCP clients register `http://localhost:<port>/callback`, so it is treated like them.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}  # as urlsplit(...).hostname gives them
# RFC 8252 §7.1: a private-use scheme is a reverse domain name such as com.example.app.
PRIVATE_USE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$")


def problem_with(uri: str) -> str | None:
    """Why `uri` cannot be registered, or None when it can."""
    if any(ch.isspace() for ch in uri):
        return "must not contain whitespace"
    if not uri.isascii():  # RFC 3986 §2 and §3.2.2: a URI is ASCII; a host is in IDNA form
        return "must be ASCII: write an internationalised host in its IDNA form (xn--...)"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a valid URI"
    if "#" in uri:
        return "must not contain a fragment"
    if "@" in parts.netloc:
        return "must not contain a user name or password"
    if not _has_valid_port(parts):
        return "must have a port from 1 to 65535"
    if parts.scheme == "https":
        return None if parts.hostname else "must name a host"
    if parts.scheme == "http":
        if parts.hostname in LOOPBACK_HOSTS:
            return None
        return "may use http only on a loopback address (127.0.0.1, [::1] or localhost)"
    if PRIVATE_USE_SCHEME.match(parts.scheme):
        return None
    return (
        "must be https, http on a loopback address, or a private-use scheme like com.example.app:/"
    )


def matches_registered(requested: str, registered: list[str]) -> bool:
    """Whether `requested` is one of `registered`, the port of a loopback URI aside."""
    if problem_with(requested) is not None:
        return False
    if requested in registered:
        return True
    asked = _without_loopback_port(requested)
    return asked is not None and any(_without_loopback_port(uri) == asked for uri in registered)


def _has_valid_port(parts: SplitResult) -> bool:
    """No port, or a whole number from 1 to 65535 (an empty port after ':' is refused too)."""
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return False
    if port is None:
        return not parts.netloc.endswith(":")
    return port > 0


def _without_loopback_port(uri: str) -> str | None:
    """`uri`, character for character, with the port removed; None unless it is a valid
    http loopback URI (the only kind whose port may vary)."""
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or problem_with(uri):
        return None
    host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    start = uri.index("//") + 2
    return uri[:start] + host + uri[start + len(parts.netloc) :]

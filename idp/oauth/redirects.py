"""Redirect URIs: what may be registered, and how a request's URI must match.

Registration (RFC 8252 §7, RFC 9700 §4.1.1): HTTPS; `http` only on loopback; or a
private-use scheme in reverse-domain form for native apps. Never a fragment
(RFC 6749 §3.1.2). Matching is exact string comparison, except that the port of a loopback
redirect URI may vary (RFC 8252 §7.3).

Loopback is 127.0.0.1, [::1] and also `localhost`: RFC 8252 §8.3 prefers the IP literals, but
MCP clients register `http://localhost:<port>/callback`, so it is treated like them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}  # as urlsplit(...).hostname gives them
# RFC 8252 §7.1: a private-use scheme is a reverse domain name such as com.example.app.
PRIVATE_USE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$")


def problem_with(uri: str) -> str | None:
    """Why `uri` cannot be registered, or None when it can."""
    if any(ch.isspace() for ch in uri):
        return "must not contain whitespace"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a valid URI"
    if "#" in uri:
        return "must not contain a fragment"
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
    if requested in registered:
        return True
    asked = urlsplit(requested)
    if asked.scheme != "http" or asked.hostname not in LOOPBACK_HOSTS:
        return False
    for uri in registered:
        known = urlsplit(uri)
        if (
            known.scheme == "http"
            and known.hostname == asked.hostname
            and (known.path, known.query) == (asked.path, asked.query)
            and not asked.fragment
        ):
            return True
    return False

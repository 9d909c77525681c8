"""Helpers for protocol tests: register clients, walk the browser through authorize."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.conftest import REDIRECT_URI, Browser, RegisteredClient  # noqa: F401 (re-exported)

# The client factory lives in tests/helpers/factories.py: page and Redis tests register clients too.


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def authorize_url(client: RegisteredClient, challenge: str, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile email",
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }
    return "/authorize?" + urlencode({k: v for k, v in query.items() if v is not None})


def follow(
    browser: Browser,
    path: str,
    *,
    consent: str | None = "allow",
    sign_in: tuple[str, str] | None = None,
) -> str:
    """Follow redirects as a browser would, signing in and answering consent when asked.

    Returns the final Location outside this server (the client's redirect URI).
    """
    location = path
    for _ in range(10):
        if not location.startswith("/") and not location.startswith(browser.base):
            return location
        path = location.removeprefix(browser.base)
        if path.startswith("/sign-in"):
            assert sign_in, "the flow asked to sign in"
            nxt = parse_qs(urlsplit(path).query)["next"][0]
            response = browser.submit(
                path, action="/sign-in", email=sign_in[0], password=sign_in[1], next=nxt
            )
            assert response.status_code == 303, response.text
        elif path.startswith("/authorize/consent/"):
            assert consent, "the flow asked for consent"
            response = browser.submit(path, decision=consent)
        else:
            response = browser.get(path)
        if response.status_code not in (302, 303):
            raise AssertionError(f"{path} answered {response.status_code}: {response.text[:500]}")
        location = response.headers["Location"]
    raise AssertionError("too many redirects")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

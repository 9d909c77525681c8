"""Generated odd input at every endpoint clients and people reach: never a 5xx, and a refused
request (4xx) stores nothing.

Hypothesis starts from a valid request and changes one to three of its fields: NUL and other
control characters, quotes and backslashes (which RFC 6749 §5.2 keeps out of
error_description), non-ASCII text, huge strings, JSON nested thousands deep, values of the
wrong JSON type, a field sent twice, and Authorization headers that are not base64 of UTF-8.
RFC 6749 §5.2 and RFC 7591 §3.2.2 answer such input with an error (4xx). The examples are new
on every run and none are saved (`database=None`); a failure prints the request that caused
it. Each test runs up to 50 examples through the Flask test client, on SQLite and, in CI, on
PostgreSQL (which refuses NUL in text) with Redis.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CSRF, PASSWORD, REDIRECT_URI
from tests.helpers.waiting import settle
from tests.oauth.conftest import pkce

FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app for all examples, compared by snapshot
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# Rate limits and lockout would turn most examples into 429s.
GENEROUS = pytest.mark.settings(
    IDP_SIGN_IN_IP_LIMIT="100000 per minute",
    IDP_SIGN_IN_ACCOUNT_LIMIT="100000 per minute",
    IDP_SIGN_UP_IP_LIMIT="100000 per minute",
    IDP_EMAIL_SEND_LIMIT="100000 per minute",
    IDP_REGISTRATION_LIMIT="100000 per minute",
    IDP_LOCKOUT_SLOW_AFTER="99999",
    IDP_LOCKOUT_AFTER="100000",
)
pytestmark = GENEROUS

NASTY = ["\x00", "a\x00b", '"', "\\", "\t", "\n", "é", "☃", "\u2028", "\x7f", "\x01", "%00"]
TEXT = st.characters(exclude_categories=["Cs"])  # lone surrogates cannot be sent at all


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


ODD = st.one_of(
    st.sampled_from(NASTY),
    st.text(TEXT, max_size=30),
    st.tuples(
        st.sampled_from(["code", "openid", REDIRECT_URI, "https://x.example/"]),
        st.text(TEXT, min_size=1, max_size=3),
    ).map("".join),
    st.tuples(
        st.sampled_from(["code ", "openid ", "https://x.example/"]), st.sampled_from(NASTY)
    ).map("".join),
    st.integers(min_value=1_000, max_value=20_000).map(lambda n: "x" * n),
    st.integers(min_value=1_000, max_value=5_000).map(_deep),
)
# What a header may carry through WSGI: Latin-1, no line breaks.
HEADER_TEXT = st.text(st.characters(max_codepoint=0xFF, exclude_characters="\r\n"), max_size=40)
AUTHORIZATION = st.one_of(
    st.none(),
    st.binary(max_size=24).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
    HEADER_TEXT.map(lambda text: "Basic " + text),
    st.sampled_from(NASTY).map(lambda text: "Basic " + base64.b64encode(text.encode()).decode()),
    HEADER_TEXT.map(lambda text: "Bearer " + text),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ODD,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def changed(draw: Any, base: dict[str, str], names: list[str]) -> list[tuple[str, str]]:
    """`base` with one to three fields replaced by, or sent again with, odd values."""
    pairs = list(base.items())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        name = draw(st.sampled_from(names) | st.text(TEXT, max_size=8))
        if draw(st.booleans()):
            pairs = [(key, value) for key, value in pairs if key != name]
        pairs.append((name, draw(ODD)))
    return pairs


class Harness:
    """Send a request, then check its answer: no 5xx, and after a 4xx the same rows."""

    def __init__(self, snapshot: Any) -> None:
        self.snapshot = snapshot

    def check(self, send: Any) -> None:
        before = self.snapshot()
        response = send()
        settle()  # work after the answer lands before the comparison
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        if 400 <= response.status_code < 500:
            assert self.snapshot() == before, response.status_code


@pytest.fixture
def harness(snapshot: Any) -> Harness:
    return Harness(snapshot)


@pytest.fixture
def client(make_client: Any) -> Any:
    return make_client(grant_types=["authorization_code", "refresh_token", "client_credentials"])


AUTHORIZE = [
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "resource", "claims", "prompt", "max_age", "login_hint",
    "id_token_hint", "acr_values", "response_mode", "request", "request_uri", "ui_locales",
]  # fmt: skip


@FUZZ
@given(data=st.data())
def test_authorize_and_logout(http, harness, client, data):
    base = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile",
        "state": "st",
        "nonce": "n",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }
    params = data.draw(changed(base, AUTHORIZE))
    method = data.draw(st.sampled_from(["GET", "POST"]))
    if method == "GET":
        harness.check(lambda: http.get("/authorize", params=params, allow_redirects=False))
    else:
        harness.check(lambda: http.post("/authorize", data=params, allow_redirects=False))
    logout = data.draw(
        changed(
            {"client_id": client.client_id, "post_logout_redirect_uri": REDIRECT_URI},
            ["client_id", "post_logout_redirect_uri", "id_token_hint", "state", "ui_locales"],
        )
    )
    harness.check(lambda: http.get("/logout", params=logout, allow_redirects=False))


TOKEN = [
    "grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope", "resource",
    "client_id", "client_secret", "client_assertion", "client_assertion_type", "device_code",
    "token", "token_type_hint", "access_token",
]  # fmt: skip


@FUZZ
@given(data=st.data())
def test_token_introspection_revocation_userinfo(http, harness, client, data):
    path = data.draw(
        st.sampled_from(["/token", "/introspect", "/revoke", "/userinfo", "/device_authorization"])
    )
    base = {
        "grant_type": data.draw(
            st.sampled_from(["authorization_code", "refresh_token", "client_credentials"])
        ),
        "code": "abc",
        "code_verifier": "v" * 43,
        "redirect_uri": client.redirect_uri,
        "token": "abc",
        "client_id": client.client_id,
    }
    form = data.draw(changed(base, TOKEN))
    pair = f"{client.client_id}:{client.client_secret}".encode()
    header = data.draw(AUTHORIZATION | st.just("Basic " + base64.b64encode(pair).decode()))
    headers = {"Authorization": header} if header is not None else {}
    harness.check(lambda: http.post(path, data=form, headers=headers))


REGISTRATION = [
    "redirect_uris", "client_name", "scope", "grant_types", "response_types",
    "token_endpoint_auth_method", "client_uri", "logo_uri", "jwks", "contacts",
    "post_logout_redirect_uris", "software_id",
]  # fmt: skip


@FUZZ
@given(data=st.data())
def test_registration_and_passkey_json(http, harness, data):
    metadata: dict[str, Any] = {
        "redirect_uris": [REDIRECT_URI],
        "client_name": "Fuzzed",
        "token_endpoint_auth_method": "none",
    }
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        name = data.draw(st.sampled_from(REGISTRATION) | st.text(TEXT, max_size=8))
        metadata[name] = data.draw(JSON_VALUES | ODD.map(lambda text: [text]))
    body = data.draw(
        st.just(json.dumps(metadata))
        | st.integers(min_value=1_000, max_value=5_000).map(_deep)
        | st.integers(min_value=1_000, max_value=5_000).map(lambda n: "[" * n + "]" * n)
    )
    path = data.draw(
        st.sampled_from(["/register", "/register", "/sign-in/passkey/options", "/sign-in/passkey"])
    )
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if path.startswith("/sign-in"):
        headers["X-CSRFToken"] = _csrf(http)
    harness.check(lambda: http.post(path, data=body, headers=headers))


FORMS = {
    "/sign-in": {"email": "ada@example.com", "password": "wrong-password-1", "next": "/account"},
    "/sign-up": {"name": "Bea", "email": "bea@example.com", "password": "x", "next": ""},
    "/sign-in/email": {"email": "cy@example.com", "next": "/account"},
}


@settings(FUZZ, max_examples=30)  # each example hashes a password (Argon2id)
@given(data=st.data())
def test_sign_in_sign_up_and_email_sign_in_forms(http, harness, data):
    page = data.draw(st.sampled_from(sorted(FORMS)))
    fields = data.draw(changed(FORMS[page], [*FORMS[page], "csrf_token", "remember"]))
    if not any(name == "csrf_token" for name, _ in fields):
        fields.append(("csrf_token", _csrf(http)))
    harness.check(lambda: http.post(page, data=fields, allow_redirects=False))


def _csrf(http: Any) -> str:
    match = CSRF.search(http.get("/sign-in").get_data(as_text=True))
    assert match
    return match.group(1)


@pytest.fixture(autouse=True)
def _ada(make_user: Any) -> None:
    make_user("ada@example.com", PASSWORD)

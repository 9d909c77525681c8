"""Input the RFCs call invalid gets a protocol error (or an error page), never a 500, and
stores nothing.

- error_description may hold only %x20-21 / %x23-5B / %x5D-7E (RFC 6749 §5.2): a value with
  other characters is refused without repeating it.
- NUL, refused wherever it comes from (PostgreSQL cannot store it).
- JSON nested thousands deep.
- Basic credentials that are not base64 of UTF-8 `id:secret` (RFC 7617 §2).
"""

from __future__ import annotations

import base64
import html

import pytest

from tests.conftest import CSRF, REDIRECT_URI
from tests.oauth.conftest import authorize_url, pkce

CHALLENGE = pkce()[1]
DEEP = '{"a":' * 5000 + "1" + "}" * 5000
NUL = "Requests must not contain NUL characters."
NUL_URI = REDIRECT_URI + "\x00"
MACHINE = {"grant_type": "client_credentials"}


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("params", "error", "name"),
    [
        ({"response_type": 'code"é'}, "invalid_request", "response_type"),
        ({"redirect_uri": REDIRECT_URI + '?x="é\\'}, "invalid_request", "redirect_uri"),
        ({"resource": "https://api.example/é"}, "invalid_target", "resource"),
        ({"scope": 'openid "profile"'}, "invalid_scope", "scope"),
    ],
    ids=["response_type", "redirect_uri", "resource", "scope"],
)
def test_a_parameter_with_characters_no_valid_value_has_is_refused_without_echo(
    browser, make_client, snapshot, params, error, name
):
    """RFC 6749 §5.2 keeps quotes, backslashes and non-ASCII out of error_description; URIs
    (RFC 3986 §2), scopes (§3.3) and response types (§3.1.1) never hold them. The error page
    names the parameter, not what was sent."""
    client = make_client()
    before = snapshot()

    response = browser.get(authorize_url(client, CHALLENGE, **params))

    assert response.status_code == 400
    assert "Location" not in response.headers
    text = page_text(response)
    assert f"{name} holds a character that no valid value has. ({error})" in text
    assert "é" not in text
    assert snapshot() == before


@pytest.mark.parametrize(
    ("send", "json_answer"),
    [
        (lambda http, c: http.get(authorize_url(c, CHALLENGE, client_id="a\x00b")), False),
        (lambda http, c: http.get(authorize_url(c, CHALLENGE, state="s\x00")), False),
        (lambda http, c: http.post("/token", data={"client_id": "a\x00"}), True),
        (lambda http, c: http.post("/revoke", data={"token": "t\x00"}, auth=_auth(c)), True),
        (lambda http, c: http.post("/introspect", data={"token\x00": "t"}, auth=_auth(c)), True),
        (lambda http, c: http.post("/register", json={"client_name": "a\x00"}), True),
        (lambda http, c: http.post("/register", json={"redirect_uris": [NUL_URI]}), True),
        (lambda http, c: http.get("/register/a%00b", headers={"Authorization": "Bearer x"}), True),
        (lambda http, c: http.post("/token", data=MACHINE, auth=("a\x00", "b")), True),
        (lambda http, c: http.get("/logout", params={"client_id": "a\x00"}), False),
        (lambda http, c: http.get("/authorize/resume/a%00b"), False),
    ],
    ids=[
        "authorize-client_id", "authorize-state", "token-form", "revoke-form", "introspect-name",
        "register-json", "register-json-list", "register-path", "basic-credentials", "logout",
        "resume-path",
    ],
)  # fmt: skip
def test_nul_anywhere_is_invalid_request(http, make_client, snapshot, send, json_answer):
    """RFC 6749 §5.2 invalid_request: "includes an invalid parameter value ... or is otherwise
    malformed". No parameter of OAuth or OpenID Connect holds NUL, and PostgreSQL cannot store
    it: refused before anything reads it, as JSON at protocol endpoints, a page elsewhere."""
    client = make_client()
    before = snapshot()

    response = send(http, client)

    assert response.status_code == 400
    if json_answer:
        assert response.json() == {"error": "invalid_request", "error_description": NUL}
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert f"{NUL} (invalid_request)" in page_text(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("page", "fields"),
    [
        ("/sign-up", {"name": "Bea\x00", "email": "bea@example.com", "password": "x" * 12}),
        ("/sign-in", {"email": "ada\x00@example.com", "password": "whatever-1"}),
        ("/sign-in/email", {"email": "ada@example.com", "next": "/account\x00"}),
    ],
    ids=["sign-up", "sign-in", "email-sign-in"],
)
def test_nul_in_a_form_is_an_error_page(browser, snapshot, page, fields):
    """No field of our forms may hold NUL (the database cannot store it): the form is refused
    with the error page, and nothing is stored."""
    before = snapshot()

    response = browser.submit(page, **fields)

    assert response.status_code == 400
    assert f"{NUL} (invalid_request)" in page_text(response)
    assert snapshot() == before


def test_deep_json_at_registration_is_invalid_request(http, snapshot):
    """RFC 7591 §3.2.2 and RFC 6749 §5.2: a body nested thousands deep is malformed; Python's
    parser would fail with RecursionError."""
    before = snapshot()

    response = http.post("/register", data=DEEP, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "JSON may be nested at most 32 levels deep.",
    }
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/sign-in/passkey/options", "/sign-in/passkey"])
def test_deep_json_at_the_passkey_endpoints_is_refused(http, snapshot, path):
    """The WebAuthn JSON endpoints parse the body first: nested thousands deep, it is refused
    with 400 and the message the page shows."""
    token = CSRF.search(http.get("/sign-in").get_data(as_text=True)).group(1)
    before = snapshot()

    response = http.post(
        path,
        data=DEEP,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRFToken": token,
        },
    )

    assert response.status_code == 400
    assert "nested at most 32 levels" in response.json()["message"]
    assert snapshot() == before


def test_deep_claims_parameter_is_invalid_request(browser, make_client, snapshot):
    """OpenID Connect Core §5.5: `claims` is a JSON object; one nested thousands deep is
    malformed (RFC 6749 §4.1.2.1 invalid_request, sent back to the client)."""
    client = make_client()
    before = snapshot()

    deep = '{"id_token":' + "[" * 1990 + "]" * 1990 + "}"  # within the parameter's 4000
    response = browser.get(authorize_url(client, CHALLENGE, claims=deep))

    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?error=invalid_request")
    assert "nested+at+most+32+levels" in location
    assert snapshot() == before


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"\xff\xfe:secret").decode(),  # base64, not UTF-8
        "Basic \xff\xfe",  # not base64
        "Basic !!!",
        "Basic",  # no credentials
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer ",  # another scheme, no credentials
    ],
    ids=["not-utf8", "not-ascii", "not-base64", "empty", "no-colon", "bearer-empty"],
)
@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke", "/device_authorization"])
def test_undecodable_basic_credentials_are_invalid_client(http, snapshot, path, header):
    """RFC 7617 §2: Basic credentials are base64 of UTF-8 `user-id:password`. Anything else
    fails client authentication: RFC 6749 §5.2 invalid_client, 401 with WWW-Authenticate."""
    before = snapshot()

    response = http.post(
        path,
        data={"grant_type": "client_credentials", "token": "t"},
        headers={"Authorization": header},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/userinfo",
        pytest.param(
            "/register",
            marks=pytest.mark.settings(IDP_REGISTRATION="token", IDP_REGISTRATION_TOKEN="t" * 20),
        ),
    ],
)
def test_basic_credentials_where_a_bearer_token_is_expected_are_no_token(http, snapshot, path):
    """RFC 6750 §3.1: a request to a Bearer endpoint without a Bearer token gets 401 and the
    Bearer challenge. A Basic header that is not even base64 of UTF-8 is no Bearer token."""
    before = snapshot()

    response = http.post(path, json={}, headers={"Authorization": "Basic \xff\xfe"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot() == before


def _auth(client) -> tuple[str, str]:
    return client.client_id, client.client_secret

"""Bad authorization requests: what is redirected to the client and what is not.

RFC 6749 §4.1.2.1: with an unknown client or a redirect URI that is not registered, the user
sees an error page and is never redirected. Other errors go back to the client with `error`,
`state` and `iss` (RFC 9207 §2).
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from idp.db import db
from idp.oauth.models import Client
from tests.oauth.conftest import (
    REDIRECT_URI,
    RegisteredClient,
    authorize_url,
    follow,
    pkce,
    query_of,
)

CHALLENGE = pkce()[1]


def test_unknown_client_gets_an_error_page_not_a_redirect(browser, make_client, snapshot):
    client = make_client()
    client.client_id = "no-such-client"
    before = snapshot()

    response = browser.get(authorize_url(client, CHALLENGE))

    assert response.status_code == 400
    assert "invalid_client" in response.text
    assert "Location" not in response.headers
    assert snapshot() == before


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:9/other",  # not registered
        "http://127.0.0.1:9/callback#frag",  # a fragment (RFC 6749 §3.1.2)
        "http://127.0.0.1:9/callback/",  # exact match only
        "https://evil.example/callback",
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page(browser, make_client, redirect_uri):
    client = make_client()
    client.redirect_uri = redirect_uri

    response = browser.get(authorize_url(client, CHALLENGE))

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_loopback_redirect_may_use_any_port(browser, make_user, make_client):
    """RFC 8252 §7.3: native apps listen on an ephemeral loopback port."""
    make_user("ada@example.com")
    client = make_client()
    client.redirect_uri = "http://127.0.0.1:54321/callback"

    location = follow(
        browser,
        authorize_url(client, CHALLENGE),
        sign_in=("ada@example.com", "plum-orchard-47-lantern"),
    )

    assert location.startswith("http://127.0.0.1:54321/callback?code=")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil@127.0.0.1:9000/callback",  # a user name
        "http://a:b@127.0.0.1:9/callback",  # a user name and password, the port as registered
        "http://127.0.0.1:99999/callback",  # out of range
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:x/callback",
        "http://127.0.0.1:/callback",  # an empty port
        "HTTP://127.0.0.1:9000/callback",  # only the port may differ
        "http://127.0.0.1:9000/callback?x=1",
        "http://localhost:9/callback",  # another loopback host
    ],
)
def test_a_loopback_redirect_uri_may_differ_only_by_a_valid_port(
    browser, make_user, make_client, snapshot, redirect_uri
):
    """RFC 8252 §7.3: only the port of a loopback redirect URI may vary, and it must be a
    port; the rest is compared exactly (RFC 9700 §4.1.3). The user sees an error page and no
    code is stored (RFC 6749 §4.1.2.1)."""
    make_user("ada@example.com")
    browser.sign_in("ada@example.com")
    client = make_client(first_party=True)
    client.redirect_uri = redirect_uri
    before = snapshot()

    response = browser.get(authorize_url(client, CHALLENGE))

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert (
        f"Redirect URI {redirect_uri} is not supported by client. (invalid_request)"
        in response.text
    )
    assert snapshot() == before


def _error_redirect(browser, client, **params):
    response = browser.get(authorize_url(client, params.pop("challenge", CHALLENGE), **params))
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(client.redirect_uri + "?")
    return query_of(location)


@pytest.mark.parametrize(
    ("params", "error", "description"),
    [
        ({"challenge": None, "code_challenge_method": None}, "invalid_request", "PKCE is required"),
        (
            {"code_challenge_method": "plain"},
            "invalid_request",
            "code_challenge_method must be S256",
        ),
        ({"code_challenge_method": None}, "invalid_request", "code_challenge_method must be S256"),
        ({"response_type": "token"}, "unsupported_response_type", None),
        ({"response_type": "id_token"}, "unsupported_response_type", None),
        ({"scope": "openid wallet"}, "invalid_scope", None),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported", None),
        ({"request_uri": "https://app.example/req/1"}, "request_uri_not_supported", None),
        ({"prompt": "none login"}, "invalid_request", "prompt=none cannot be combined"),
        ({"max_age": "soon"}, "invalid_request", "max_age must be a whole number"),
        (
            {"response_mode": "fragment"},
            "invalid_request",
            "response_mode must be query or form_post",
        ),
    ],
)
def test_errors_go_back_to_the_client_with_state_and_iss(
    http, browser, make_client, snapshot, params, error, description
):
    client = make_client()
    before = snapshot()

    result = _error_redirect(browser, client, **params)

    assert result["error"] == error
    if description:
        assert description in result["error_description"]
    assert result["state"] == "st-123"
    assert result["iss"] == http.base
    assert snapshot() == before


@pytest.mark.parametrize("scope", ["openid address", "openid phone"])
def test_address_and_phone_are_unknown_scopes(http, browser, make_client, snapshot, scope):
    """RFC 6749 §4.1.2.1: an unknown scope is invalid_scope. The provider keeps no postal
    address or phone number, so it does not offer those scopes (OpenID Connect Core §5.4):
    not to a client registered for them before, nor to one that registered itself."""
    registered = make_client()
    earlier = make_client()
    with http.app.app_context():
        db.session.execute(
            update(Client)
            .where(Client.client_id == earlier.client_id)
            .values(scope="openid profile email address phone offline_access")
        )
        db.session.commit()
    info = http.post(
        "/register",
        json={"client_name": "Agent", "redirect_uris": [REDIRECT_URI], "scope": "openid"},
        timeout=5,
    ).json()
    itself = RegisteredClient(info["client_id"], info["client_secret"])
    before = snapshot()

    for client in (registered, earlier, itself):
        result = _error_redirect(browser, client, scope=scope)

        assert result["error"] == "invalid_scope"
        assert result["error_description"] == (
            "The requested scope is invalid, unknown, or malformed."
        )
    assert snapshot() == before


def test_a_client_cannot_register_for_address_or_phone(http, snapshot):
    """RFC 7591 §3.2.2: a scope the provider does not offer is invalid_client_metadata."""
    before = snapshot()

    response = http.post(
        "/register",
        json={"client_name": "Agent", "redirect_uris": [REDIRECT_URI], "scope": "openid phone"},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "Unsupported scope: phone.",
    }
    assert snapshot() == before


def test_prompt_none_without_a_session_is_login_required(http, browser, make_client):
    """OpenID Connect Core §3.1.2.6."""
    result = _error_redirect(browser, make_client(), prompt="none")

    assert result["error"] == "login_required"
    assert result["iss"] == http.base


def test_prompt_none_without_consent_is_consent_required(browser, make_user, make_client):
    make_user("ada@example.com")
    client = make_client()
    browser.sign_in("ada@example.com")

    result = _error_redirect(browser, client, prompt="none")

    assert result["error"] == "consent_required"


def test_denying_consent_is_access_denied(browser, make_user, make_client, snapshot):
    make_user("ada@example.com")
    client = make_client()
    before = snapshot(ignore=("audit_event", "login_session"))

    location = follow(
        browser,
        authorize_url(client, CHALLENGE),
        consent="deny",
        sign_in=("ada@example.com", "plum-orchard-47-lantern"),
    )

    assert query_of(location)["error"] == "access_denied"
    assert query_of(location)["state"] == "st-123"
    assert snapshot(ignore=("audit_event", "login_session")) == before

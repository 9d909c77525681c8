"""One client authentication method per request, at every endpoint that authenticates clients.

RFC 6749 §2.3 ("The client MUST NOT use more than one authentication method in each request")
and §5.2 (invalid_client; 401 with a WWW-Authenticate challenge when the client tried HTTP
Basic); RFC 7523 §3 (the assertion names the client in `sub`; the server may bound how far in
the future `exp` lies, and keeps each `jti` until then).
"""

from __future__ import annotations

import time

import pytest

from tests.oauth.test_private_key_jwt import ASSERTION_TYPE, KEY, assertion

ENDPOINTS = ["/token", "/introspect", "/revoke", "/device_authorization"]
FORMS = {
    "/token": {"grant_type": "client_credentials"},
    "/introspect": {"token": "anything"},
    "/revoke": {"token": "anything"},
    "/device_authorization": {"scope": "openid"},
}
GRANTS = ["client_credentials", "urn:ietf:params:oauth:grant-type:device_code"]


@pytest.fixture
def secret_client(make_client):
    return make_client(grant_types=GRANTS, redirect_uris=[], name="Secret App")


@pytest.fixture
def other_client(make_client):
    return make_client(
        grant_types=GRANTS, redirect_uris=[], name="Other App", auth_method="client_secret_post"
    )


@pytest.fixture
def jwt_client(make_client):
    return make_client(
        grant_types=GRANTS,
        redirect_uris=[],
        name="Key App",
        auth_method="private_key_jwt",
        jwks={"keys": [KEY.as_dict(private=False)]},
    )


def assert_invalid_client(response, description: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"] == description
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


ONE_WAY = "Authenticate the client in one way only."
ANOTHER = "client_id names another client than the credentials."


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_basic_and_a_secret_in_the_body_are_refused(
    http, secret_client, other_client, snapshot, endpoint
):
    """The body's credentials are another client's: whichever is tried first, neither counts."""
    before = snapshot()
    form = {
        **FORMS[endpoint],
        "client_id": other_client.client_id,
        "client_secret": other_client.client_secret,
    }

    response = http.post(
        endpoint, data=form, auth=(secret_client.client_id, secret_client.client_secret)
    )

    assert_invalid_client(response, ONE_WAY)
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_basic_and_an_assertion_are_refused(http, secret_client, jwt_client, snapshot, endpoint):
    before = snapshot()
    form = {
        **FORMS[endpoint],
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(http, jwt_client),
    }

    response = http.post(
        endpoint, data=form, auth=(secret_client.client_id, secret_client.client_secret)
    )

    assert_invalid_client(response, ONE_WAY)
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_assertion_with_another_client_id_is_refused(
    http, jwt_client, other_client, snapshot, endpoint
):
    before = snapshot()
    form = {
        **FORMS[endpoint],
        "client_id": other_client.client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(http, jwt_client),
    }

    response = http.post(endpoint, data=form)

    assert_invalid_client(response, ANOTHER)
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_basic_with_another_client_id_is_refused(
    http, secret_client, other_client, snapshot, endpoint
):
    before = snapshot()
    form = {**FORMS[endpoint], "client_id": other_client.client_id}

    response = http.post(
        endpoint, data=form, auth=(secret_client.client_id, secret_client.client_secret)
    )

    assert_invalid_client(response, ANOTHER)
    assert snapshot() == before


def test_the_same_client_id_alongside_its_credentials_is_fine(http, secret_client, jwt_client):
    """Sending client_id too is allowed (RFC 6749 §4.1.3); it just has to name the same client."""
    basic = http.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": secret_client.client_id},
        auth=(secret_client.client_id, secret_client.client_secret),
    )
    signed = http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": jwt_client.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(http, jwt_client),
        },
    )

    assert basic.status_code == 200, basic.text
    assert signed.status_code == 200, signed.text


def test_an_assertion_that_expires_far_ahead_is_refused(http, jwt_client, snapshot):
    """Its jti would have to be remembered until then: an assertion must expire within the
    hour (the lifetime Authlib's client gives its assertions)."""
    before = snapshot()
    now = int(time.time())
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(http, jwt_client, exp=now + 365 * 86400),
    }

    response = http.post("/token", data=form)

    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"] == (
        "The client assertion must expire within 3600 seconds."
    )
    assert snapshot() == before
    # Within the bound (an hour plus the clock-skew leeway) is fine.
    form["client_assertion"] = assertion(http, jwt_client, exp=now + 3630)
    assert http.post("/token", data=form).status_code == 200

"""Client authentication at the token endpoint: client_secret_basic, client_secret_post and none.

RFC 6749 §2.3.1 (client password, Basic or form body), §3.2.1 (confidential clients must
authenticate), §5.2 (invalid_client, 401 with a WWW-Authenticate matching the scheme used);
OAuth 2.1 §2.4; RFC 7591 §2 (a client uses the method it registered). private_key_jwt has its
own module (test_private_key_jwt.py).
"""

from __future__ import annotations

import requests

from tests.conftest import PASSWORD
from tests.oauth.conftest import RegisteredClient, authorize_url, follow, pkce, query_of
from tests.oauth.issued import issue, post_as


def client_credentials(http, **kwargs) -> requests.Response:
    return http.post(
        "/token", timeout=5, **{"data": {"grant_type": "client_credentials"}, **kwargs}
    )


def machine(make_client, **overrides) -> RegisteredClient:
    return make_client(grant_types=["client_credentials"], redirect_uris=[], **overrides)


def assert_invalid_client(response: requests.Response) -> None:
    """RFC 6749 §5.2: 401 invalid_client, challenging with Basic, the scheme we support."""
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert response.headers["Cache-Control"] == "no-store"


def test_client_secret_basic(http, make_client):
    client = machine(make_client)

    response = client_credentials(http, auth=(client.client_id, client.client_secret))

    assert response.status_code == 200, response.text


def test_client_secret_post(http, make_client):
    client = machine(make_client, auth_method="client_secret_post")
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }

    response = client_credentials(http, data=form)

    assert response.status_code == 200, response.text


def test_a_wrong_secret_in_basic_is_refused_with_a_basic_challenge(http, make_client, snapshot):
    client = machine(make_client)
    before = snapshot()

    response = client_credentials(http, auth=(client.client_id, "wrong-secret"))

    assert_invalid_client(response)
    assert 'error="invalid_client"' in response.headers["WWW-Authenticate"]
    assert snapshot() == before


def test_an_unknown_client_in_basic_is_refused_with_a_basic_challenge(http, snapshot):
    before = snapshot()

    response = client_credentials(http, auth=("no-such-client", "secret"))

    assert_invalid_client(response)
    assert snapshot() == before


def test_a_malformed_basic_header_is_refused(http, snapshot):
    before = snapshot()

    response = client_credentials(http, headers={"Authorization": "Basic %%%not-base64"})

    assert_invalid_client(response)
    assert snapshot() == before


def test_a_wrong_secret_in_the_body_is_refused(http, make_client, snapshot):
    client = machine(make_client, auth_method="client_secret_post")
    before = snapshot()
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": "wrong-secret",
    }

    response = client_credentials(http, data=form)

    assert_invalid_client(response)
    assert snapshot() == before


def test_a_client_must_use_the_method_it_registered(http, make_client, snapshot):
    client = machine(make_client)  # registered for client_secret_basic
    before = snapshot()
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }

    response = client_credentials(http, data=form)

    assert_invalid_client(response)
    assert snapshot() == before


def test_no_credentials_at_all_are_refused(http, snapshot):
    before = snapshot()

    response = client_credentials(http)

    assert_invalid_client(response)
    assert snapshot() == before


def test_a_public_client_redeems_its_code_with_its_client_id(http, browser, make_user, make_client):
    make_user()
    client = make_client(public=True)

    token = issue(http, browser, client)  # client_id in the body, no secret; PKCE binds it

    assert token["token_type"] == "Bearer"


def test_a_confidential_client_cannot_pass_as_public(
    http, browser, make_user, make_client, snapshot
):
    """RFC 6749 §3.2.1: the code stays unused, so the real client can still redeem it."""
    make_user()
    client = make_client()
    verifier, challenge = pkce()
    url = authorize_url(client, challenge)
    callback = follow(browser, url, sign_in=("ada@example.com", PASSWORD))
    form = {
        "grant_type": "authorization_code",
        "code": query_of(callback)["code"],
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    before = snapshot()

    response = http.post("/token", data={**form, "client_id": client.client_id}, timeout=5)

    assert_invalid_client(response)
    assert snapshot() == before
    assert post_as(http, client, "/token", **form).status_code == 200


def test_a_public_client_that_sends_a_secret_is_refused(http, make_client, snapshot):
    client = make_client(public=True)
    before = snapshot()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "anything",
        "client_id": client.client_id,
        "client_secret": "made-up",
    }

    response = http.post("/token", data=form, timeout=5)

    assert_invalid_client(response)
    assert snapshot() == before

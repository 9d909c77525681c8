"""The authorize endpoint's hand-off to sign-in and consent, and back.

OpenID Connect Core §3.1.2.1 (prompt, max_age, login_hint, id_token_hint, claims),
OAuth 2.0 Form Post Response Mode §2, RFC 6749 §3.1 (GET and POST).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt

from tests.conftest import PASSWORD
from tests.oauth.conftest import authorize_url, follow, pkce, query_of
from tests.oauth.issued import redeem

ADA = ("ada@example.com", PASSWORD)


def exchange(http, client, location, verifier):
    session = OAuth2Session(
        client.client_id, client.client_secret, redirect_uri=client.redirect_uri
    )
    return session.fetch_token(
        http.base + "/token", authorization_response=location, code_verifier=verifier
    )


def claims_of(http, token):
    return jwt.decode(token, http.app.extensions["idp.keys"].public_keyset()).claims


def test_an_unauthenticated_user_signs_in_and_returns_to_the_same_request(
    browser, make_user, make_client
):
    make_user(ADA[0])
    client = make_client()
    challenge = pkce()[1]

    first = browser.get(authorize_url(client, challenge, login_hint="ada@example.com"))

    assert first.status_code == 302
    sign_in = first.headers["Location"]
    assert sign_in.startswith("/sign-in?next=%2Fauthorize%2Fresume%2F")
    page = browser.get(sign_in)
    assert 'value="ada@example.com"' in page.text  # login_hint pre-fills the email
    location = follow(browser, sign_in, sign_in=ADA)
    assert query_of(location)["state"] == "st-123"
    assert "code" in query_of(location)


def test_consent_is_remembered_and_new_scopes_ask_again(browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client()
    follow(browser, authorize_url(client, pkce()[1], scope="openid profile"), sign_in=ADA)

    again = browser.get(authorize_url(client, pkce()[1], scope="openid profile"))
    wider = browser.get(authorize_url(client, pkce()[1], scope="openid profile email"))
    forced = browser.get(authorize_url(client, pkce()[1], scope="openid", prompt="consent"))

    assert again.headers["Location"].startswith(client.redirect_uri + "?code=")
    assert wider.headers["Location"].startswith("/authorize/consent/")
    assert forced.headers["Location"].startswith("/authorize/consent/")


def test_the_consent_page_names_the_client_and_the_scopes(browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client(name="Photo Printer", client_uri="https://printer.example")
    browser.sign_in(*ADA)

    location = browser.get(authorize_url(client, pkce()[1], scope="openid email")).headers[
        "Location"
    ]
    page = browser.get(location).text

    assert "Allow Photo Printer to access your account?" in page
    assert "See your email address" in page
    assert 'name="decision" value="allow"' in page and 'name="decision" value="deny"' in page


def test_first_party_clients_skip_consent(browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client(first_party=True)
    browser.sign_in(*ADA)

    response = browser.get(authorize_url(client, pkce()[1]))

    assert response.headers["Location"].startswith(client.redirect_uri + "?code=")


def test_prompt_login_asks_again_and_moves_auth_time(
    server, browser, make_user, make_client, clock
):
    make_user(ADA[0])
    client = make_client(first_party=True)
    verifier, challenge = pkce()
    first = exchange(
        server, client, follow(browser, authorize_url(client, challenge), sign_in=ADA), verifier
    )
    clock.advance(1.1)
    verifier, challenge = pkce()

    response = browser.get(authorize_url(client, challenge, prompt="login"))
    assert response.headers["Location"].startswith("/sign-in")
    second = exchange(
        server, client, follow(browser, response.headers["Location"], sign_in=ADA), verifier
    )

    assert (
        claims_of(server, second["id_token"])["auth_time"]
        > claims_of(server, first["id_token"])["auth_time"]
    )


def test_max_age_forces_a_fresh_sign_in(server, browser, make_user, make_client, clock):
    make_user(ADA[0])
    client = make_client(first_party=True)
    verifier, challenge = pkce()
    first = exchange(
        server, client, follow(browser, authorize_url(client, challenge), sign_in=ADA), verifier
    )
    within = browser.get(authorize_url(client, pkce()[1], max_age="3600"))
    clock.advance(1.1)

    stale = browser.get(authorize_url(client, challenge, max_age="1"))

    assert within.headers["Location"].startswith(client.redirect_uri + "?code=")
    assert stale.headers["Location"].startswith("/sign-in")
    second = exchange(
        server, client, follow(browser, stale.headers["Location"], sign_in=ADA), verifier
    )
    assert (
        claims_of(server, second["id_token"])["auth_time"]
        > claims_of(server, first["id_token"])["auth_time"]
    )


@pytest.mark.parametrize("params", [{"max_age": "0"}, {"prompt": "login"}])
def test_max_age_0_asks_for_one_fresh_sign_in_then_completes(
    http, browser, make_user, make_client, clock, params
):
    """OpenID Connect Core §3.1.2.1: max_age=0, like prompt=login, asks the person to sign in
    now; once they have, during this request, it completes, and the ID token's auth_time is
    that sign-in."""
    make_user(ADA[0])
    client = make_client(first_party=True)
    browser.sign_in(*ADA)
    clock.advance(5)
    asked_at = int(time.time())
    verifier, challenge = pkce()

    response = browser.get(authorize_url(client, challenge, **params))
    assert response.headers["Location"].startswith("/sign-in")
    callback = follow(browser, response.headers["Location"], sign_in=ADA)

    token = redeem(http, client, query_of(callback)["code"], verifier)
    assert token.status_code == 200, token.text
    assert claims_of(http, token.json()["id_token"])["auth_time"] >= asked_at


def test_id_token_hint_for_another_user_asks_to_sign_in(server, browser, make_user, make_client):
    make_user(ADA[0])
    make_user("bo@example.com")
    client = make_client(first_party=True)
    verifier, challenge = pkce()
    ada_token = exchange(
        server, client, follow(browser, authorize_url(client, challenge), sign_in=ADA), verifier
    )
    browser.sign_in("bo@example.com")

    hinted = browser.get(
        authorize_url(client, pkce()[1], id_token_hint=ada_token["id_token"], prompt="none")
    )

    assert query_of(hinted.headers["Location"])["error"] == "login_required"


def test_essential_claims_are_put_in_the_id_token(server, browser, make_user, make_client):
    make_user(ADA[0], name="Ada Lovelace")
    client = make_client(first_party=True)
    verifier, challenge = pkce()
    claims = '{"id_token": {"email": {"essential": true}, "name": null}}'

    token = exchange(
        server,
        client,
        follow(browser, authorize_url(client, challenge, claims=claims), sign_in=ADA),
        verifier,
    )

    id_token = claims_of(server, token["id_token"])
    assert id_token["email"] == "ada@example.com"
    assert id_token["name"] == "Ada Lovelace"


def test_authorize_accepts_post(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client(first_party=True)
    browser.sign_in(*ADA)
    fields = dict(parse_qsl(urlsplit(authorize_url(client, pkce()[1])).query))

    response = browser.http.post(http.base + "/authorize", data=fields, allow_redirects=False)

    assert response.status_code == 302
    assert response.headers["Location"].startswith(client.redirect_uri + "?code=")


def test_form_post_response_mode(http, browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client(first_party=True)
    browser.sign_in(*ADA)

    response = browser.get(authorize_url(client, pkce()[1], response_mode="form_post"))

    assert response.status_code == 200
    assert f'action="{client.redirect_uri}"' in response.text
    assert 'name="code"' in response.text
    assert 'name="state" value="st-123"' in response.text
    assert f'name="iss" value="{http.base}"' in response.text
    assert "<script>" not in response.text  # the auto-submit script is a file (CSP)


def test_unknown_parameters_are_ignored(browser, make_user, make_client):
    make_user(ADA[0])
    client = make_client(first_party=True)
    browser.sign_in(*ADA)

    response = browser.get(authorize_url(client, pkce()[1], ui_locales="fr en", colour="blue"))

    assert response.headers["Location"].startswith(client.redirect_uri + "?code=")


def test_an_expired_interaction_explains_itself(browser):
    response = browser.get("/authorize/resume/unknown-or-expired")

    assert response.status_code == 400
    assert "This sign-in request has expired" in response.text

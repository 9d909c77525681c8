"""The `claims` request parameter (OpenID Connect Core §5.5): claims asked for by name, for the
ID token and for userinfo, kept for ID tokens issued on refresh (§12.2)."""

from __future__ import annotations

import json

from tests.conftest import PASSWORD
from tests.oauth.conftest import authorize_url, pkce, query_of
from tests.oauth.issued import claims_of, issue, refresh, userinfo

ADA = ("ada@example.com", PASSWORD)


def test_userinfo_releases_the_claims_asked_of_it(http, browser, make_user, make_client):
    """Core §5.5: the userinfo member asks for claims beyond the scopes, essential or not
    (null, {"essential": true}); §5.5.1: a value hint does not make up a claim the provider
    does not have (phone_number, given_name)."""
    make_user(ADA[0], name="Ada Lovelace")
    claims = {
        "userinfo": {
            "email": {"essential": True},
            "name": None,
            "phone_number": {"essential": True},
            "given_name": {"value": "Ada"},
        }
    }

    token = issue(http, browser, make_client(), scope="openid", claims=json.dumps(claims))

    assert userinfo(http, token["access_token"]).json() == {
        "sub": claims_of(http, token["id_token"])["sub"],
        "email": "ada@example.com",
        "name": "Ada Lovelace",
    }
    assert "email" not in claims_of(http, token["id_token"])  # asked of userinfo only


def test_the_id_token_claims_stay_in_refreshed_id_tokens(http, browser, make_user, make_client):
    """Core §12.2: an ID token issued on refresh carries the claims the first one did; the
    claims asked of the ID token are not released by userinfo (§5.5)."""
    make_user(ADA[0], name="Ada Lovelace")
    client = make_client()
    claims = {"id_token": {"email": None, "name": {"essential": True}}}
    first = issue(http, browser, client, scope="openid offline_access", claims=json.dumps(claims))

    response = refresh(http, client, first["refresh_token"])

    assert response.status_code == 200, response.text
    for token in (first, response.json()):
        id_token = claims_of(http, token["id_token"])
        assert (id_token["email"], id_token["name"]) == ("ada@example.com", "Ada Lovelace")
    assert set(userinfo(http, response.json()["access_token"]).json()) == {"sub"}


def test_a_claim_that_is_neither_null_nor_an_object_is_invalid_request(
    browser, make_client, snapshot
):
    """Core §5.5.1: each requested claim is null or a JSON object; anything else is a
    malformed request, sent back to the client (§3.1.2.6), and nothing is stored."""
    client = make_client()
    before = snapshot()

    response = browser.get(
        authorize_url(client, pkce()[1], claims=json.dumps({"userinfo": {"email": True}}))
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith(client.redirect_uri + "?")
    result = query_of(response.headers["Location"])
    assert result["error"] == "invalid_request"
    assert result["error_description"] == "Each claim in claims.userinfo must be null or an object."
    assert snapshot() == before


def test_claims_asked_by_name_are_allowed_like_their_scope(
    http, browser, make_user, make_client, snapshot
):
    """Core §5.5: claims asked for by name come in addition to the scopes, so the person
    allows them too: the consent page asks for the scope that releases them (§5.4), and
    prompt=none cannot skip that (consent_required, §3.1.2.6)."""
    make_user(ADA[0])
    client = make_client()
    issue(http, browser, client, scope="openid")  # "openid" is allowed from now on
    claims = json.dumps({"userinfo": {"email": None}})
    before = snapshot(ignore=("audit_event", "login_session"))

    silent = browser.get(
        authorize_url(client, pkce()[1], scope="openid", claims=claims, prompt="none")
    )
    asked = browser.get(authorize_url(client, pkce()[1], scope="openid", claims=claims))

    assert query_of(silent.headers["Location"]) == {
        "error": "consent_required",
        "state": "st-123",
        "iss": http.base,
    }
    assert asked.headers["Location"].startswith("/authorize/consent/")
    page = browser.get(asked.headers["Location"]).text
    assert "See your email address and whether it is verified" in page
    assert snapshot(ignore=("audit_event", "login_session")) == before
    token = issue(http, browser, client, scope="openid", claims=claims)
    assert userinfo(http, token["access_token"]).json()["email"] == "ada@example.com"


def test_claims_of_a_scope_the_client_may_not_ask_for_are_left_out(
    http, browser, make_user, make_client
):
    """Core §5.5.1: a requested claim, even essential, may be left out without an error; a
    client registered without the email scope does not get the email by naming it."""
    make_user(ADA[0])
    client = make_client(scopes=["openid"])
    claims = {"userinfo": {"email": {"essential": True}}, "id_token": {"email": None}}

    token = issue(http, browser, client, scope="openid", claims=json.dumps(claims))

    assert set(userinfo(http, token["access_token"]).json()) == {"sub"}
    assert "email" not in claims_of(http, token["id_token"])

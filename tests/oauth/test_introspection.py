"""Token introspection at POST /introspect.

RFC 7662 §2.1 (the request: an authenticated client, `token`, an optional hint that never
limits the search), §2.2 (the response members; `active: false` for anything not active),
§2.3 (errors: invalid_client 401, invalid_request), §4 (a client may introspect only its own
tokens); RFC 8414 §2 (metadata).
"""

from __future__ import annotations

import requests
from sqlalchemy import select

from idp.db import db
from idp.oauth.models import Client
from tests.oauth.issued import claims_of, issue, post_as, refresh


def introspect(http, client, token: str, **form: str) -> requests.Response:
    return post_as(http, client, "/introspect", token=token, **form)


def test_discovery_names_the_endpoint(http):
    metadata = http.get("/.well-known/oauth-authorization-server", timeout=5)

    body = metadata.json()
    assert body["introspection_endpoint"] == http.base + "/introspect"
    assert "client_secret_basic" in body["introspection_endpoint_auth_methods_supported"]
    assert "none" not in body["introspection_endpoint_auth_methods_supported"]


def test_an_access_token_is_active(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    response = introspect(http, client, token["access_token"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    claims = claims_of(http, token["access_token"])
    assert body == {
        "active": True,
        "token_type": "Bearer",
        "scope": "openid profile offline_access",
        "client_id": client.client_id,
        "sub": claims["sub"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "iss": http.base,
        "aud": claims["aud"],
        "jti": claims["jti"],
    }


def test_a_refresh_token_is_active(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    body = introspect(http, client, token["refresh_token"]).json()

    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == client.client_id
    assert body["scope"] == "openid profile offline_access"
    assert body["sub"] == claims_of(http, token["id_token"])["sub"]
    assert body["iss"] == http.base
    assert body["exp"] > body["iat"]


def test_a_wrong_hint_does_not_hide_the_token(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    as_access = introspect(http, client, token["refresh_token"], token_type_hint="access_token")
    as_refresh = introspect(http, client, token["access_token"], token_type_hint="refresh_token")

    assert as_access.json()["token_type"] == "refresh_token"
    assert as_refresh.json()["token_type"] == "Bearer"


def test_a_rotated_refresh_token_is_inactive(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    renewed = refresh(http, client, token["refresh_token"]).json()

    assert introspect(http, client, token["refresh_token"]).json() == {"active": False}
    assert introspect(http, client, renewed["refresh_token"]).json()["active"] is True


def test_tokens_of_a_revoked_family_are_inactive(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    assert post_as(http, client, "/revoke", token=token["refresh_token"]).status_code == 200

    assert introspect(http, client, token["access_token"]).json() == {"active": False}
    assert introspect(http, client, token["refresh_token"]).json() == {"active": False}


def test_an_expired_access_token_is_inactive(http, browser, make_user, make_client, clock):
    make_user()
    client = make_client()
    with http.app.app_context():
        db.session.scalars(select(Client)).one().access_token_ttl = 1
        db.session.commit()
    token = issue(http, browser, client)
    clock.advance(1.2)

    assert introspect(http, client, token["access_token"]).json() == {"active": False}


def test_an_expired_refresh_token_is_inactive(http, browser, make_user, make_client, clock):
    make_user()
    client = make_client()
    with http.app.app_context():
        db.session.scalars(select(Client)).one().refresh_token_ttl = 1
        db.session.commit()
    token = issue(http, browser, client)
    clock.advance(1.2)

    assert introspect(http, client, token["refresh_token"]).json() == {"active": False}


def test_a_client_credentials_token_is_active(http, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[], scopes=["profile"])
    token = post_as(http, client, "/token", grant_type="client_credentials", scope="profile")

    body = introspect(http, client, token.json()["access_token"]).json()

    assert body["active"] is True
    assert body["sub"] == client.client_id
    assert body["scope"] == "profile"


def test_another_clients_token_is_reported_inactive(http, browser, make_user, make_client):
    """RFC 7662 §4: the server may refuse to tell one client about another's tokens."""
    make_user()
    owner, other = make_client(), make_client(name="Other App")
    token = issue(http, browser, owner)

    assert introspect(http, other, token["access_token"]).json() == {"active": False}
    assert introspect(http, other, token["refresh_token"]).json() == {"active": False}


def test_an_unknown_token_is_inactive(http, make_client):
    client = make_client()

    assert introspect(http, client, "not-a-token").json() == {"active": False}
    assert introspect(http, client, "a.b.c").json() == {"active": False}


def test_an_unauthenticated_request_is_refused(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    anonymous = http.post("/introspect", data={"token": token["access_token"]}, timeout=5)
    wrong_secret = http.post(
        "/introspect",
        data={"token": token["access_token"]},
        auth=(client.client_id, "wrong"),
        timeout=5,
    )

    for response in (anonymous, wrong_secret):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_public_client_may_not_introspect(http, browser, make_user, make_client):
    make_user()
    client = make_client(public=True)
    token = issue(http, browser, client)

    response = introspect(http, client, token["access_token"])  # client_id alone

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_request_without_a_token_is_refused(http, make_client):
    client = make_client()

    response = post_as(http, client, "/introspect")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_unknown_hint_is_ignored(http, browser, make_user, make_client):
    """RFC 7662 §2.1: the server MAY ignore the hint; it never hides a token."""
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    response = introspect(http, client, token["access_token"], token_type_hint="id_token")

    assert response.status_code == 200
    assert response.json()["active"] is True


def test_only_post_is_allowed(http):
    response = http.get("/introspect", timeout=5)

    assert response.status_code == 405

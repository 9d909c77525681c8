"""The client credentials grant: a confidential client acting for itself.

RFC 6749 §4.4 (client credentials; no refresh token, §4.4.3), §3.3 and §5.2 (invalid_scope,
unauthorized_client, invalid_client); RFC 9068 §2.2 (a JWT access token whose `sub` is the
client when no user is involved).
"""

from __future__ import annotations

from tests.oauth.issued import claims_of, post_as, userinfo


def test_a_client_gets_a_jwt_access_token_for_itself(http, make_client):
    client = make_client(
        grant_types=["client_credentials"], redirect_uris=[], scopes=["openid", "offline_access"]
    )

    response = post_as(
        http, client, "/token", grant_type="client_credentials", scope="openid offline_access"
    )

    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body  # RFC 6749 §4.4.3
    assert "id_token" not in body  # no user signed in
    claims = claims_of(http, body["access_token"])
    assert claims["sub"] == client.client_id
    assert claims["client_id"] == client.client_id
    assert claims["iss"] == http.base
    # No user behind it, so userinfo has nothing to say (RFC 6750 §3.1).
    assert userinfo(http, body["access_token"]).status_code == 401


def test_a_scope_beyond_the_registration_is_refused(http, make_client, snapshot):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[], scopes=["profile"])
    before = snapshot()

    response = post_as(http, client, "/token", grant_type="client_credentials", scope="email")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert snapshot() == before


def test_a_client_without_the_grant_is_refused(http, make_client, snapshot):
    client = make_client()  # authorization_code and refresh_token only
    before = snapshot()

    response = post_as(http, client, "/token", grant_type="client_credentials")

    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert snapshot() == before


def test_a_public_client_is_refused(http, make_client, snapshot):
    client = make_client(public=True)
    before = snapshot()

    response = http.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": client.client_id},
        timeout=5,
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert snapshot() == before

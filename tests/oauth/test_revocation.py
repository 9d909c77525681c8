"""Token revocation at POST /revoke.

RFC 7009 §2.1 (an authenticated client revokes its own token; the hint never limits the
search; revoking a refresh token may revoke the access tokens of the same grant), §2.2 (200
for a token that is unknown or already revoked), §2.2.1 (errors per RFC 6749 §5.2), §5 (public
clients identify themselves by client_id); RFC 6750 §3.1 (userinfo then answers invalid_token);
RFC 8414 §2 (metadata).
"""

from __future__ import annotations

import requests
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.oauth.models import TokenFamily
from tests.oauth.issued import issue, post_as, refresh, userinfo


def revoke(http, client, token: str, **form: str) -> requests.Response:
    return post_as(http, client, "/revoke", token=token, **form)


def introspect(http, client, token: str) -> dict:
    body: dict = post_as(http, client, "/introspect", token=token).json()
    return body


def test_discovery_names_the_endpoint(http):
    body = http.get("/.well-known/openid-configuration", timeout=5).json()

    assert body["revocation_endpoint"] == http.base + "/revoke"
    assert "none" in body["revocation_endpoint_auth_methods_supported"]


def test_revoking_a_refresh_token_ends_its_whole_family(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    first = issue(http, browser, client)
    second = refresh(http, client, first["refresh_token"]).json()

    response = revoke(http, client, second["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    for access_token in (first["access_token"], second["access_token"]):
        assert introspect(http, client, access_token) == {"active": False}
        denied = userinfo(http, access_token)
        assert denied.status_code == 401
        assert 'error="invalid_token"' in denied.headers["WWW-Authenticate"]
    assert refresh(http, client, second["refresh_token"]).json()["error"] == "invalid_grant"
    with http.app.app_context():
        events = db.session.scalars(select(AuditEvent.event)).all()
        assert events.count("token_revoked") == 1


def test_revoking_an_access_token_ends_its_refresh_token(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    assert revoke(http, client, token["access_token"]).status_code == 200

    assert userinfo(http, token["access_token"]).status_code == 401
    assert refresh(http, client, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_other_grants_are_untouched(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    kept = issue(http, browser, client)
    ended = issue(http, browser, client)

    revoke(http, client, ended["refresh_token"])

    assert introspect(http, client, kept["access_token"])["active"] is True
    assert refresh(http, client, kept["refresh_token"]).status_code == 200


def test_a_public_client_revokes_its_own_token(http, browser, make_user, make_client):
    make_user()
    client = make_client(public=True)
    token = issue(http, browser, client)

    response = revoke(http, client, token["refresh_token"])  # client_id alone

    assert response.status_code == 200
    assert refresh(http, client, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_an_unknown_token_is_answered_200(http, make_client, snapshot):
    client = make_client()
    before = snapshot()

    response = revoke(http, client, "not-a-token-we-issued")

    assert response.status_code == 200
    assert snapshot() == before


def test_revoking_twice_is_answered_200(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    assert revoke(http, client, token["refresh_token"]).status_code == 200
    assert revoke(http, client, token["refresh_token"]).status_code == 200


def test_another_clients_token_is_refused(http, browser, make_user, make_client, snapshot):
    make_user()
    owner, other = make_client(), make_client(name="Other App")
    token = issue(http, browser, owner)
    before = snapshot()

    response = revoke(http, other, token["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert snapshot() == before
    with http.app.app_context():
        assert db.session.scalars(select(TokenFamily)).one().revoked_at is None


def test_an_unauthenticated_request_is_refused(http, browser, make_user, make_client, snapshot):
    make_user()
    client = make_client()
    token = issue(http, browser, client)
    before = snapshot()

    anonymous = http.post("/revoke", data={"token": token["access_token"]}, timeout=5)
    as_public = http.post(
        "/revoke",
        data={"token": token["access_token"], "client_id": client.client_id},
        timeout=5,
    )
    wrong_secret = http.post(
        "/revoke",
        data={"token": token["access_token"]},
        auth=(client.client_id, "wrong"),
        timeout=5,
    )

    for response in (anonymous, as_public, wrong_secret):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert snapshot() == before


def test_a_request_without_a_token_is_refused(http, make_client):
    client = make_client()

    response = post_as(http, client, "/revoke")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_wrong_hint_does_not_hide_the_token(http, browser, make_user, make_client):
    make_user()
    client = make_client()
    token = issue(http, browser, client)

    revoke(http, client, token["refresh_token"], token_type_hint="access_token")

    assert introspect(http, client, token["access_token"]) == {"active": False}

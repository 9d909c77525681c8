"""Introspection by resource servers (RFC 7662) and by any confidential client when allowed.

RFC 7662 §2.1 (the caller authenticates; a public client cannot), §2.2 (a token the caller may
not see is `{"active": false}`, as if it did not exist), §2.3 (bad authentication is
invalid_client), §4 (the server decides who may introspect what). A resource's introspecting
client sees the access tokens whose `aud` includes the resource (RFC 8707 §2, RFC 9068 §3);
with IDP_INTROSPECTION_ANY_CLIENT any confidential client sees any token.
"""

from __future__ import annotations

import pytest

from idp.oauth.clients import delete_client
from idp.oauth.resources import create_resource, find_resource
from tests.oauth.issued import claims_of, issue, post_as

NOTES = "https://notes.example.com/mcp"
FILES = "https://files.example.com/api"
INACTIVE = {"active": False}


def introspect(http, client, token: str) -> dict:
    response = post_as(http, client, "/introspect", token=token)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def api(app, make_client):
    """The notes server's own confidential client, its resource's introspecting client."""
    client = make_client(name="Notes API", grant_types=["client_credentials"], redirect_uris=[])
    with app.app_context():
        create_resource(NOTES, "Notes", {"notes:read": ""}, introspection_client=client.client_id)
        create_resource(FILES, "Files", {"files:read": ""})
    return client


def test_a_resources_introspecting_client_sees_the_tokens_issued_for_it(
    http, browser, make_user, make_client, api
):
    """RFC 7662 §2.2: the API validating tokens learns they are active, and for it."""
    make_user()
    app_client = make_client()
    token = issue(http, browser, app_client, scope="notes:read", resource=NOTES)["access_token"]

    body = introspect(http, api, token)

    claims = claims_of(http, token)
    assert body["active"] is True
    assert (body["aud"], body["scope"], body["client_id"]) == (
        NOTES,
        "notes:read",
        app_client.client_id,
    )
    assert body["sub"] == claims["sub"]


def test_the_introspecting_client_sees_nothing_else(
    http, browser, make_user, make_client, api, snapshot
):
    """RFC 7662 §2.2, §4: tokens for the provider itself, for another resource, and refresh
    tokens are `{"active": false}` to it; nothing is stored."""
    make_user()
    app_client = make_client()
    own = issue(http, browser, app_client, scope="openid offline_access")
    files = issue(http, browser, app_client, scope="files:read", resource=FILES)["access_token"]
    before = snapshot()

    seen = [introspect(http, api, t) for t in (own["access_token"], own["refresh_token"], files)]

    assert seen == [INACTIVE, INACTIVE, INACTIVE]
    assert snapshot() == before


def test_a_wrong_secret_is_invalid_client(http, browser, make_user, make_client, api, snapshot):
    """RFC 7662 §2.3, RFC 6749 §5.2."""
    make_user()
    token = issue(http, browser, make_client(), scope="notes:read", resource=NOTES)["access_token"]
    before = snapshot()

    response = http.post(
        "/introspect", data={"token": token}, auth=(api.client_id, "not-the-secret"), timeout=5
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert snapshot() == before


def test_deleting_the_client_leaves_the_resource_without_one(app, api):
    with app.app_context():
        delete_client(api.client_id)
        resource = find_resource(NOTES)
        assert resource is not None and resource.introspection_client_id is None


@pytest.mark.settings(IDP_INTROSPECTION_ANY_CLIENT="true")
def test_with_the_setting_any_confidential_client_sees_any_token(
    http, browser, make_user, make_client, snapshot
):
    """What Keycloak and node-oidc-provider do: any authenticated confidential client may
    introspect any token; a public client still cannot authenticate (RFC 7662 §2.1)."""
    make_user()
    app_client = make_client()
    token = issue(http, browser, app_client)
    other = make_client(name="Gateway", grant_types=["client_credentials"], redirect_uris=[])
    public = make_client(name="CLI", public=True)

    access = introspect(http, other, token["access_token"])
    refresh = introspect(http, other, token["refresh_token"])
    before = snapshot()
    refused = post_as(http, public, "/introspect", token=token["access_token"])

    assert access["active"] is True and access["client_id"] == app_client.client_id
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert snapshot() == before


def test_without_the_setting_another_client_sees_nothing(
    http, browser, make_user, make_client, snapshot
):
    """The default (RFC 7662 §4): a client that is neither the token's nor its resource's
    introspecting client is told the token is not active."""
    make_user()
    token = issue(http, browser, make_client())["access_token"]
    other = make_client(name="Gateway", grant_types=["client_credentials"], redirect_uris=[])
    before = snapshot()

    assert introspect(http, other, token) == INACTIVE
    assert snapshot() == before

"""The management API's clients: list, get, create, update, rotate the secret, disable,
enable, delete. Errors are problem details (RFC 9457); a refused request stores nothing."""

from __future__ import annotations

from idp.core.security import digest
from idp.oauth.clients import find_client
from tests.helpers.factories import RegisteredClient
from tests.helpers.organizations import make_organization
from tests.oauth.issued import post_as

CALLBACK = "https://app.example.com/callback"


def test_create_get_update_and_delete(app, api):
    created = api("POST", "/clients", json={"client_name": "Shop", "redirect_uris": [CALLBACK]})

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_name"] == "Shop"
    with app.app_context():
        assert find_client(body["client_id"]).secret_hash == digest(body["client_secret"])
    path = f"/clients/{body['client_id']}"
    assert api("GET", path).json()["redirect_uris"] == [CALLBACK]
    assert "client_secret" not in api("GET", path).json()
    changed = api("PATCH", path, json={"redirect_uris": [CALLBACK, "http://127.0.0.1/cb"]})
    assert changed.status_code == 200
    assert changed.json()["redirect_uris"] == [CALLBACK, "http://127.0.0.1/cb"]
    assert changed.json()["client_name"] == "Shop"
    listed = api("GET", "/clients").json()["clients"]
    assert [c["client_id"] for c in listed] == [body["client_id"]]
    assert api("DELETE", path).status_code == 204
    assert api("GET", path).status_code == 404


def test_a_refused_client_says_why_and_stores_nothing(api, snapshot):
    before = snapshot()

    response = api("POST", "/clients", json={"client_name": "Shop", "redirect_uris": ["x"]})

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == (
        "Redirect URI 'x' must be https, http on a loopback address, or a private-use scheme "
        "like com.example.app:/."
    )
    assert problem["errors"] == [{"pointer": "/redirect_uris", "detail": problem["detail"]}]
    assert snapshot() == before


def test_rotate_disable_and_enable(http, api, make_client):
    client = make_client(grant_types=["client_credentials"], redirect_uris=[], scopes=["openid"])
    path = f"/clients/{client.client_id}"

    secret = api("POST", path + "/secret").json()["client_secret"]
    disabled = api("POST", path + "/disable")

    assert disabled.json()["disabled_at"] is not None
    rotated = RegisteredClient(client.client_id, secret)
    refused = post_as(http, rotated, "/token", grant_type="client_credentials")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"  # RFC 6749 §5.2
    assert api("POST", path + "/enable").json()["disabled_at"] is None
    assert post_as(http, rotated, "/token", grant_type="client_credentials").status_code == 200
    old = post_as(http, client, "/token", grant_type="client_credentials")
    assert old.status_code == 401


def test_an_unknown_client_is_404(api):
    response = api("GET", "/clients/nobody")

    assert response.status_code == 404
    assert response.json()["detail"] == "No client has the client_id nobody."


def test_a_client_is_kept_for_organizations_through_the_api(app, api, make_user, snapshot):
    """`organizations` (slugs) as on the console and `idp clients restrict`: set at creation,
    changed by PATCH, emptied to open the client to everyone; an unknown slug is a 422 and
    nothing is stored, not even the client."""
    owner = make_user("owner@example.com")
    make_organization(app, owner, slug="acme")
    make_organization(app, owner, slug="globex")
    body = {"client_name": "Shop", "redirect_uris": [CALLBACK], "organizations": ["acme"]}

    created = api("POST", "/clients", json=body).json()

    assert created["organizations"] == ["acme"]
    path = f"/clients/{created['client_id']}"
    assert api("PATCH", path, json={"organizations": ["globex", "acme"]}).json()[
        "organizations"
    ] == ["acme", "globex"]
    assert api("PATCH", path, json={"client_name": "Shop 2"}).json()["organizations"] == [
        "acme",
        "globex",
    ]
    assert api("PATCH", path, json={"organizations": []}).json()["organizations"] == []
    before = snapshot()
    refused = api("POST", "/clients", json={**body, "organizations": ["nowhere"]})
    changed = api("PATCH", path, json={"client_name": "X", "organizations": ["nowhere"]})
    for answer in (refused, changed):
        assert answer.status_code == 422
        assert answer.json()["detail"] == "There is no organization 'nowhere'."
    assert snapshot() == before

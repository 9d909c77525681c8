"""The management API's resources (RFC 8707), signing keys, API keys and people: each noun's
operations, its conflicts (409) and its refusals (422), which say why and store nothing."""

from __future__ import annotations

from idp.api.models import ApiKey
from idp.core.security import digest
from idp.db import db
from idp.identity import users
from idp.oauth.resources import find_resource

NOTES = "https://notes.example.com/mcp"


def test_resources(app, api):
    body = {"uri": NOTES, "name": "Notes", "scopes": {"notes:read": "Read your notes"}}

    created = api("POST", "/resources", json=body)

    assert created.status_code == 201, created.text
    path = f"/resources/{created.json()['id']}"
    changed = api("PATCH", path, json={"name": "Notes API", "access_token_ttl": 600})
    assert changed.json()["name"] == "Notes API"
    assert changed.json()["scopes"] == {"notes:read": "Read your notes"}
    assert api("GET", path).json()["access_token_ttl"] == 600
    assert [r["uri"] for r in api("GET", "/resources").json()["resources"]] == [NOTES]
    assert api("DELETE", path).status_code == 204
    with app.app_context():
        assert find_resource(NOTES) is None


def test_a_resource_registered_twice_is_a_conflict(api, snapshot):
    body = {"uri": NOTES, "name": "Notes", "scopes": {"notes:read": ""}}
    api("POST", "/resources", json=body)
    before = snapshot()

    response = api("POST", "/resources", json=body)

    assert response.status_code == 409
    assert response.json()["detail"] == f"A resource {NOTES} is already registered."
    assert snapshot() == before


def test_the_management_api_is_a_resource_nobody_can_register(http, api, snapshot):
    before = snapshot()

    response = api(
        "POST", "/resources", json={"uri": http.base + "/api", "name": "x", "scopes": {"a": ""}}
    )

    assert response.status_code == 409
    assert snapshot() == before


def test_a_bad_resource_says_why_and_stores_nothing(api, snapshot):
    before = snapshot()

    response = api(
        "POST", "/resources", json={"uri": NOTES + "#x", "name": "N", "scopes": {"a": ""}}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == "The resource URI must not contain a fragment."
    assert snapshot() == before


def test_discovery_lists_the_management_scopes(http):
    scopes = http.get("/.well-known/openid-configuration").json()["scopes_supported"]

    assert "admin:clients:read" in scopes
    assert "admin:people:write" in scopes


def test_signing_keys_are_listed_and_rotated(api):
    before = api("GET", "/signing-keys").json()["keys"]

    rotated = api("POST", "/signing-keys", json={})

    assert rotated.status_code == 201
    assert rotated.json()["state"] == "pending"  # published before it signs
    after = api("GET", "/signing-keys").json()["keys"]
    assert {k["kid"] for k in after} == {k["kid"] for k in before} | {rotated.json()["kid"]}


def test_api_keys_for_someone_else(app, api, make_user):
    ada = make_user()

    created = api("POST", "/api-keys", json={"name": "Ada's", "user_id": ada})

    assert created.status_code == 201
    body = created.json()
    with app.app_context():
        stored = db.session.get(ApiKey, body["id"])
        assert stored.key_hash == digest(body["key"])
        assert stored.created_by_id is not None
    listed = api("GET", "/api-keys", params={"user_id": ada}).json()["api_keys"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0]
    assert api("POST", f"/api-keys/{body['id']}/revoke").json()["revoked_at"] is not None


def test_people_are_created_found_by_email_prefix_and_read(api, snapshot):
    created = api(
        "POST",
        "/people",
        json={"email": "ada@example.com", "name": "Ada", "password": "plum-orchard-47-lantern"},
    )
    api("POST", "/people", json={"email": "bob@example.com", "name": "Bob", "password": "x" * 20})

    assert created.status_code == 201
    found = api("GET", "/people", params={"email": "AD"}).json()["people"]
    assert [p["email"] for p in found] == ["ada@example.com"]
    assert api("GET", f"/people/{created.json()['id']}").json()["name"] == "Ada"
    page = api("GET", "/people", params={"limit": 1}).json()["people"]
    after = api("GET", "/people", params={"limit": 1, "after": page[0]["id"]}).json()["people"]
    assert len(page) == len(after) == 1
    assert after[0]["id"] > page[0]["id"]
    before = snapshot()
    taken = api(
        "POST", "/people", json={"email": "ada@example.com", "name": "A", "password": "y" * 20}
    )
    assert taken.status_code == 409
    assert taken.json()["detail"] == "An account with this email already exists."
    assert snapshot() == before


def test_a_search_does_not_read_like_a_pattern(app, api):
    with app.app_context():
        users.create_user("a_b@example.com", "A", "plum-orchard-47-lantern")
        users.create_user("axb@example.com", "B", "plum-orchard-47-lantern")

    found = api("GET", "/people", params={"email": "a_"}).json()["people"]

    assert [p["email"] for p in found] == ["a_b@example.com"]


def test_a_bad_query_is_refused(api):
    response = api("GET", "/people", params={"limit": "lots"})

    assert response.status_code == 422
    assert response.json()["detail"] == "The query parameter limit is not valid."

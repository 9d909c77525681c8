"""The management API's organization roles (permission statements) and teams: each
operation, and each refusal (404, 409, 422, a built-in role), which says why and stores
nothing."""

from __future__ import annotations

import pytest

from tests.api.test_organizations_api import refused

AUDITOR = {"member": ["update"], "team": ["create"]}


@pytest.fixture
def acme(api, make_user) -> int:
    ada = make_user("ada@example.com", name="Ada")
    created = api("POST", "/organizations", json={"name": "Acme", "slug": "acme", "owner_id": ada})
    return int(created.json()["id"])


@pytest.fixture
def bob(api, acme, make_user) -> int:
    bob = make_user("bob@example.com", name="Bob")
    api("POST", f"/organizations/{acme}/members", json={"user_id": bob, "role": "member"})
    return bob


def test_roles_are_listed_created_replaced_and_deleted(api, acme):
    path = f"/organizations/{acme}/roles"

    created = api("POST", path, json={"name": "auditor", "statements": AUDITOR})
    replaced = api("PUT", f"{path}/auditor", json={"statements": {"invitation": ["create"]}})
    listed = api("GET", path).json()["roles"]

    assert created.status_code == 201, created.text
    assert created.json() == {"name": "auditor", "built_in": False, "statements": AUDITOR}
    assert replaced.json()["statements"] == {"invitation": ["create"]}
    assert [r["name"] for r in listed] == ["owner", "admin", "member", "auditor"]
    assert listed[0]["built_in"] and listed[0]["statements"]["organization"] == [
        "update",
        "delete",
    ]
    assert api("DELETE", f"{path}/auditor").status_code == 204
    assert len(api("GET", path).json()["roles"]) == 3


def test_role_refusals_say_why_and_store_nothing(api, snapshot, acme, bob):
    path = f"/organizations/{acme}/roles"
    api("POST", path, json={"name": "auditor", "statements": AUDITOR})
    body = {"name": "auditor", "statements": {}}
    refused(api, snapshot, "POST", path, 409, "There is already a role named “auditor”.", json=body)
    refused(
        api,
        snapshot,
        "POST",
        path,
        409,
        "There is already a role named “owner”.",
        json={**body, "name": "owner"},
    )
    refused(
        api,
        snapshot,
        "POST",
        path,
        422,
        "A role name is a lowercase letter, then up to 63 letters, digits, - or _.",
        json={**body, "name": "9 lives"},
    )
    refused(
        api,
        snapshot,
        "POST",
        path,
        422,
        "The body does not match the schema.",
        json={**body, "name": "x", "statements": {"member": ["fly"]}},
    )
    for method in ("PUT", "DELETE"):
        kwargs = {"json": {"statements": {}}} if method == "PUT" else {}
        refused(
            api,
            snapshot,
            method,
            f"{path}/owner",
            422,
            "The built-in role “owner” cannot be changed or deleted.",
            **kwargs,
        )
        refused(
            api,
            snapshot,
            method,
            f"{path}/nobody",
            404,
            "This organization has no role named nobody.",
            **kwargs,
        )
    api("PATCH", f"/organizations/{acme}/members/{bob}", json={"role": "auditor"})
    refused(
        api,
        snapshot,
        "DELETE",
        f"{path}/auditor",
        422,
        "Members still hold the role “auditor”; change their role first.",
    )


def test_teams_and_their_members(api, acme, bob):
    path = f"/organizations/{acme}/teams"

    created = api("POST", path, json={"name": "Ops"})
    team = f"{path}/{created.json()['id']}"
    renamed = api("PATCH", team, json={"name": "Platform"})
    joined = api("POST", f"{team}/members", json={"user_id": bob})

    assert created.status_code == 201 and created.json()["name"] == "Ops"
    assert renamed.json()["name"] == "Platform"
    assert joined.status_code == 201
    assert joined.json() == {"user_id": bob, "email": "bob@example.com", "name": "Bob"}
    assert [t["name"] for t in api("GET", path).json()["teams"]] == ["Platform"]
    assert [m["user_id"] for m in api("GET", f"{team}/members").json()["members"]] == [bob]
    assert api("DELETE", f"{team}/members/{bob}").status_code == 204
    assert api("GET", f"{team}/members").json()["members"] == []
    assert api("DELETE", team).status_code == 204
    assert api("GET", path).json()["teams"] == []


def test_team_refusals_say_why_and_store_nothing(api, snapshot, acme, bob, make_user):
    path = f"/organizations/{acme}/teams"
    ops = api("POST", path, json={"name": "Ops"}).json()["id"]
    dev = api("POST", path, json={"name": "Dev"}).json()["id"]
    api("POST", f"{path}/{ops}/members", json={"user_id": bob})
    taken = "There is already a team named “Ops”."
    refused(api, snapshot, "POST", path, 409, taken, json={"name": "Ops"})
    refused(api, snapshot, "PATCH", f"{path}/{dev}", 409, taken, json={"name": "Ops"})
    refused(
        api,
        snapshot,
        "POST",
        path,
        422,
        "Give a team name of 1 to 200 characters.",
        json={"name": "   "},
    )
    refused(
        api,
        snapshot,
        "POST",
        f"{path}/{ops}/members",
        409,
        "bob@example.com is already in Ops.",
        json={"user_id": bob},
    )
    carol = make_user("carol@example.com", name="Carol")
    refused(
        api,
        snapshot,
        "POST",
        f"{path}/{ops}/members",
        422,
        "Only members of the organization can join its teams.",
        json={"user_id": carol},
    )
    refused(
        api,
        snapshot,
        "DELETE",
        f"{path}/{dev}/members/{bob}",
        404,
        f"No member of this team has the user id {bob}.",
    )
    missing = "No team of this organization has the id 999999."
    for method, suffix in (("PATCH", ""), ("DELETE", ""), ("GET", "/members")):
        kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
        refused(api, snapshot, method, f"{path}/999999{suffix}", 404, missing, **kwargs)

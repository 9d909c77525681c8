"""Requests to the management API that race on a unique key answer as they would one after
the other (RFC 9110 §9.2.2), without a 500, and leave one row: one resource per URI, one
person per email address, one organization per slug, one membership per person and
organization."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from idp.identity.models import User
from idp.identity.organization_models import (
    Membership,
    Organization,
    OrganizationRole,
    Team,
    TeamMember,
)
from idp.oauth.resources import Resource
from tests.api.conftest import make_key
from tests.helpers.factories import make_user
from tests.test_races import PARALLEL, count


def at_once(server, key: str, path: str, body: dict) -> list[int]:
    barrier = threading.Barrier(PARALLEL)

    def run(_: int) -> int:
        barrier.wait()
        headers = {"Authorization": f"Bearer {key}"}
        return requests.post(server.url + path, json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(run, range(PARALLEL)))


def test_one_resource_per_uri(server):
    key = make_key(server.app)
    body = {"uri": "https://notes.example.com/mcp", "name": "Notes", "scopes": {"a": ""}}

    statuses = at_once(server, key, "/api/resources", body)

    assert sorted(statuses) == [201] + [409] * (PARALLEL - 1)
    assert count(server.app, Resource) == 1


def test_one_person_per_email(server):
    key = make_key(server.app)
    body = {"email": "ada@example.com", "name": "Ada", "password": "plum-orchard-47-lantern"}

    statuses = at_once(server, key, "/api/people", body)

    assert sorted(statuses) == [201] + [409] * (PARALLEL - 1)
    assert count(server.app, User) == 2  # Ada and the key's owner


def test_one_organization_per_slug(server):
    key = make_key(server.app)
    owner = make_user(server.app, "ada@example.com")
    body = {"name": "Acme", "slug": "acme", "owner_id": owner}

    statuses = at_once(server, key, "/api/organizations", body)

    assert sorted(statuses) == [201] + [409] * (PARALLEL - 1)
    assert count(server.app, Organization) == 1
    assert count(server.app, Membership) == 1  # its owner


def test_one_membership_per_person(server):
    key = make_key(server.app)
    owner = make_user(server.app, "ada@example.com")
    bob = make_user(server.app, "bob@example.com")
    headers = {"Authorization": f"Bearer {key}"}
    acme = requests.post(
        server.url + "/api/organizations",
        json={"name": "Acme", "slug": "acme", "owner_id": owner},
        headers=headers,
        timeout=30,
    ).json()["id"]

    statuses = at_once(
        server, key, f"/api/organizations/{acme}/members", {"user_id": bob, "role": "member"}
    )

    assert sorted(statuses) == [201] + [409] * (PARALLEL - 1)
    assert count(server.app, Membership) == 2  # Ada and Bob


def test_one_role_per_name_and_one_team_membership_per_person(server):
    key = make_key(server.app)
    ada = make_user(server.app, "ada@example.com")
    headers = {"Authorization": f"Bearer {key}"}
    org = server.url + "/api/organizations"
    acme = requests.post(
        org, json={"name": "Acme", "slug": "acme", "owner_id": ada}, headers=headers, timeout=30
    ).json()["id"]
    team = requests.post(
        f"{org}/{acme}/teams", json={"name": "Ops"}, headers=headers, timeout=30
    ).json()["id"]

    roles = at_once(
        server, key, f"/api/organizations/{acme}/roles", {"name": "auditor", "statements": {}}
    )
    teams = at_once(server, key, f"/api/organizations/{acme}/teams", {"name": "Dev"})
    path = f"/api/organizations/{acme}/teams/{team}/members"
    joins = at_once(server, key, path, {"user_id": ada})

    for statuses in (roles, teams, joins):
        assert sorted(statuses) == [201] + [409] * (PARALLEL - 1)
    assert count(server.app, OrganizationRole) == 1
    assert count(server.app, Team) == 2
    assert count(server.app, TeamMember) == 1

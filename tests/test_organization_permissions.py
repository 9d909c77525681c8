"""Every role x every action, generated from the permission statements: a member acting above
their role is refused with a message naming what the role lacks, and nothing stored changes;
an allowed action goes through. One `has_permission` decides them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idp.db import db
from idp.identity import invitations, members, organizations, permissions, teams
from idp.identity.organization_models import Invitation, Organization, Team
from idp.identity.organizations import Fields
from idp.identity.permissions import BUILT_IN, STATEMENTS, NotAllowed
from tests.helpers.organizations import add_member, link, make_organization, membership, user

CUSTOM = {"team": ["create", "update", "delete"], "invitation": ["create"]}
ROLES = {**{name: {k: list(v) for k, v in s.items()} for name, s in BUILT_IN.items()}}
ROLES["team-lead"] = CUSTOM
CASES = [
    (role, resource, action)
    for role in ROLES
    for resource, actions in STATEMENTS.items()
    for action in actions
]


def act(resource: str, action: str, ids: dict[str, int]) -> Callable[[Any, Any], Any]:
    """The service call that performs `action` on `resource`, as (actor, membership)."""
    org, target, outsider, team, invitation = (
        ids["org"],
        ids["target"],
        ids["outsider"],
        ids["team"],
        ids["invitation"],
    )
    slug = db.session.get(Organization, org).slug  # type: ignore[union-attr]
    calls: dict[tuple[str, str], Callable[[Any, Any], Any]] = {
        ("organization", "update"): lambda a, m: organizations.update(
            a, m, Fields(name="Renamed", slug=slug), require_two_factor=False
        ),
        ("organization", "delete"): lambda a, m: organizations.delete_organization(a, m, slug),
        ("member", "create"): lambda a, m: members.add(a, m, user(outsider), "member"),
        ("member", "update"): lambda a, m: members.change_role(a, m, target, "admin"),
        ("member", "delete"): lambda a, m: members.remove(a, m, target),
        ("invitation", "create"): lambda a, m: invitations.invite(
            a, m, "new@example.com", "member", link
        ),
        ("invitation", "cancel"): lambda a, m: invitations.cancel(a, m, invitation),
        ("team", "create"): lambda a, m: teams.create(a, m, "Platform"),
        ("team", "update"): lambda a, m: teams.rename(a, m, team, "Core"),
        ("team", "delete"): lambda a, m: teams.remove(a, m, team),
        ("role", "create"): lambda a, m: permissions.create_role(a, m, "auditor", {}),
        ("role", "update"): lambda a, m: permissions.update_role(
            a, m, "spare", {"team": ["create"]}
        ),
        ("role", "delete"): lambda a, m: permissions.delete_role(a, m, "spare"),
    }
    assert set(calls) == {(r, a) for r, acts in STATEMENTS.items() for a in acts}
    return calls[(resource, action)]


@pytest.fixture
def world(app, make_user, mailbox) -> dict[str, int]:
    """An organization with an owner, the actor, a target member, a team, a pending
    invitation, the custom roles `team-lead` and `spare`, and an outsider."""
    owner = make_user("owner@example.com")
    actor = make_user("actor@example.com")
    target = make_user("target@example.com")
    outsider = make_user("outsider@example.com")
    org = make_organization(app, owner)
    target_member = add_member(app, org, target)
    with app.app_context():
        boss = membership(owner, org)
        permissions.create_role(user(owner), boss, "team-lead", CUSTOM)
        permissions.create_role(user(owner), boss, "spare", {})
        team = teams.create(user(owner), boss, "Web").id
        invitation = invitations.invite(user(owner), boss, "x@example.com", "member", link).id
    return {
        "org": org,
        "actor": actor,
        "target": target_member,
        "outsider": outsider,
        "team": team,
        "invitation": invitation,
    }


@pytest.mark.parametrize(("role", "resource", "action"), CASES)
def test_each_role_may_do_exactly_what_its_statements_say(
    app, world, snapshot, role, resource, action
):
    add_member(app, world["org"], world["actor"], role)
    allowed = action in ROLES[role].get(resource, [])
    before = snapshot()

    with app.app_context():
        actor = user(world["actor"])
        run = act(resource, action, world)
        if allowed:
            run(actor, membership(actor.id, world["org"]))
        else:
            with pytest.raises(NotAllowed) as refused:
                run(actor, membership(actor.id, world["org"]))

    if allowed:
        assert snapshot() != before
    else:
        assert refused.value.message == (
            f"Your role ({role}) does not allow you to {action} {resource}s here."
        )
        assert snapshot() == before


def test_the_owner_role_holds_every_known_permission():
    assert permissions.BUILT_IN["owner"] == STATEMENTS


def test_a_custom_role_names_only_known_resources_and_actions(app, world, snapshot):
    add_member(app, world["org"], world["actor"], "admin")
    before = snapshot()

    with app.app_context():
        actor = user(world["actor"])
        with pytest.raises(Exception) as unknown_resource:
            permissions.create_role(
                actor, membership(actor.id, world["org"]), "x", {"billing": ["read"]}
            )
        with pytest.raises(Exception) as unknown_action:
            permissions.create_role(
                actor, membership(actor.id, world["org"]), "x", {"team": ["fly"]}
            )

    assert str(unknown_resource.value).startswith("Unknown resource “billing”. Known: organization")
    assert str(unknown_action.value) == (
        "Unknown action “fly” on team. Known: create, update, delete."
    )
    assert snapshot() == before


def test_a_non_member_may_do_nothing(app, world, snapshot):
    before = snapshot()
    with app.app_context():
        outsider = user(world["outsider"])
        with pytest.raises(NotAllowed) as refused:
            teams.create(outsider, membership(outsider.id, world["org"]), "Mine")

    assert refused.value.message == "You are not a member of this organization."
    assert snapshot() == before
    with app.app_context():
        assert db.session.query(Team).count() == 1
        assert db.session.query(Invitation).count() == 1

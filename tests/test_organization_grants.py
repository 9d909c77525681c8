"""Nobody grants more than they hold. A role is given (to a member, an invitee, the people an
SSO connection signs in) and a custom role written only when every one of its permissions is
the actor's own; a member whose role holds more than the actor's is neither demoted nor
removed by them; and deleting the organization stays with its owners (no custom role holds
it). The matrix is generated: every way of granting x every role, allowed exactly when the
role's statements are within the actor's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idp.db import db
from idp.errors import InvalidInput
from idp.federation.sso import connections
from idp.federation.sso.connections import ConnectionFields
from idp.identity import invitations, members, permissions
from idp.identity.organization_models import Organization
from idp.identity.permissions import NotAllowed, statements_of
from idp.identity.users import find_by_email
from tests.helpers.organizations import add_member, link, make_organization, membership, user

LEAD = {
    "member": ["delete", "update"],
    "invitation": ["create"],
    "role": ["create", "update"],
    "team": ["create"],
}
CUSTOM = {
    "lead": LEAD,
    "team-maker": {"team": ["create"]},  # within the lead's
    "canceller": {"invitation": ["cancel", "create"]},  # invitation:cancel is not the lead's
}
GIVEN = ["member", "lead", "team-maker", "canceller", "admin"]


def grant(how: str, role: str, ids: dict[str, int]) -> Callable[[Any, Any], Any]:
    """Give `role` the way `how` names, as (actor, membership)."""
    statements = {k: list(v) for k, v in statements_of(ids["org"], role).items()}
    calls: dict[str, Callable[[Any, Any], Any]] = {
        "change a member's role": lambda a, m: members.change_role(a, m, ids["target"], role),
        "invite": lambda a, m: invitations.invite(a, m, "new@example.com", role, link),
        "create a role like it": lambda a, m: permissions.create_role(a, m, "copy", statements),
        "widen the spare role": lambda a, m: permissions.update_role(a, m, "spare", statements),
    }
    return calls[how]


@pytest.fixture
def world(app, make_user, mailbox) -> dict[str, int]:
    """An organization whose owner made the custom roles above and `spare` (role:create only,
    so that writing any role of GIVEN over it changes it);
    the actor is a `lead`, the target a plain member, and an admin."""
    owner = make_user("owner@example.com")
    actor = make_user("actor@example.com")
    target = make_user("target@example.com")
    admin = make_user("admin@example.com")
    org = make_organization(app, owner)
    with app.app_context():
        boss = membership(owner, org)
        for name, statements in {**CUSTOM, "spare": {"role": ["create"]}}.items():
            permissions.create_role(user(owner), boss, name, statements)
    add_member(app, org, actor, "lead")
    return {
        "org": org,
        "actor": actor,
        "target": add_member(app, org, target),
        "admin": add_member(app, org, admin, "admin"),
    }


def as_actor(app, world, call: Callable[[Any, Any], Any]) -> Any:  # type: ignore[no-untyped-def]
    with app.app_context():
        actor = user(world["actor"])
        return call(actor, membership(actor.id, world["org"]))


CASES = [
    (how, role)
    for how in ("change a member's role", "invite", "create a role like it", "widen the spare role")
    for role in GIVEN
]


@pytest.mark.parametrize(("how", "role"), CASES)
def test_a_role_is_granted_only_within_the_actors_own(app, world, snapshot, how, role):
    with app.app_context():
        held = statements_of(world["org"], "lead")
        wanted = statements_of(world["org"], role)
        beyond = sorted(
            f"{r}:{a}" for r, acts in wanted.items() for a in acts if a not in held.get(r, ())
        )
    before = snapshot()

    if not beyond:
        as_actor(app, world, lambda a, m: grant(how, role, world)(a, m))
        assert snapshot() != before
        return
    with pytest.raises(NotAllowed) as refused:
        as_actor(app, world, lambda a, m: grant(how, role, world)(a, m))

    what = (
        "This role"
        if how in ("create a role like it", "widen the spare role")
        else f"The role “{role}”"
    )
    assert refused.value.message == (
        f"{what} would give permissions your role (lead) does not hold: {', '.join(beyond)}."
    )
    assert snapshot() == before


def test_the_matrix_covers_both_outcomes():
    """Some roles in GIVEN are within the lead's and some are not, so both branches run."""
    within = [
        r for r in CUSTOM if all(set(a) <= set(LEAD.get(k, [])) for k, a in CUSTOM[r].items())
    ]
    assert within == ["lead", "team-maker"]


def test_a_lead_does_not_widen_its_own_role(app, world, snapshot):
    before = snapshot()
    with pytest.raises(NotAllowed) as refused:
        as_actor(
            app,
            world,
            lambda a, m: permissions.update_role(a, m, "lead", {**LEAD, "member": ["create"]}),
        )
    assert refused.value.message == (
        "This role would give permissions your role (lead) does not hold: member:create."
    )
    assert snapshot() == before


@pytest.mark.parametrize("change", ["demote", "remove"])
def test_a_lead_neither_demotes_nor_removes_an_admin(app, world, snapshot, change):
    before = snapshot()
    with pytest.raises(NotAllowed) as refused:
        if change == "demote":
            as_actor(app, world, lambda a, m: members.change_role(a, m, world["admin"], "member"))
        else:
            as_actor(app, world, lambda a, m: members.remove(a, m, world["admin"]))
    assert refused.value.message.startswith(
        "The role “admin” would give permissions your role (lead) does not hold: "
    )
    assert snapshot() == before


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_no_custom_role_holds_deleting_the_organization(app, world, snapshot, who):
    """An admin cannot make a role that deletes the organization and take it (the owner only
    deletes); nor can the owner make such a role to hand out."""
    email = "owner@example.com" if who == "owner" else "admin@example.com"
    before = snapshot()
    with app.app_context():
        person = person_by_email(email)
        mine = membership(person.id, world["org"])
        with pytest.raises(InvalidInput) as refused:
            permissions.create_role(person, mine, "deleter", {"organization": ["update", "delete"]})
    assert refused.value.message == (
        "Only owners delete the organization: a custom role cannot hold organization:delete."
    )
    assert snapshot() == before
    with app.app_context():
        assert db.session.get(Organization, world["org"]) is not None


def test_an_sso_connection_signs_people_in_with_no_more_than_its_admin_holds(app, world, snapshot):
    """A custom role may manage the organization's SSO (organization:update), but the role its
    connection gives to whom it signs in is held to the same rule."""
    with app.app_context():
        owner = person_by_email("owner@example.com")
        permissions.create_role(
            owner, membership(owner.id, world["org"]), "sso-admin", {"organization": ["update"]}
        )
        members.change_role(owner, membership(owner.id, world["org"]), world["target"], "sso-admin")
        target = person_by_email("target@example.com")
        fields = ConnectionFields(
            kind="oidc",
            name="Corp",
            issuer="https://login.corp.example",
            client_id="idp",
            client_secret="secret",
            default_role="admin",
        )
        before = snapshot()
        with pytest.raises(NotAllowed) as refused:
            connections.create(target, membership(target.id, world["org"]), fields)
    assert refused.value.message.startswith(
        "The role “admin” would give permissions your role (sso-admin) does not hold: "
    )
    assert snapshot() == before


def person_by_email(email: str):  # type: ignore[no-untyped-def]
    found = find_by_email(email)
    assert found is not None
    return found

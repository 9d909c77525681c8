"""Organizations: create (unique slug, also under a race), limits on who creates and how many,
update, delete with confirmation, members and the last owner, the active organization and
team of a session. Each refusal checks its message and that nothing stored changed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from idp.db import db
from idp.errors import IdpError
from idp.identity import members, organizations, teams
from idp.identity.organization_models import ActiveOrganization, Organization
from idp.identity.organizations import Fields, SlugTaken
from idp.identity.permissions import NotAllowed
from idp.identity.sessions import app_sessions
from tests.helpers.organizations import add_member, make_organization, membership, user


def refused(app, snapshot, call, error=IdpError) -> str:
    """Run `call()` in the app; it must raise `error` and store nothing. Its message."""
    before = snapshot()
    with app.app_context(), pytest.raises(error) as raised:
        call()
    assert snapshot() == before
    return raised.value.message


def test_the_creator_owns_a_new_organization(app, make_user):
    ada = make_user()
    org = make_organization(app, ada, slug="acme", name="  Acme   Corp ")

    with app.app_context():
        row = db.session.get(Organization, org)
        assert (row.name, row.slug) == ("Acme Corp", "acme")
        assert membership(ada, org).role == "owner"
        assert [m.organization.slug for m in organizations.mine(user(ada))] == ["acme"]


def test_a_taken_slug_is_refused(app, make_user, snapshot):
    ada, bob = make_user(), make_user("bob@example.com")
    make_organization(app, ada, slug="acme")

    message = refused(
        app, snapshot, lambda: organizations.create(user(bob), Fields("Other", "ACME"))
    )

    assert message == "The slug “acme” is taken. Choose another."


def test_two_creates_racing_for_one_slug_one_wins_the_other_hears_it_is_taken(app, make_user):
    people = [make_user(f"p{i}@example.com") for i in range(4)]
    barrier = threading.Barrier(len(people))

    def create(person: int) -> str:
        with app.app_context():
            actor = user(person)
            barrier.wait()
            try:
                organizations.create(actor, Fields("Race", "race"))
                return "created"
            except SlugTaken as error:
                return error.message

    with ThreadPoolExecutor(len(people)) as pool:
        results = list(pool.map(create, people))

    assert results.count("created") == 1
    assert sorted(set(results) - {"created"}) == ["The slug “race” is taken. Choose another."]
    with app.app_context():
        assert db.session.query(Organization).count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (Fields("", "acme"), "Give a name of 1 to 200 characters."),
        (
            Fields("Acme", "-acme"),
            "A slug is 1 to 48 lowercase letters, digits and hyphens, "
            "not starting or ending with a hyphen.",
        ),
        (
            Fields("Acme", "acme", "http://logo.example/a.png"),
            "The logo URL must be an https:// address.",
        ),
    ],
)
def test_bad_fields_are_refused(app, make_user, snapshot, fields, message):
    ada = make_user()
    assert refused(app, snapshot, lambda: organizations.create(user(ada), fields)) == message


@pytest.mark.settings(IDP_ORGANIZATION_LIMIT="1")
def test_a_person_creates_at_most_the_limit(app, make_user, snapshot):
    ada = make_user()
    make_organization(app, ada, slug="one")

    message = refused(app, snapshot, lambda: organizations.create(user(ada), Fields("Two", "two")))

    assert message == "You have created 1 organizations, the most allowed here."


@pytest.mark.settings(IDP_ORGANIZATION_CREATORS="admins")
def test_only_admins_create_when_the_setting_says_so(app, make_user, snapshot):
    ada = make_user()
    message = refused(
        app, snapshot, lambda: organizations.create(user(ada), Fields("Acme", "acme"))
    )
    assert message == "Only administrators may create organizations here."


def test_deleting_needs_the_slug_typed(app, make_user, snapshot):
    ada = make_user()
    org = make_organization(app, ada)

    message = refused(
        app,
        snapshot,
        lambda: organizations.delete_organization(user(ada), membership(ada, org), "acm"),
    )
    assert message == "Type the organization's slug, acme, to confirm."

    with app.app_context():
        organizations.delete_organization(user(ada), membership(ada, org), "acme")
        assert db.session.get(Organization, org) is None


def test_the_last_owner_can_neither_leave_nor_be_demoted_nor_removed(app, make_user, snapshot):
    ada, bob = make_user(), make_user("bob@example.com")
    org = make_organization(app, ada)
    add_member(app, org, bob, "admin")
    last = "An organization needs an owner: make someone else an owner first."

    def own_id() -> int:
        return membership(ada, org).id  # type: ignore[union-attr]

    assert refused(app, snapshot, lambda: members.leave(user(ada), membership(ada, org))) == last
    assert (
        refused(
            app,
            snapshot,
            lambda: members.change_role(user(ada), membership(ada, org), own_id(), "admin"),
        )
        == last
    )
    assert (
        refused(app, snapshot, lambda: members.remove(user(ada), membership(ada, org), own_id()))
        == last
    )
    # An admin may not touch an owner at all.
    assert (
        refused(app, snapshot, lambda: members.remove(user(bob), membership(bob, org), own_id()))
        == "Only an owner can remove an owner."
    )

    with app.app_context():  # with a second owner, the first may step down
        members.change_role(user(ada), membership(ada, org), membership(bob, org).id, "owner")
        members.change_role(user(ada), membership(ada, org), own_id(), "member")
        assert membership(ada, org).role == "member"


def test_adding_an_existing_member_is_refused(app, make_user, snapshot):
    ada, bob = make_user(), make_user("bob@example.com")
    org = make_organization(app, ada)
    add_member(app, org, bob)

    message = refused(
        app, snapshot, lambda: members.add(user(ada), membership(ada, org), user(bob), "member")
    )
    assert message == "bob@example.com is already a member."


def started_session(app, user_id: int) -> int:
    with app.app_context():
        _, active = app_sessions().start(user(user_id), remember=False, ip=None, user_agent=None)
        return active.id


def test_the_active_organization_and_team_are_kept_on_the_session(app, make_user):
    ada = make_user()
    org = make_organization(app, ada)
    session_id = started_session(app, ada)

    with app.app_context():
        team = teams.create(user(ada), membership(ada, org), "Web").id
        organizations.set_active(user(ada), session_id, org)
        teams.set_active_team(user(ada), session_id, team)
        row = organizations.active_of(user(ada), session_id)
        assert (row.organization_id, row.team_id) == (org, team)


def test_a_team_of_another_organization_cannot_be_made_active(app, make_user, snapshot):
    ada = make_user()
    acme = make_organization(app, ada, slug="acme")
    other = make_organization(app, ada, slug="other")
    session_id = started_session(app, ada)
    with app.app_context():
        foreign = teams.create(user(ada), membership(ada, other), "Elsewhere").id
        organizations.set_active(user(ada), session_id, acme)

    message = refused(
        app,
        snapshot,
        lambda: teams.set_active_team(user(ada), session_id, foreign),
        NotAllowed,
    )

    assert message == "That team is not in your active organization."


def test_a_non_member_cannot_make_an_organization_active(app, make_user, snapshot):
    ada, eve = make_user(), make_user("eve@example.com")
    org = make_organization(app, ada)
    session_id = started_session(app, eve)

    message = refused(
        app, snapshot, lambda: organizations.set_active(user(eve), session_id, org), NotAllowed
    )

    assert message == "You are not a member of this organization."


def test_a_removed_member_loses_the_organization_on_their_sessions(app, make_user):
    ada, bob = make_user(), make_user("bob@example.com")
    org = make_organization(app, ada)
    bob_member = add_member(app, org, bob)
    session_id = started_session(app, bob)
    with app.app_context():
        organizations.set_active(user(bob), session_id, org)
        members.remove(user(ada), membership(ada, org), bob_member)
        assert db.session.get(ActiveOrganization, session_id) is None

"""The organizations pages of the admin console: the list (search by name or slug prefix,
member counts, pages), an organization's page, and what an admin does there: add a person by
address, change a role, remove a member, cancel an invitation, delete with the slug typed.
Each change is audited with the admin; each refusal (the last owner, an unknown address, a
member already, a wrong confirmation) says why and stores nothing; only fresh-signed-in
admins get in. The person's page lists their organizations."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.identity import invitations, members, permissions, teams, users
from idp.identity.organization_models import Invitation, Membership, Organization
from tests.admin.conftest import ADMIN, text_of
from tests.conftest import CSRF, Browser
from tests.helpers.organizations import add_member, link, make_organization, membership, user
from tests.test_races import at_once, count, signed_in

ADA, BOB = "ada@example.com", "bob@example.com"


@pytest.fixture
def acme(app, make_user) -> dict[str, int]:
    """Acme, owned by Ada, with Bob a member."""
    ada = make_user(ADA, name="Ada")
    bob = make_user(BOB, name="Bob")
    org = make_organization(app, ada)
    return {"org": org, "ada": ada, "bob": bob, "bob_member": add_member(app, org, bob)}


def page(org: int) -> str:
    return f"/admin/organizations/{org}"


def act(admin: Browser, org: int, action: str, **fields: str):
    return admin.submit(page(org), action=f"{page(org)}/{action}", **fields)


def role_of(app, user_id: int, org: int) -> str | None:
    with app.app_context():
        row = membership(user_id, org)
        return row.role if row else None


def last_event(app, event: str) -> AuditEvent:
    with app.app_context():
        row = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id.desc())
        ).first()
        assert row is not None, event
        db.session.expunge(row)
        return row


def assert_audited_by_admin(app, event: str, admin_id: int) -> AuditEvent:
    row = last_event(app, event)
    assert row.user_id == admin_id
    assert row.detail["admin"] == ADMIN
    return row


def grace(app) -> int:
    """The signed-in admin's id."""
    with app.app_context():
        found = users.find_by_email(ADMIN)
        assert found is not None
        return found.id


def refused(admin: Browser, snapshot, org: int, action: str, **fields: str) -> str:
    """Post the action, expect 400 and nothing stored (no audit row either); the message."""
    before = snapshot(ignore=())
    response = act(admin, org, action, **fields)
    assert response.status_code == 400, response.text
    assert snapshot(ignore=()) == before
    match = re.search(r'<p id="error">([^<]*)</p>', response.text)
    assert match, "no error on the page"
    return html.unescape(match.group(1))


# --- Who may open it ------------------------------------------------------------------------


def test_someone_who_is_not_an_admin_gets_403(app, browser, acme, snapshot):
    assert browser.sign_in(ADA).status_code == 303
    before = snapshot()
    org = acme["org"]

    for path in ("/admin/organizations", page(org), "/admin/api-keys"):
        response = browser.get(path)
        assert response.status_code == 403, path
        assert "Only administrators can open the admin pages." in text_of(response)
    token = browser.csrf("/account")
    for action in ("members", "role/1", "remove/1", "cancel/1", "delete"):
        response = browser.http.post(
            browser.base + f"{page(org)}/{action}",
            data={"csrf_token": token, "email": BOB, "role": "owner", "confirm": "acme"},
        )
        assert response.status_code == 403, action
    assert snapshot() == before


def test_a_form_without_its_csrf_token_is_refused(app, admin, acme, snapshot):
    before = snapshot(ignore=())

    response = admin.http.post(admin.base + page(acme["org"]) + "/delete", data={"confirm": "acme"})

    assert response.status_code == 400
    assert snapshot(ignore=()) == before


def test_a_stale_sign_in_is_asked_for_the_password_again(app, admin, acme, clock):
    token = admin.csrf(page(acme["org"]))
    clock.advance(app.extensions["idp.settings"].session_fresh_age + 1)

    listing = admin.get("/admin/organizations")
    deleting = admin.http.post(
        admin.base + page(acme["org"]) + "/delete",
        data={"csrf_token": token, "confirm": "acme"},
        allow_redirects=False,
    )

    for response in (listing, deleting):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/confirm")
    assert count(app, Organization) == 1 and count(app, Membership) == 2


def test_the_admin_home_links_both_pages(admin):
    text = admin.get("/admin").text

    assert 'href="/admin/organizations"' in text and 'href="/admin/api-keys"' in text


def test_an_unknown_organization_or_action_is_404(admin, acme):
    assert admin.get(page(acme["org"] + 100)).status_code == 404
    assert act(admin, acme["org"], "transfer").status_code == 404


# --- The list --------------------------------------------------------------------------------


def test_the_list_shows_member_counts_and_finds_by_name_or_slug_prefix(app, admin, acme):
    make_organization(app, acme["bob"], slug="globex", name="Globex Corporation")

    everything = text_of(admin.get("/admin/organizations"))
    by_name = text_of(admin.get("/admin/organizations?q=glob"))
    by_slug = text_of(admin.get("/admin/organizations?q=ACM"))

    assert re.search(r">Acme</a></td>\s*<td><code>acme</code></td>\s*<td>2</td>", everything)
    assert re.search(r">Globex Corporation</a>.*?<td>1</td>", everything, re.S)
    assert "Globex" in by_name and "Acme" not in by_name
    assert "Acme" in by_slug and "Globex" not in by_slug
    assert f'href="{page(acme["org"])}"' in everything


def test_the_list_has_pages(app, admin):
    with app.app_context():
        for i in range(51):
            db.session.add(Organization(name=f"Org {i:02}", slug=f"org-{i:02}"))
        db.session.commit()

    first = admin.get("/admin/organizations").text
    second = admin.get("/admin/organizations?page=2").text

    assert "Org 49" in first and "Org 50" not in first and 'rel="next"' in first
    assert "Org 50" in second and 'rel="prev"' in second and 'rel="next"' not in second


def test_a_bad_page_number_is_refused(admin):
    response = admin.get("/admin/organizations?page=0")

    assert response.status_code == 400
    assert "The page must be a number from 1 to 2000." in text_of(response)


# --- An organization's page ------------------------------------------------------------------


def test_the_page_shows_settings_members_invitations_teams_and_roles(app, admin, acme, mailbox):
    with app.app_context():
        ada = user(acme["ada"])
        own = membership(acme["ada"], acme["org"])
        invitations.invite(ada, own, "carol@example.com", "admin", link)
        team = teams.create(ada, own, "Platform")
        teams.add_member(ada, own, team.id, acme["bob_member"])
        permissions.create_role(ada, own, "billing", {"member": ["update"]})

    text = text_of(admin.get(page(acme["org"])))

    assert "<h1>Acme</h1>" in text
    assert "<code>acme</code>" in text and "not required" in text
    assert f'data-email="{ADA}"' in text and f'data-email="{BOB}"' in text
    assert "<td>carol@example.com</td><td>admin</td><td>pending</td>" in text
    assert f"Platform: {BOB}" in text
    assert "<code>billing</code>: member (update)" in text


def test_the_person_page_lists_their_organizations(app, admin, acme):
    make_organization(app, acme["bob"], slug="globex", name="Globex")

    text = text_of(admin.get(f"/admin/people/{acme['bob']}"))

    assert re.search(rf'href="{page(acme["org"])}">Acme</a> \(<code>acme</code>\): member', text)
    assert re.search(
        r'href="/admin/organizations/\d+">Globex</a> \(<code>globex</code>\): owner', text
    )
    assert "not part of this console yet" not in text


# --- Adding a person -------------------------------------------------------------------------


def test_an_admin_adds_a_person_by_address(app, admin, acme, make_user):
    carol = make_user("carol@example.com")

    response = act(admin, acme["org"], "members", email=" Carol@Example.com ", role="admin")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(page(acme["org"]))
    assert "carol@example.com is now a member (admin)." in text_of(admin.get(page(acme["org"])))
    assert role_of(app, carol, acme["org"]) == "admin"
    row = assert_audited_by_admin(app, "member_added", grace(app))
    assert row.subject == "carol@example.com" and row.detail["role"] == "admin"


def test_adding_an_address_without_an_account_is_refused(admin, acme, snapshot):
    message = refused(
        admin, snapshot, acme["org"], "members", email="zoe@example.com", role="member"
    )

    assert message == "There is no account with the address zoe@example.com."


def test_adding_a_malformed_address_is_refused(admin, acme, snapshot):
    message = refused(admin, snapshot, acme["org"], "members", email="zoe@", role="member")

    assert message == "Enter a valid email address, like name@example.com."


def test_a_members_own_change_after_the_admins_is_not_marked_as_the_admins(app, admin, acme):
    act(admin, acme["org"], f"role/{acme['bob_member']}", role="admin")
    with app.app_context():
        members.change_role(
            user(acme["ada"]), membership(acme["ada"], acme["org"]), acme["bob_member"], "member"
        )

    row = last_event(app, "member_role_changed")
    assert row.user_id == acme["ada"] and "admin" not in row.detail


def test_adding_a_member_again_is_refused(admin, acme, snapshot):
    message = refused(admin, snapshot, acme["org"], "members", email=BOB, role="admin")

    assert message == f"{BOB} is already a member."


def test_adding_with_a_role_that_does_not_exist_is_refused(admin, acme, make_user, snapshot):
    make_user("carol@example.com")

    message = refused(
        admin, snapshot, acme["org"], "members", email="carol@example.com", role="wizard"
    )

    assert message == "There is no role named “wizard” here."


def test_two_adds_of_one_person_at_once_leave_one_membership(server):
    admin = signed_in(server, ADMIN, admin=True)
    with server.app.app_context():
        ada = users.create_user(ADA, "Ada", "plum-orchard-47-lantern")
        users.create_user(BOB, "Bob", "plum-orchard-47-lantern")
        org = make_organization(server.app, ada.id)
    token = CSRF.search(admin.get(page(org)).text).group(1)  # type: ignore[union-attr]

    answers = at_once(
        admin,
        lambda session, i: session.post(
            f"{server.url}{page(org)}/members",
            data={"csrf_token": token, "email": BOB, "role": "member"},
            allow_redirects=False,
            timeout=20,
        ),
    )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [303] + [400] * (len(answers) - 1)
    for answer in answers:
        if answer.status_code == 400:
            assert f"{BOB} is already a member." in text_of(answer)
    assert count(server.app, Membership) == 2


# --- Roles and removal -----------------------------------------------------------------------


def test_an_admin_changes_a_role(app, admin, acme):
    response = act(admin, acme["org"], f"role/{acme['bob_member']}", role="owner")

    assert response.status_code == 303
    assert role_of(app, acme["bob"], acme["org"]) == "owner"
    row = assert_audited_by_admin(app, "member_role_changed", grace(app))
    assert row.detail["previous"] == "member" and row.subject == BOB


def test_the_last_owner_cannot_be_demoted_or_removed(app, admin, acme, snapshot):
    with app.app_context():
        ada_member = membership(acme["ada"], acme["org"])
        assert ada_member is not None
        ada_member_id = ada_member.id

    demoted = refused(admin, snapshot, acme["org"], f"role/{ada_member_id}", role="member")
    removed = refused(admin, snapshot, acme["org"], f"remove/{ada_member_id}")

    assert demoted == removed == members.LAST_OWNER


def test_an_admin_removes_a_member(app, admin, acme):
    response = act(admin, acme["org"], f"remove/{acme['bob_member']}")

    assert response.status_code == 303
    assert role_of(app, acme["bob"], acme["org"]) is None
    assert "The member was removed." in text_of(admin.get(page(acme["org"])))
    assert assert_audited_by_admin(app, "member_removed", grace(app)).subject == BOB


def test_a_member_of_another_organization_is_not_found(app, admin, acme, snapshot):
    other = make_organization(app, acme["bob"], slug="globex", name="Globex")
    with app.app_context():
        bob_in_globex = membership(acme["bob"], other)
        assert bob_in_globex is not None
        member_id = bob_in_globex.id

    message = refused(admin, snapshot, acme["org"], f"remove/{member_id}")

    assert message == "There is no such member in this organization."


# --- Invitations ------------------------------------------------------------------------------


def test_an_admin_cancels_an_invitation(app, admin, acme, mailbox, snapshot):
    with app.app_context():
        own = membership(acme["ada"], acme["org"])
        invitation = invitations.invite(user(acme["ada"]), own, "carol@example.com", "member", link)
        invitation_id = invitation.id

    response = act(admin, acme["org"], f"cancel/{invitation_id}")
    again = refused(admin, snapshot, acme["org"], f"cancel/{invitation_id}")

    assert response.status_code == 303
    with app.app_context():
        row = db.session.get(Invitation, invitation_id)
        assert row is not None and row.status == "cancelled"
    assert assert_audited_by_admin(app, "invitation_cancelled", grace(app)).subject == (
        "carol@example.com"
    )
    assert again == "This invitation was already cancelled."


# --- Deletion ---------------------------------------------------------------------------------


def test_a_wrong_confirmation_deletes_nothing(admin, acme, snapshot):
    message = refused(admin, snapshot, acme["org"], "delete", confirm="Acme")

    assert message == "Type the organization's slug, acme, to confirm."


def test_an_admin_deletes_an_organization_by_typing_its_slug(app, admin, acme):
    response = act(admin, acme["org"], "delete", confirm="acme")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/organizations")
    assert "Acme was deleted." in text_of(admin.get("/admin/organizations"))
    assert count(app, Organization) == 0 and count(app, Membership) == 0
    assert assert_audited_by_admin(app, "organization_deleted", grace(app)).detail["slug"] == (
        "acme"
    )


# --- Settings --------------------------------------------------------------------------------


def test_an_admin_changes_the_settings(app, admin, acme):
    response = act(
        admin, acme["org"], "settings", name="Acme Corp", slug="acme-corp", require_two_factor="on"
    )

    assert response.status_code == 303
    assert "The organization was saved." in text_of(admin.get(page(acme["org"])))
    with app.app_context():
        row = db.session.get(Organization, acme["org"])
        assert row is not None
        assert (row.name, row.slug, row.require_two_factor) == ("Acme Corp", "acme-corp", True)
    assert assert_audited_by_admin(app, "organization_updated", grace(app)).detail["slug"] == (
        "acme-corp"
    )


def test_a_slug_taken_by_another_organization_is_refused(app, admin, acme, snapshot):
    make_organization(app, acme["bob"], slug="globex", name="Globex")

    message = refused(admin, snapshot, acme["org"], "settings", name="Acme", slug="globex")

    assert message == "The slug “globex” is taken. Choose another."

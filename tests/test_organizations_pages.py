"""The organization pages through HTTP: create, invite (real SMTP), the invitation link for an
address with no account (sign-up joins and verifies, even where sign-in waits for a verified
address), change a role, the active organization and its two-factor policy, deletion with
confirmation. Each refusal shows its message and stores nothing."""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import pytest

from idp.db import db
from idp.identity import members, users, verification
from idp.identity.organization_models import Membership
from tests.conftest import PASSWORD, Browser, link_in
from tests.helpers.organizations import make_organization, membership, user


def signed_in(browser: Browser, make_user, email: str = "ada@example.com") -> int:
    user_id = make_user(email)
    assert browser.sign_in(email).status_code == 303
    return user_id


def test_creating_an_organization_makes_me_its_owner(browser, make_user, app):
    ada = signed_in(browser, make_user)

    response = browser.submit("/organizations", name="Acme", slug="acme")

    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/organizations/acme"
    )
    page = browser.get("/organizations/acme").text
    assert 'id="my-role">owner' in page
    with app.app_context():
        assert db.session.query(Membership).filter_by(user_id=ada).one().role == "owner"


def test_a_taken_slug_is_shown_and_nothing_is_stored(browser, make_user, app, snapshot):
    ada = signed_in(browser, make_user)
    make_organization(app, ada, slug="acme")
    before = snapshot()

    response = browser.submit("/organizations", name="Other", slug="acme")

    assert response.status_code == 400
    assert "The slug “acme” is taken. Choose another." in html.unescape(response.text)
    assert snapshot() == before


@pytest.mark.settings(IDP_REQUIRE_VERIFIED_EMAIL="true")
def test_an_invitee_without_an_account_signs_up_from_the_link_and_joins(
    app, make_user, mailbox, http
):
    ada = make_user()
    with app.app_context():
        verification.mark_verified(user(ada))
        db.session.commit()
    make_organization(app, ada)
    owner = Browser(http)
    assert owner.sign_in("ada@example.com").status_code == 303
    owner.submit(
        "/organizations/acme",
        "/organizations/acme/invitations",
        email="bob@example.com",
        role="admin",
    )
    mail = mailbox.wait_for("bob@example.com", "Ada invited you to Acme")
    path = urlsplit(link_in(mail, "/invitations/")).path

    bob = Browser(http)
    assert "Create account and join" in bob.get(path).text
    response = bob.submit(path, path + "/sign-up", name="Bob", password=PASSWORD)

    assert response.status_code == 303, response.text
    assert response.headers["Location"].endswith("/organizations/acme")
    assert 'id="my-role">admin' in bob.get("/organizations/acme").text
    with app.app_context():
        bob_user = users.find_by_email("bob@example.com")
        assert bob_user is not None and bob_user.email_verified_at is not None


def test_an_admin_changes_a_members_role_from_the_page(browser, make_user, app):
    ada = signed_in(browser, make_user)
    org = make_organization(app, ada)
    bob = make_user("bob@example.com")
    with app.app_context():
        members.join(user(bob), org, "member")
        db.session.commit()
        bob_member = membership(bob, org).id

    response = browser.submit(
        "/organizations/acme", f"/organizations/acme/role/{bob_member}", role="admin"
    )

    assert response.status_code == 303
    with app.app_context():
        assert membership(bob, org).role == "admin"


def test_making_active_an_organization_that_requires_two_factor_sends_me_to_set_it_up(
    browser, make_user, app, snapshot
):
    ada = signed_in(browser, make_user)
    org = make_organization(app, ada)
    browser.submit(
        "/organizations/acme",
        "/organizations/acme/settings",
        name="Acme",
        slug="acme",
        require_two_factor="on",
    )
    before = snapshot()

    response = browser.submit("/organizations", "/organizations/active", organization_id=str(org))

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/security/two-factor?next=")
    assert snapshot() == before


def test_deleting_needs_the_slug_typed(browser, make_user, app, snapshot):
    ada = signed_in(browser, make_user)
    make_organization(app, ada)
    before = snapshot()

    response = browser.submit("/organizations/acme", "/organizations/acme/delete", confirm="acm")

    assert response.status_code == 400
    assert "Type the organization&#39;s slug, acme, to confirm." in response.text
    assert snapshot() == before
    response = browser.submit("/organizations/acme", "/organizations/acme/delete", confirm="acme")
    assert response.status_code == 303 and response.headers["Location"].endswith("/organizations")


def test_a_member_sees_no_page_of_an_organization_they_are_not_in(browser, make_user, app):
    ada = make_user("ada@example.com")
    make_organization(app, ada)
    signed_in(browser, make_user, "eve@example.com")

    response = browser.get("/organizations/acme")

    assert response.status_code == 404
    assert "There is no such organization, or you are not a member of it." in response.text

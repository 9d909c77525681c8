"""The invitation pages: the mailed link's decline button, and accepting or declining one's
own invitations from /organizations (the list of a person's invitations). The services are
tested in test_invitations.py; here the routes, their refusals and what they leave stored."""

from __future__ import annotations

import html

import pytest

from idp.db import db
from idp.identity import invitations
from idp.identity.organization_models import Invitation
from tests.conftest import PASSWORD
from tests.helpers.organizations import make_organization, membership
from tests.test_invitations import invite, secret_from


@pytest.fixture
def acme(app, make_user) -> tuple[int, int]:
    ada = make_user()
    return ada, make_organization(app, ada)


def status_of(app, invitation_id: int) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.get(Invitation, invitation_id)
        assert row is not None
        return invitations.state(row)


def test_the_person_sees_their_invitations_and_accepts_one(app, acme, make_user, browser, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invitation = invite(app, ada, org, "bob@example.com", role="admin")
    assert browser.sign_in("bob@example.com", PASSWORD).status_code == 303

    page = browser.get("/organizations").text
    assert "Invitations for you" in page and "Acme invites you as admin." in page

    answer = browser.submit("/organizations", f"/invitations/mine/{invitation}/accept")

    assert answer.status_code == 303 and answer.headers["Location"] == "/organizations"
    assert "Welcome to Acme." in browser.get("/organizations").text
    with app.app_context():
        joined = membership(bob, org)
        assert joined is not None and joined.role == "admin"
    assert status_of(app, invitation) == "accepted"


def test_declining_from_the_list_leaves_the_person_outside(app, acme, make_user, browser, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invitation = invite(app, ada, org, "bob@example.com")
    assert browser.sign_in("bob@example.com", PASSWORD).status_code == 303

    answer = browser.submit("/organizations", f"/invitations/mine/{invitation}/decline")

    assert answer.status_code == 303
    assert "You declined the invitation." in browser.get("/organizations").text
    with app.app_context():
        assert membership(bob, org) is None
    assert status_of(app, invitation) == "rejected"


def test_an_unknown_answer_is_refused_and_changes_nothing(
    app, acme, make_user, browser, snapshot, mailbox
):
    ada, org = acme
    make_user("bob@example.com")
    invitation = invite(app, ada, org, "bob@example.com")
    assert browser.sign_in("bob@example.com", PASSWORD).status_code == 303
    before = snapshot()

    answer = browser.submit("/organizations", f"/invitations/mine/{invitation}/maybe")

    assert answer.status_code == 404
    assert "There is no such answer to an invitation." in answer.text
    assert snapshot() == before


def test_someone_elses_invitation_is_not_answered_from_the_list(
    app, acme, make_user, browser, snapshot, mailbox
):
    ada, org = acme
    make_user("eve@example.com")
    invitation = invite(app, ada, org, "bob@example.com")
    assert browser.sign_in("eve@example.com", PASSWORD).status_code == 303
    before = snapshot()

    answer = browser.submit("/organizations", f"/invitations/mine/{invitation}/accept")

    assert answer.status_code == 303
    page = html.unescape(browser.get("/organizations").text)
    assert "There is no such invitation for you." in page and "Welcome" not in page
    assert snapshot() == before
    assert status_of(app, invitation) == "pending"


def test_declining_through_the_mailed_link(app, acme, make_user, browser, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invitation = invite(app, ada, org, "bob@example.com")
    secret = secret_from(mailbox, "bob@example.com")
    assert browser.sign_in("bob@example.com", PASSWORD).status_code == 303

    answer = browser.submit(f"/invitations/{secret}", f"/invitations/{secret}/decline")

    assert answer.status_code == 303 and answer.headers["Location"] == "/organizations"
    with app.app_context():
        assert membership(bob, org) is None
    assert status_of(app, invitation) == "rejected"
    again = browser.get(f"/invitations/{secret}")
    assert again.status_code >= 400


def test_only_the_addressee_declines_through_the_link(
    app, acme, make_user, browser, snapshot, mailbox
):
    ada, org = acme
    make_user("eve@example.com")
    invitation = invite(app, ada, org, "bob@example.com")
    secret = secret_from(mailbox, "bob@example.com")
    assert browser.sign_in("eve@example.com", PASSWORD).status_code == 303
    before = snapshot()

    answer = browser.submit(f"/invitations/{secret}", f"/invitations/{secret}/decline")

    assert answer.status_code == 400
    assert "This invitation is for another email address." in html.unescape(answer.text)
    assert "Sign out and sign in as bob@example.com to answer it." in answer.text
    assert snapshot() == before
    assert status_of(app, invitation) == "pending"

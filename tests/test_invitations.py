"""Invitations: the mail (real SMTP) carries a link whose secret is stored only hashed;
accept, reject, cancel, expire, resend; the lists of an organization and of a person; and the
refusals: an existing member, an expired, cancelled or someone else's invitation."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from idp.core.security import digest
from idp.db import db
from idp.errors import IdpError
from idp.identity import invitations, members
from idp.identity.organization_models import Invitation, Membership
from tests.conftest import link_in, text_of
from tests.helpers.organizations import add_member, link, make_organization, membership, user


def invite(app, inviter: int, org: int, email: str, role: str = "member") -> int:
    with app.app_context():
        return invitations.invite(user(inviter), membership(inviter, org), email, role, link).id


def secret_from(mailbox, email: str) -> str:
    message = mailbox.wait_for(email, "invited you to Acme")
    return link_in(message, "/invitations/").rsplit("/", 1)[1]


def refused(app, snapshot, call) -> str:
    before = snapshot()
    with app.app_context(), pytest.raises(IdpError) as raised:
        call()
    assert snapshot() == before
    return raised.value.message


@pytest.fixture
def acme(app, make_user) -> tuple[int, int]:
    ada = make_user()
    return ada, make_organization(app, ada)


def test_the_mail_carries_a_link_stored_only_as_its_digest(app, acme, mailbox):
    ada, org = acme
    invitation_id = invite(app, ada, org, "Bob@Example.com", "admin")

    message = mailbox.wait_for("bob@example.com", "Ada invited you to Acme")
    secret = secret_from(mailbox, "bob@example.com")
    assert "as admin" in text_of(message)
    with app.app_context():
        row = db.session.get(Invitation, invitation_id)
        assert row.secret_hash == digest(secret) and secret not in repr(row.__dict__)
        assert (row.email, row.role, row.status) == ("bob@example.com", "admin", "pending")


def test_accepting_joins_with_the_role_and_verifies_the_address(app, acme, make_user, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invite(app, ada, org, "bob@example.com", "admin")
    secret = secret_from(mailbox, "bob@example.com")

    with app.app_context():
        assert user(bob).email_verified_at is None
        invitations.accept(user(bob), invitations.find(secret))
        assert membership(bob, org).role == "admin"
        assert user(bob).email_verified_at is not None
        assert invitations.of_person(user(bob)) == []


def test_rejecting_leaves_the_person_outside(app, acme, make_user, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invite(app, ada, org, "bob@example.com")
    with app.app_context():
        [pending] = invitations.of_person(user(bob))
        invitations.reject(user(bob), invitations.for_person(user(bob), pending.id))
        assert membership(bob, org) is None
        assert invitations.of_organization(membership(ada, org))[0].status == "rejected"


def test_inviting_an_existing_member_is_refused(app, acme, make_user, snapshot, mailbox):
    ada, org = acme
    add_member(app, org, make_user("bob@example.com"))

    message = refused(
        app,
        snapshot,
        lambda: invitations.invite(
            user(ada), membership(ada, org), "bob@example.com", "member", link
        ),
    )

    assert message == "bob@example.com is already a member."
    mailbox.assert_nothing_to("bob@example.com")


def test_inviting_twice_asks_to_resend_instead(app, acme, snapshot, mailbox):
    ada, org = acme
    invite(app, ada, org, "bob@example.com")

    message = refused(
        app,
        snapshot,
        lambda: invitations.invite(
            user(ada), membership(ada, org), "bob@example.com", "member", link
        ),
    )

    assert message == "bob@example.com already has a pending invitation; resend it instead."


def test_an_expired_invitation_cannot_be_accepted(app, acme, make_user, snapshot, mailbox, clock):
    ada, org = acme
    bob = make_user("bob@example.com")
    invite(app, ada, org, "bob@example.com")
    secret = secret_from(mailbox, "bob@example.com")
    clock.advance(7 * 86400 + 1)

    message = refused(
        app, snapshot, lambda: invitations.accept(user(bob), invitations.find(secret))
    )

    assert message == "This invitation has expired. Ask for a new one."


def test_a_cancelled_invitation_cannot_be_accepted(app, acme, make_user, snapshot, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invitation_id = invite(app, ada, org, "bob@example.com")
    secret = secret_from(mailbox, "bob@example.com")
    with app.app_context():
        invitations.cancel(user(ada), membership(ada, org), invitation_id)

    message = refused(
        app, snapshot, lambda: invitations.accept(user(bob), invitations.find(secret))
    )

    assert message == "This invitation was cancelled. Ask for a new one."


def test_someone_elses_invitation_cannot_be_accepted(app, acme, make_user, snapshot, mailbox):
    ada, org = acme
    eve = make_user("eve@example.com")
    invite(app, ada, org, "bob@example.com")
    secret = secret_from(mailbox, "bob@example.com")

    message = refused(
        app, snapshot, lambda: invitations.accept(user(eve), invitations.find(secret))
    )

    assert message == (
        "This invitation is for another email address. Sign in as the person it was sent to "
        "(you are signed in as eve@example.com)."
    )


def test_an_accepted_invitation_cannot_be_used_again(app, acme, make_user, snapshot, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invite(app, ada, org, "bob@example.com")
    secret = secret_from(mailbox, "bob@example.com")
    with app.app_context():
        invitations.accept(user(bob), invitations.find(secret))

    message = refused(
        app, snapshot, lambda: invitations.accept(user(bob), invitations.find(secret))
    )

    assert message == "This invitation was already accepted."


def test_resending_sends_a_new_link_and_the_old_one_stops_working(app, acme, make_user, mailbox):
    ada, org = acme
    bob = make_user("bob@example.com")
    invitation_id = invite(app, ada, org, "bob@example.com")
    old = secret_from(mailbox, "bob@example.com")
    mailbox.clear()
    with app.app_context():
        invitations.resend(user(ada), membership(ada, org), invitation_id, link)
    new = secret_from(mailbox, "bob@example.com")

    with app.app_context():
        with pytest.raises(IdpError) as unknown:
            invitations.find(old)
        assert unknown.value.message.startswith("This invitation link is not valid.")
        invitations.accept(user(bob), invitations.find(new))
        assert membership(bob, org) is not None


def test_a_mail_server_failure_stores_no_invitation(app, acme, snapshot, env):
    ada, org = acme
    app.extensions["idp.mailer"].settings = app.extensions["idp.mailer"].settings.replace(
        smtp_url="smtp://127.0.0.1:9"
    )

    message = refused(
        app,
        snapshot,
        lambda: invitations.invite(
            user(ada), membership(ada, org), "bob@example.com", "member", link
        ),
    )

    assert message.startswith("We couldn't send the email just now. Nothing was changed")


def test_accepts_racing_on_one_invitation_add_one_membership(app, acme, make_user, mailbox):
    """A double click or two tabs: one answer wins (a conditional UPDATE decides), the others
    hear the invitation was answered, and one membership exists."""
    ada, org = acme
    bob = make_user("bob@example.com")
    invite(app, ada, org, "bob@example.com")
    secret = secret_from(mailbox, "bob@example.com")
    barrier = threading.Barrier(4)

    def accept(_: int) -> str:
        with app.app_context():
            person = user(bob)
            barrier.wait()
            try:
                invitations.accept(person, invitations.find(secret))
                return "joined"
            except IdpError as error:
                return error.message

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(accept, range(4)))

    assert results.count("joined") == 1
    assert set(results) - {"joined"} <= {
        "This invitation was already answered.",
        "This invitation was already accepted.",
    }
    with app.app_context():
        assert db.session.query(Membership).filter_by(user_id=bob).count() == 1


def test_adds_racing_for_one_person_leave_one_membership(app, acme, make_user):
    ada, org = acme
    bob = make_user("bob@example.com")
    barrier = threading.Barrier(4)

    def add(_: int) -> str:
        with app.app_context():
            actor, person = user(ada), user(bob)
            member = membership(ada, org)
            barrier.wait()
            try:
                members.add(actor, member, person, "member")
                return "added"
            except IdpError as error:
                return error.message

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(add, range(4)))

    assert results.count("added") == 1
    assert set(results) - {"added"} == {"bob@example.com is already a member."}

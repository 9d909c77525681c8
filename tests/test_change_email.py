"""Changing the email address from the account page.

- It needs a fresh sign-in (OWASP Authentication Cheat Sheet, "Require re-authentication for
  sensitive features"); the new address must prove it receives our mail before the account
  uses it; the old address is told afterwards.
- When the confirmation cannot be mailed, the person is told and nothing is stored.
- An address that belongs to another account is not revealed: the same answer, and its owner
  is told by mail instead.
- The confirmation link is shown with GET and used with POST, once; it is refused when the
  address was taken meanwhile. Links sent to the old address stop working.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.db import db
from idp.identity.models import User
from tests.conftest import PASSWORD, Browser, free_port, link_in, text_of
from tests.helpers.waiting import assert_no_mail_to
from tests.support import audit_events

OLD = "ada@example.com"
NEW = "ada.lovelace@example.org"


@pytest.fixture
def ada(http, make_user) -> Browser:
    make_user(OLD)
    client = Browser(http)
    assert client.sign_in(OLD).status_code == 303
    return client


def change(browser: Browser, email: str):
    return browser.submit("/account", action="/account/email", email=email, next="/account")


def confirm(browser: Browser, path: str):
    return browser.submit("/sign-in", action=path)


def _email(app) -> str:
    with app.app_context():
        return db.session.scalars(select(User.email)).one()


def confirm_path(ada: Browser, mailbox) -> str:
    assert change(ada, NEW).status_code == 303
    link = link_in(mailbox.wait_for(NEW, "Confirm your new email address"), "/account/email/")
    return link.split(ada.base, 1)[1]


def test_the_new_address_gets_a_link_and_nothing_changes_until_it_is_used(ada, app, mailbox):
    response = change(ada, " Ada.Lovelace@Example.ORG ")

    assert response.status_code == 303
    page = ada.get("/account").text
    assert f"We sent a link to {NEW}. Open it to finish the change" in page
    assert _email(app) == OLD
    mail = mailbox.wait_for(NEW, "Confirm your new email address")
    assert f"You asked to use {NEW}" in text_of(mail)
    assert_no_mail_to(mailbox, OLD)


def test_using_the_link_switches_the_address_and_tells_the_old_one(http, ada, app, mailbox):
    path = confirm_path(ada, mailbox)
    assert "Change my email address" in ada.get(path).text  # GET uses nothing
    assert _email(app) == OLD

    response = confirm(ada, path)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert f"Your email address is now {NEW}." in ada.get("/account").text
    assert _email(app) == NEW
    with app.app_context():
        assert db.session.scalars(select(User)).one().email_verified_at is not None
    assert audit_events(app)[-1] == "email_changed"
    notice = mailbox.wait_for(OLD, "Your email address was changed")
    assert f"from {OLD} to {NEW}" in text_of(notice)
    assert Browser(http).sign_in(NEW).status_code == 303
    assert Browser(http).sign_in(OLD).status_code == 400


def test_the_link_works_from_another_browser(http, ada, app, mailbox):
    path = confirm_path(ada, mailbox)
    elsewhere = Browser(http)

    response = confirm(elsewhere, path)

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sign-in?login_hint=")
    assert _email(app) == NEW
    assert elsewhere.cookie() is None


def test_the_link_works_once(ada, mailbox, snapshot):
    path = confirm_path(ada, mailbox)
    confirm(ada, path)
    before = snapshot()

    response = confirm(ada, path)

    assert response.status_code == 400
    assert "This link has already been used." in response.text
    assert snapshot() == before


def test_an_address_taken_by_another_account_is_not_revealed(
    ada, make_user, app, mailbox, snapshot
):
    make_user("grace@example.com", name="Grace")
    before = snapshot()

    response = change(ada, "grace@example.com")

    assert response.status_code == 303
    assert (
        "We sent a link to grace@example.com. Open it to finish the change"
        in ada.get("/account").text
    )
    assert snapshot() == before
    mail = mailbox.wait_for("grace@example.com", "Someone tried to move an account")
    assert "An account already uses this address, so nothing was changed." in text_of(mail)
    assert "/account/email/" not in text_of(mail)


def test_the_link_is_refused_when_the_address_was_taken_meanwhile(
    ada, make_user, app, mailbox, snapshot
):
    path = confirm_path(ada, mailbox)
    make_user(NEW, name="Someone")
    before = snapshot()

    response = confirm(ada, path)

    assert response.status_code == 400
    assert "That address is now used by another account" in response.text
    assert snapshot() == before
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.email == OLD)) is not None


def test_links_sent_to_the_old_address_stop_working(ada, mailbox):
    ada.submit("/reset-password", email=OLD)
    reset = link_in(mailbox.wait_for(OLD, "Reset your password"), "/reset-password/")
    confirm(ada, confirm_path(ada, mailbox))

    page = ada.get(reset.split(ada.base, 1)[1])

    assert page.status_code == 400
    assert "This password reset link cannot be used" in page.text


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not an address", "Enter a valid email address, like name@example.com."),
        ("", "Enter your email address."),
        (" ADA@example.com", "That is already your email address."),
    ],
)
def test_bad_addresses_are_explained_and_change_nothing(ada, mailbox, snapshot, email, message):
    before = snapshot()

    response = change(ada, email)

    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert snapshot() == before


@pytest.mark.settings(IDP_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
def test_when_the_mail_cannot_be_sent_the_person_is_told_and_nothing_is_stored(ada, snapshot):
    before = snapshot()

    response = change(ada, NEW)

    assert response.status_code == 503
    assert "We couldn&#39;t send the email just now. Nothing was changed" in response.text
    assert 'role="alert"' in response.text
    assert snapshot() == before


@pytest.mark.settings(IDP_SESSION_FRESH_AGE="1")
def test_changing_the_address_needs_a_fresh_sign_in(ada, app, mailbox, snapshot, clock):
    clock.advance(1.1)
    before = snapshot()

    response = change(ada, NEW)

    assert response.status_code == 302
    assert response.headers["Location"] == "/confirm?next=%2Faccount"
    assert snapshot() == before
    ada.submit("/confirm?next=%2Faccount", action="/confirm", password=PASSWORD, next="/account")
    assert change(ada, NEW).status_code == 303

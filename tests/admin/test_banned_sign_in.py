"""A banned person cannot sign in by any method (password, sign-in by email, passkey, and the
second factor of a sign-in begun before the ban): each says so plainly and opens no session.
After the ban's end they sign in again; an admin lifting it does the same at once."""

from __future__ import annotations

import html
from datetime import timedelta

from idp.admin import moderation
from idp.db import utcnow
from idp.identity import users
from tests.test_email_sign_in import ask, code_in, confirm, enter, link_path, sign_in_mail
from tests.test_passkeys import EMAIL as PASSKEY_EMAIL
from tests.test_passkeys import PasskeyClient, signed_out
from tests.test_two_factor import (
    SECOND_FACTOR,
    code_at,
    sign_in_to_second_factor,
    with_two_factor,
)

ADA = "ada@example.com"
SUSPENDED = "This account is suspended"
FOREVER = (
    "This account is suspended. If you think this is a mistake, contact the site's administrators."
)


def ban(app, email: str, *, days: float | None = None) -> None:
    with app.app_context():
        admin = users.find_by_email("root@example.com") or users.create_user(
            "root@example.com", "Root", "plum-orchard-47-lantern", is_admin=True
        )
        person = users.find_by_email(email)
        assert person is not None
        ends = utcnow() + timedelta(days=days) if days else None
        moderation.ban(person, "Spam", ends, admin=admin)


def unban(app, email: str) -> None:
    with app.app_context():
        admin = users.find_by_email("root@example.com")
        person = users.find_by_email(email)
        assert admin and person
        moderation.unban(person, admin=admin)


def refused_page(response, message: str = FOREVER) -> None:
    assert response.status_code == 403
    assert message in html.unescape(response.text)


def test_the_password_is_refused_with_a_clear_message(app, browser, make_user, snapshot):
    make_user(ADA)
    ban(app, ADA)
    before = snapshot()

    response = browser.sign_in(ADA)

    refused_page(response)
    assert browser.cookie() is None
    assert snapshot() == before


def test_a_wrong_password_still_says_only_that_it_is_wrong(app, browser, make_user):
    """The ban is told only to whoever proved the password: no account probing."""
    make_user(ADA)
    ban(app, ADA)

    response = browser.sign_in(ADA, password="not-the-password-at-all")

    assert response.status_code == 400
    assert SUSPENDED not in response.text


def test_the_emailed_code_is_refused(app, browser, make_user, mailbox, snapshot):
    make_user(ADA)
    ban(app, ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))
    before = snapshot(ignore=("audit_event", "one_time_token"))

    refused_page(enter(browser, code))
    assert browser.cookie() is None
    assert snapshot(ignore=("audit_event", "one_time_token")) == before


def test_the_emailed_link_is_refused(app, browser, make_user, mailbox, snapshot):
    make_user(ADA)
    ban(app, ADA)
    ask(browser, ADA)
    path = link_path(sign_in_mail(mailbox))
    before = snapshot(ignore=("audit_event", "one_time_token"))

    refused_page(confirm(browser, path))
    assert browser.cookie() is None
    assert snapshot(ignore=("audit_event", "one_time_token")) == before


def test_a_passkey_is_refused(app, http, make_user, snapshot):
    make_user(PASSKEY_EMAIL, name="Ada Lovelace")
    owner = PasskeyClient(http)
    assert owner.browser.sign_in(PASSKEY_EMAIL).status_code == 303
    assert owner.register("Laptop").status_code == 201
    ban(app, PASSKEY_EMAIL)
    client = signed_out(http, owner)
    # The passkey's signature counter moves (WebAuthn §6.1.1): that is the ceremony's record.
    before = snapshot(ignore=("audit_event", "passkey"))

    response = client.sign_in()

    assert response.status_code == 403
    assert response.json()["message"] == FOREVER
    assert client.browser.cookie() is None
    assert snapshot(ignore=("audit_event", "passkey")) == before


def test_a_sign_in_waiting_for_its_second_factor_is_refused(app, http, make_user, snapshot):
    user_id = make_user(ADA)
    secret, _ = with_two_factor(app, user_id)
    browser = sign_in_to_second_factor(http, ADA)
    ban(app, ADA)
    before = snapshot(ignore=("audit_event", "totp_factor"))

    response = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret))

    refused_page(response)
    assert browser.cookie() is None
    assert snapshot(ignore=("audit_event", "totp_factor")) == before


def test_after_the_ban_ends_the_person_signs_in_again(app, browser, make_user, clock):
    make_user(ADA)
    ban(app, ADA, days=1)
    refused_page(browser.sign_in(ADA), SUSPENDED + " until ")

    clock.advance(86400 + 1)

    assert browser.sign_in(ADA).status_code == 303
    assert browser.get("/account").status_code == 200


def test_after_an_unban_the_person_signs_in_again(app, browser, make_user):
    make_user(ADA)
    ban(app, ADA)
    unban(app, ADA)

    assert browser.sign_in(ADA).status_code == 303

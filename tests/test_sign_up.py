"""Sign-up: the account is created unverified and a verification link is mailed; the answer
is the same "check your inbox" page whether or not the address already has an account.

- No user enumeration (OWASP Authentication Cheat Sheet, "Authentication and Error Messages";
  OWASP Forgot Password Cheat Sheet applies the same idea): a taken address gets the same page,
  status and cookies, and its owner gets a notice by mail instead of a link.
- Bad input is explained next to its field and stores nothing.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from idp.db import db
from idp.identity.models import User
from idp.identity.one_time import OneTimeToken
from idp.identity.passwords import verify_password
from tests.conftest import PASSWORD, html_of, link_in, text_of
from tests.support import audit_events, set_cookies

CHECK_INBOX = "We sent a message to"


def _page_without(text: str, *variables: str) -> str:
    """A page with its CSRF token and the given values blanked out, to compare two answers."""
    text = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", text)
    for value in variables:
        text = text.replace(value, "")
    return text


def test_sign_up_creates_an_unverified_account_and_mails_a_link(browser, app, mailbox):
    response = browser.sign_up("  Grace.Hopper@Example.COM ", name="  Grace   Hopper ")

    assert response.status_code == 200
    assert "Check your inbox" in response.text
    assert f"{CHECK_INBOX} <strong" in response.text and "grace.hopper@example.com" in response.text
    assert browser.cookie() is None  # not signed in until the address is verified
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.email == "grace.hopper@example.com"  # trimmed and lower-cased
        assert user.name == "Grace Hopper"
        assert user.password_hash.startswith("$argon2id$")
        assert user.email_verified_at is None
        token = db.session.scalars(select(OneTimeToken)).one()
        assert token.purpose == "verify_email" and token.browser_hash is not None
    assert audit_events(app) == ["sign_up"]
    mail = mailbox.wait_for("grace.hopper@example.com", "Confirm your email address")
    link = link_in(mail, "/verify-email/")
    assert link in html_of(mail)
    assert "Hello Grace Hopper" in text_of(mail)
    assert "If you did not create an account, ignore this message" in text_of(mail)
    # Only the digest of the link's secret is stored.
    assert link.rsplit("/", 1)[1] not in repr(token.secret_hash)


def test_an_address_with_an_account_gets_the_same_answer_and_a_notice(
    http, browser, make_user, app, mailbox, snapshot
):
    make_user("ada@example.com", name="Ada")
    with app.app_context():
        before_hash = db.session.scalars(select(User.password_hash)).one()
    fresh = browser.__class__(http).sign_up("new@example.com")
    before = snapshot()

    taken = browser.sign_up(" ADA@example.com", password="another-" + PASSWORD)

    assert taken.status_code == fresh.status_code == 200
    assert _page_without(taken.text, "ada@example.com") == _page_without(
        fresh.text, "new@example.com"
    )
    assert set(set_cookies(taken)) == set(set_cookies(fresh)) == {"idp_sign_up"}
    assert snapshot() == before  # no account, no link, password unchanged
    with app.app_context():
        assert db.session.scalars(select(User.password_hash)).first() == before_hash
    assert audit_events(app)[-1] == "sign_up_existing_email"
    notice = mailbox.wait_for("ada@example.com", "account")
    body = text_of(notice)
    assert "Someone tried to create" in body and "you already have one" in body
    link_in(notice, "/sign-in")
    link_in(notice, "/reset-password")
    assert "/verify-email/" not in body + html_of(notice)
    assert verify_password(before_hash, PASSWORD)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address, like name@example.com."),
        ({"email": ""}, "Enter your email address."),
        ({"name": "   "}, "Enter your name."),
        ({"password": "short1!"}, "Use at least 8 characters."),
        ({"password": "x" * 129}, "Use at most 128 characters."),
        ({"password": "password123"}, "This password is too common."),
        ({"password": "Qwertyuiop"}, "This password is too common."),
    ],
)
def test_bad_sign_up_input_is_explained_and_stores_nothing(
    browser, snapshot, mailbox, fields, message
):
    before = snapshot()
    data = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, **fields}

    response = browser.submit("/sign-up", **data)

    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert snapshot() == before
    mailbox.assert_nothing_to("ada@example.com")


def test_bad_input_for_a_taken_address_is_explained_the_same_way(browser, make_user, snapshot):
    make_user("ada@example.com")
    before = snapshot()

    response = browser.sign_up("ada@example.com", password="short")

    assert response.status_code == 400
    assert "Use at least 8 characters." in response.text
    assert snapshot() == before


def test_sign_up_keeps_where_the_person_was_going(browser, mailbox):
    target = "/authorize/resume?request=abc123"

    response = browser.submit(
        "/sign-up", name="Ada", email="ada@example.com", password=PASSWORD, next=target
    )

    assert response.status_code == 200
    assert 'name="next" type="hidden" value="/authorize/resume?request=abc123"' in response.text
    link = link_in(mailbox.wait_for("ada@example.com", "Confirm"), "/verify-email/")
    assert parse_qs(urlsplit(link).query) == {"next": [target]}


def test_sign_up_without_csrf_token_is_refused(browser, snapshot):
    before = snapshot()

    response = browser.submit(
        "/sign-up", csrf=False, name="Ada", email="ada@example.com", password=PASSWORD
    )

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert snapshot() == before


def test_sign_up_with_a_wrong_csrf_token_is_refused(browser, snapshot):
    before = snapshot()
    browser.get("/sign-up")

    response = browser.http.post(
        browser.base + "/sign-up",
        data={"csrf_token": "forged", "name": "A", "email": "a@example.com", "password": PASSWORD},
        allow_redirects=False,
    )

    assert response.status_code == 400
    assert "This form expired or did not come from this site." in response.text
    assert snapshot() == before

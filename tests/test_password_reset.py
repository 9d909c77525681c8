"""Password reset by email (OWASP Forgot Password Cheat Sheet).

- The request answers the same page for any address and mails only real accounts
  ("Return a consistent message for both existent and non-existent accounts"); it is limited
  per address and per client IP (IDP_EMAIL_SEND_LIMIT).
- The link is random, single use and expiring ("URL tokens"); GET shows the form, POST uses
  it; its page sends no Referer (`Referrer-Policy: no-referrer`, so the token does not leak).
- The new password meets the sign-up policy (NIST SP 800-63B §5.1.1.2); a refused one leaves
  the link usable. A reset ends every session (OWASP: "invalidate existing sessions"), tells
  the owner by mail, and does not skip two-factor (RFC 6238 codes are still asked for).
"""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from idp.db import db, utcnow
from idp.identity import two_factor
from idp.identity.models import User
from idp.identity.one_time import OneTimeToken
from tests.conftest import PASSWORD, Browser, link_in, text_of
from tests.helpers.waiting import assert_no_mail_to, settle
from tests.support import audit_events
from tests.test_rate_limits import assert_limited
from tests.test_sign_up import _page_without

EMAIL = "ada@example.com"
NEW_PASSWORD = "quartz-harbour-82-violin"
GONE = "This password reset link cannot be used: it has expired, was already used"


def ask(browser: Browser, email: str = EMAIL):
    return browser.submit("/reset-password", email=email)


def reset_path(browser: Browser, mailbox, email: str = EMAIL) -> str:
    assert ask(browser, email).status_code == 200
    link = link_in(mailbox.wait_for(email, "Reset your password"), "/reset-password/")
    return link.split(browser.base, 1)[1]


def choose(browser: Browser, path: str, password: str = NEW_PASSWORD):
    return browser.submit("/sign-in", action=path, password=password)


def test_a_reset_link_is_mailed_to_an_account(browser, app, make_user, mailbox):
    make_user(EMAIL)

    response = ask(browser, " Ada@Example.com")

    assert response.status_code == 200
    assert "If <strong" in response.text and "belongs to an account" in response.text
    mail = mailbox.wait_for(EMAIL, "Reset your password")
    assert "The link works once, for 60 minutes." in text_of(mail)
    link_in(mail, "/reset-password/")
    assert audit_events(app) == ["sign_up", "password_reset_requested"]


def test_any_address_gets_the_same_answer_and_only_accounts_get_mail(
    http, make_user, mailbox, snapshot
):
    make_user(EMAIL)
    known = ask(Browser(http), EMAIL)
    mailbox.wait_for(EMAIL, "Reset")
    before = snapshot()

    unknown = ask(Browser(http), "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert _page_without(known.text, EMAIL) == _page_without(unknown.text, "nobody@example.com")
    assert snapshot() == before
    assert_no_mail_to(mailbox, "nobody@example.com")


def test_a_malformed_address_is_explained(browser, snapshot, mailbox):
    before = snapshot()

    response = ask(browser, "not an address")

    assert response.status_code == 400
    assert "Enter a valid email address, like name@example.com." in response.text
    assert snapshot() == before


def test_the_link_shows_a_form_and_uses_nothing(browser, make_user, mailbox, snapshot):
    make_user(EMAIL)
    path = reset_path(browser, mailbox)
    before = snapshot()

    for _ in range(2):
        page = browser.get(path)
        assert page.status_code == 200
        assert "Choose a new password" in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"

    assert snapshot() == before


def test_a_new_password_ends_every_session_and_tells_the_owner(
    http, browser, app, make_user, mailbox
):
    make_user(EMAIL)
    elsewhere = Browser(http)
    assert elsewhere.sign_in(EMAIL).status_code == 303
    path = reset_path(browser, mailbox)

    response = choose(browser, path)

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in?login_hint=ada@example.com"
    assert (
        "Your password was changed and every session was signed out."
        in browser.get(response.headers["Location"]).text
    )
    assert elsewhere.get("/account").status_code == 302  # signed out
    assert Browser(http).sign_in(EMAIL, PASSWORD).status_code == 400
    assert Browser(http).sign_in(EMAIL, NEW_PASSWORD).status_code == 303
    notice = mailbox.wait_for(EMAIL, "Your password was changed")
    assert "every device was signed out" in text_of(notice)
    with app.app_context():
        assert db.session.scalars(select(User)).one().email_verified_at is not None
    events = audit_events(app)
    assert events.index("password_reset") < events.index("session_revoked")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Use at least 8 characters."),
        ("password123", "This password is too common."),
    ],
)
def test_a_refused_password_is_explained_and_the_link_still_works(
    browser, make_user, mailbox, snapshot, password, message
):
    make_user(EMAIL)
    path = reset_path(browser, mailbox)
    before = snapshot()

    response = choose(browser, path, password)

    assert response.status_code == 400
    assert message in response.text
    assert snapshot() == before
    assert choose(browser, path).status_code == 303


def test_a_used_link_is_refused(browser, make_user, mailbox, snapshot):
    make_user(EMAIL)
    path = reset_path(browser, mailbox)
    choose(browser, path)
    before = snapshot()

    page = browser.get(path)
    again = choose(browser, path, "another-" + NEW_PASSWORD)

    assert page.status_code == again.status_code == 400
    assert GONE in page.text and GONE in again.text
    assert "Ask for a new password reset link" in page.text
    assert snapshot() == before


def test_an_expired_link_is_refused(browser, app, make_user, mailbox, snapshot):
    make_user(EMAIL)
    path = reset_path(browser, mailbox)
    with app.app_context():
        db.session.execute(update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    before = snapshot()

    page = browser.get(path)
    again = choose(browser, path)

    assert page.status_code == again.status_code == 400
    assert GONE in page.text and GONE in again.text
    assert snapshot() == before


def test_a_tampered_link_is_refused(browser, make_user, mailbox, snapshot):
    make_user(EMAIL)
    path = reset_path(browser, mailbox)
    tampered = path[:-2] + ("xy" if not path.endswith("xy") else "yz")
    before = snapshot()

    page = browser.get(tampered)
    again = choose(browser, tampered)

    assert page.status_code == again.status_code == 400
    assert GONE in page.text and GONE in again.text
    assert snapshot() == before


def test_a_newer_link_replaces_the_older_one(browser, make_user, mailbox):
    make_user(EMAIL)
    first = reset_path(browser, mailbox)
    mailbox.clear()
    second = reset_path(browser, mailbox)

    assert choose(browser, first).status_code == 400
    assert choose(browser, second).status_code == 303


def test_a_reset_does_not_skip_two_factor(http, browser, app, make_user, mailbox):
    make_user(EMAIL)
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        secret = two_factor.new_secret()
        two_factor.enable_totp(user, secret, pyotp.TOTP(secret).now())
    path = reset_path(browser, mailbox)
    choose(browser, path)

    response = Browser(http).sign_in(EMAIL, NEW_PASSWORD)

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in/second-factor"


@pytest.mark.settings(IDP_EMAIL_SEND_LIMIT="2 per minute")
def test_reset_requests_are_limited_per_address_and_per_ip(browser, make_user, mailbox):
    make_user(EMAIL)
    assert ask(browser, EMAIL).status_code == 200
    assert ask(browser, EMAIL).status_code == 200
    mailbox.wait_for_count(EMAIL, 2)

    response = ask(browser, EMAIL)

    assert_limited(response)
    settle()  # what the refused request set going has ended: no third message
    assert len(mailbox.to(EMAIL)) == 2
    assert_limited(ask(browser, "bo@example.com"))  # the IP's limit too

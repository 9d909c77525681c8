"""Email verification: the link mailed at sign-up, sending it again, and what an unverified
account may do.

- A link is shown with GET and used with POST: mail scanners fetch links (the GET must not use
  it up); it works once and for IDP_VERIFY_EMAIL_TTL seconds (OWASP Forgot Password Cheat
  Sheet, "URL tokens": single use, expiring, random).
- Opened in the browser that signed up (bound by a cookie digest), it signs the person in and
  continues to `next`; anywhere else it only verifies and points to the sign-in page, with the
  address pre-filled (OpenID Connect Core §3.1.2.1 `login_hint`).
- "Send the link again" answers the same for any address and is rate limited per address and
  per client IP (IDP_EMAIL_SEND_LIMIT).
- With IDP_REQUIRE_VERIFIED_EMAIL an unverified account cannot sign in; without it, it can,
  and the account page asks to verify.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from idp.db import db, utcnow
from idp.identity.models import LoginSession, User
from idp.identity.one_time import OneTimeToken
from tests.conftest import PASSWORD, Browser, link_in
from tests.support import audit_events, set_cookies
from tests.test_rate_limits import assert_limited
from tests.test_sign_up import _page_without

EMAIL = "ada@example.com"
GONE = "This link cannot be used: it has expired, was already used, or was not copied in full."


def signed_up(browser: Browser, mailbox, email: str = EMAIL, **fields: str) -> str:
    """Sign up through the form; the path of the verification link mailed for it."""
    assert (
        browser.submit("/sign-up", name="Ada", email=email, password=PASSWORD, **fields).status_code
        == 200
    )
    link = link_in(mailbox.wait_for(email, "Confirm your email address"), "/verify-email/")
    return link.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def verify(browser: Browser, path: str):
    """Press the page's "Verify email" button (the CSRF token of any page will do)."""
    return browser.submit("/sign-in", action=path)


def _verified(app, email: str = EMAIL) -> bool:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return user is not None and user.email_verified_at is not None


def test_opening_the_link_shows_a_button_and_uses_nothing(browser, app, mailbox):
    path = signed_up(browser, mailbox)

    for _ in range(2):  # a mail scanner, then the person
        page = browser.get(path)
        assert page.status_code == 200
        assert ">Verify email</button>" in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"

    assert not _verified(app)


def test_the_link_in_the_browser_that_signed_up_verifies_and_signs_in(browser, app, mailbox):
    path = signed_up(browser, mailbox)

    response = verify(browser, path)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert browser.cookie() is not None
    assert set_cookies(response)["idp_sign_up"].clears
    page = browser.get("/account")
    assert "Your email address is verified." in page.text
    assert ">Verified<" in page.text
    assert _verified(app)
    assert audit_events(app) == ["sign_up", "email_verified", "sign_in"]
    with app.app_context():
        assert db.session.scalars(select(LoginSession.amr)).one() == ["pwd"]


def test_the_link_continues_to_where_the_person_was_going(browser, mailbox):
    target = "/authorize/resume?request=abc123"
    path = signed_up(browser, mailbox, next=target)

    response = verify(browser, path)

    assert response.status_code == 303
    assert response.headers["Location"] == target


def test_the_link_in_another_browser_verifies_but_does_not_sign_in(http, browser, app, mailbox):
    path = signed_up(browser, mailbox, next="/somewhere")
    elsewhere = Browser(http)

    response = verify(elsewhere, path)

    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sign-in"
    assert parse_qs(location.query) == {"login_hint": [EMAIL], "next": ["/somewhere"]}
    assert elsewhere.cookie() is None
    assert _verified(app)
    page = elsewhere.get(response.headers["Location"])
    assert "Your email address is verified. Sign in to continue." in page.text
    assert 'value="ada@example.com"' in page.text
    assert audit_events(app) == ["sign_up", "email_verified"]


def test_a_used_link_is_refused_and_changes_nothing(http, browser, mailbox, snapshot):
    path = signed_up(browser, mailbox)
    verify(browser, path)
    before = snapshot()

    page = browser.get(path)
    used = verify(Browser(http), path)

    assert page.status_code == used.status_code == 400
    assert GONE in page.text
    assert "This link has already been used." in used.text
    assert snapshot() == before


def test_an_expired_link_is_refused_and_changes_nothing(browser, app, mailbox, snapshot):
    path = signed_up(browser, mailbox)
    with app.app_context():
        db.session.execute(update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    before = snapshot()

    page = browser.get(path)
    used = verify(browser, path)

    assert page.status_code == used.status_code == 400
    assert GONE in page.text
    assert "This link has expired. Ask for a new one." in used.text
    assert snapshot() == before
    assert not _verified(app)
    assert browser.cookie() is None


def test_a_tampered_link_is_refused_and_changes_nothing(browser, app, mailbox, snapshot):
    path = signed_up(browser, mailbox)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    before = snapshot()

    page = browser.get(tampered)
    used = verify(browser, tampered)

    assert page.status_code == used.status_code == 400
    assert GONE in page.text
    assert "This link is not valid. Check that you copied all of it." in used.text
    assert snapshot() == before
    assert not _verified(app)


def test_sending_again_replaces_the_link(browser, app, mailbox):
    first = signed_up(browser, mailbox)
    mailbox.clear()

    response = browser.submit("/sign-up", action="/verify-email/resend", email=EMAIL)

    assert response.status_code == 200
    assert "a new link is on its way" in response.text
    second = link_in(mailbox.wait_for(EMAIL, "Confirm"), "/verify-email/")
    assert verify(browser, first).status_code == 400  # the earlier link stopped working
    assert verify(browser, second.split(browser.base, 1)[1]).headers["Location"] == "/account"
    assert browser.cookie() is not None  # still bound to the browser that signed up


def test_sending_again_answers_the_same_for_any_address(
    http, browser, make_user, app, mailbox, snapshot
):
    signed_up(browser, mailbox, email="waiting@example.com")
    make_user("verified@example.com")
    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.email == "verified@example.com")
            .values(email_verified_at=utcnow())
        )
        db.session.commit()
    mailbox.clear()
    answers = {}
    for email in ("waiting@example.com", "verified@example.com", "nobody@example.com"):
        visitor = Browser(http)
        answers[email] = visitor.submit("/verify-email", action="/verify-email/resend", email=email)

    pages = {_page_without(r.text, email) for email, r in answers.items()}
    assert len(pages) == 1
    assert {r.status_code for r in answers.values()} == {200}
    mailbox.wait_for("waiting@example.com", "Confirm")
    mailbox.assert_nothing_to("verified@example.com")
    mailbox.assert_nothing_to("nobody@example.com")


def test_sending_again_to_a_bad_address_is_explained(browser, snapshot):
    before = snapshot()

    response = browser.submit("/verify-email", action="/verify-email/resend", email="nope")

    assert response.status_code == 400
    assert "Enter a valid email address, like name@example.com." in response.text
    assert snapshot() == before


@pytest.mark.settings(IDP_EMAIL_SEND_LIMIT="2 per minute")
def test_sending_again_is_limited_per_address_and_per_ip(browser, mailbox):
    signed_up(browser, mailbox)  # counts for the address (sign-up has its own per-IP limit)

    def resend(email: str):
        return browser.submit("/verify-email", action="/verify-email/resend", email=email)

    assert resend(EMAIL).status_code == 200  # address: 2, IP: 1
    assert_limited(resend(" ADA@example.com"))  # the address's limit
    assert resend("bo@example.com").status_code == 200  # another address; IP: 2
    assert_limited(resend("cy@example.com"))  # the IP's limit


@pytest.mark.settings(IDP_REQUIRE_VERIFIED_EMAIL="true")
def test_when_verification_is_required_an_unverified_account_cannot_sign_in(
    http, browser, app, mailbox
):
    path = signed_up(browser, mailbox)
    other = Browser(http)

    response = other.sign_in(EMAIL, next="/somewhere")

    assert response.status_code == 303
    assert response.headers["Location"] == "/verify-email?next=/somewhere"
    assert other.cookie() is None
    page = other.get(response.headers["Location"])
    assert "Before you can sign in, confirm that the email address is yours" in page.text
    assert "Send a new link" in page.text
    # The link verifies; then signing in works.
    verify(other, path)
    assert other.sign_in(EMAIL, next="/somewhere").headers["Location"] == "/somewhere"
    assert other.cookie() is not None


@pytest.mark.settings(IDP_REQUIRE_VERIFIED_EMAIL="true")
def test_when_verification_is_required_the_link_signs_in_the_browser_that_signed_up(
    browser, mailbox
):
    path = signed_up(browser, mailbox)

    assert verify(browser, path).headers["Location"] == "/account"
    assert browser.get("/account").status_code == 200


def test_when_verification_is_not_required_the_account_page_asks_for_it(
    browser, make_user, app, mailbox
):
    make_user(EMAIL)
    assert browser.sign_in(EMAIL).status_code == 303

    page = browser.get("/account")
    assert "Not verified" in page.text
    assert "Please verify your email address" in page.text

    sent = browser.submit("/account", action="/account/email/verify")
    assert sent.headers["Location"] == "/account"
    assert f"We sent a new verification link to {EMAIL}." in browser.get("/account").text
    path = link_in(mailbox.wait_for(EMAIL, "Confirm"), "/verify-email/").split(browser.base)[1]

    assert verify(browser, path).headers["Location"] == "/account"
    page = browser.get("/account")
    assert "Your email address is verified." in page.text
    assert "Not verified" not in page.text
    assert _verified(app)

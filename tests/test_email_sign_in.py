"""Sign-in by email: one message with a link and a six-digit code, through the real SMTP server.

- Either one signs in with the RFC 8176 §2 method "otp"; using one retires the other.
- Asking answers the same whether or not an account exists, and mails only real accounts
  (OWASP Authentication Cheat Sheet, "Authentication and Error Messages").
- Opening the link shows a confirmation page (a GET changes nothing: mail scanners open links);
  opened in another browser it says so, and the app's sign-in is not continued there.
- Expired, used and mistyped links and wrong codes get a message and change nothing; a code is
  burnt after five wrong tries; the code only works in the browser that asked.
- Asking is rate limited per address and per IP (IDP_EMAIL_SEND_LIMIT).
"""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from idp.db import db
from idp.identity.models import LoginSession, User
from tests.conftest import Browser, Inbox, free_port, html_of, link_in, text_of
from tests.helpers.waiting import assert_no_mail_to, settle, wait_until
from tests.support import audit_events, set_cookies

ADA = "ada@example.com"
NOBODY = "nobody@example.com"
CHECK_INBOX = "Check your inbox"
NOT_RIGHT = "That code is not right. Check the latest email and try again."
USED_UP = "That code has expired or was already used. Ask for a new one."
EXPIRED_REQUEST = "This sign-in request has expired, or was made in another browser."


def ask(browser: Browser, email: str, **extra: str) -> requests.Response:
    return browser.submit("/sign-in/email", email=email, **extra)


def enter(browser: Browser, code: str) -> requests.Response:
    return browser.submit("/sign-in/email", action="/sign-in/email/code", code=code)


def code_in(message) -> str:
    match = re.search(r"^\s+(\d{6})\s*$", text_of(message), re.MULTILINE)
    assert match, text_of(message)
    return match.group(1)


def sign_in_mail(mailbox: Inbox, to: str = ADA):
    return mailbox.wait_for(to, "Sign in to")


def link_path(message) -> str:
    url = link_in(message, "/sign-in/email/")
    return "/" + url.split("/", 3)[3]


def confirm(browser: Browser, path: str) -> requests.Response:
    """Press "Sign in" on the link's page (the CSRF token taken from a page that always shows)."""
    return browser.submit("/sign-in/email", action=path)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def amr_of_sessions(app) -> list[list[str]]:
    with app.app_context():
        return [s.amr for s in db.session.scalars(select(LoginSession))]


def wait_for_count(mailbox: Inbox, to: str, count: int) -> None:
    wait_until(lambda: len(mailbox.to(to)) >= count, timeout=10, what=f"{count} messages to {to}")
    assert len(mailbox.to(to)) == count


def page_text(response: requests.Response) -> str:
    """The page without what differs between any two answers (CSRF tokens)."""
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", response.text)


def test_the_link_signs_in_after_the_confirmation_button(browser, make_user, mailbox, app):
    make_user(ADA)

    response = ask(browser, ADA)

    assert response.status_code == 200
    assert CHECK_INBOX in response.text
    message = sign_in_mail(mailbox)
    path = link_path(message)
    page = browser.get(path)
    assert page.status_code == 200
    assert "Sign in as ada@example.com?" in page.text
    assert "another browser" not in page.text
    assert browser.cookie() is None
    signed_in = confirm(browser, path)
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/account"
    assert browser.get("/account").status_code == 200
    assert amr_of_sessions(app) == [["otp"]]  # RFC 8176 §2: one-time password
    assert audit_events(app)[-3:] == ["sign_in_link_sent", "email_verified", "sign_in"]


def test_the_message_carries_the_link_and_the_code_in_both_parts(browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA)

    message = sign_in_mail(mailbox)

    code = code_in(message)
    link = link_in(message, "/sign-in/email/")
    assert code in html_of(message) and link in html_of(message)
    assert "10 minutes" in text_of(message)
    assert "127.0.0.1" in text_of(message)


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(
    browser, make_user, mailbox, snapshot
):
    make_user(ADA)
    ask(browser, ADA)
    path = link_path(sign_in_mail(mailbox))
    before = snapshot()

    for _ in range(2):  # a mail scanner, then the person
        assert browser.get(path).status_code == 200

    assert snapshot() == before
    assert confirm(browser, path).status_code == 303


def test_the_code_signs_in_and_retires_the_link(browser, make_user, mailbox, app):
    make_user(ADA)
    ask(browser, ADA)
    message = sign_in_mail(mailbox)

    response = enter(browser, code_in(message))

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert amr_of_sessions(app) == [["otp"]]  # RFC 8176 §2
    used = browser.get(link_path(message))
    assert used.status_code == 400
    assert "This link has already been used." in used.text


def test_the_code_may_be_typed_with_spaces(browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))

    assert enter(browser, f" {code[:3]} {code[3:]} ").status_code == 303


def test_the_link_retires_the_code(browser, make_user, mailbox, snapshot):
    make_user(ADA)
    ask(browser, ADA)
    message = sign_in_mail(mailbox)
    confirm(browser, link_path(message))
    before = snapshot()

    response = enter(browser, code_in(message))

    # The request record went with the sign-in: the browser must ask again.
    assert response.status_code == 400
    assert EXPIRED_REQUEST in response.text
    assert snapshot() == before


def test_where_the_person_was_going_is_kept(browser, make_user, mailbox):
    make_user(ADA)
    target = "/authorize/resume?uid=abc123"
    form = browser.get("/sign-in/email?next=%2Fauthorize%2Fresume%3Fuid%3Dabc123")
    assert 'value="/authorize/resume?uid=abc123"' in form.text
    ask(browser, ADA, next=target)

    response = confirm(browser, link_path(sign_in_mail(mailbox)))

    assert response.headers["Location"] == target


def test_where_the_person_was_going_is_kept_for_the_code(browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA, next="/authorize/resume?uid=abc123")

    response = enter(browser, code_in(sign_in_mail(mailbox)))

    assert response.headers["Location"] == "/authorize/resume?uid=abc123"


def test_an_off_site_next_is_dropped(browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA, next="https://evil.example/")

    response = enter(browser, code_in(sign_in_mail(mailbox)))

    assert response.headers["Location"] == "/account"


def test_the_link_opened_in_another_browser_says_so_and_signs_in_that_browser(
    browser, http, make_user, mailbox, app
):
    make_user(ADA)
    ask(browser, ADA, next="/authorize/resume?uid=abc123")
    path = link_path(sign_in_mail(mailbox))
    phone = Browser(http)

    page = phone.get(path)

    assert page.status_code == 200
    assert "This link was asked for from another browser or device" in page.text
    assert "from IP address 127.0.0.1" in page.text
    assert re.search(r"on \d{1,2} \w+ \d{4} at \d\d:\d\d UTC", page.text)
    assert "<strong>this</strong> browser will be signed in" in page.text
    response = confirm(phone, path)
    # The other browser's unfinished app sign-in is not continued here.
    assert response.headers["Location"] == "/account"
    assert phone.get("/account").status_code == 200
    assert browser.get("/account").status_code == 302
    assert amr_of_sessions(app) == [["otp"]]


def test_the_asking_browser_gets_an_httponly_samesite_cookie(browser, make_user, mailbox):
    make_user(ADA)

    response = ask(browser, ADA)
    sign_in_mail(mailbox)

    cookie = set_cookies(response)["idp_email_sign_in"]
    assert cookie.has("httponly")
    assert cookie.get("samesite") == "Lax"
    assert cookie.get("path") == "/"


def test_an_address_without_an_account_gets_the_same_answer_and_no_mail(
    browser, http, make_user, mailbox, app, snapshot
):
    make_user(ADA)
    stranger = Browser(http)
    known = ask(browser, ADA)
    sign_in_mail(mailbox)
    users_before = snapshot()["user"]

    unknown = ask(stranger, NOBODY)

    assert unknown.status_code == known.status_code == 200
    assert page_text(unknown) == page_text(known).replace(ADA, NOBODY)
    assert set(set_cookies(unknown)) == set(set_cookies(known))
    assert_no_mail_to(mailbox, NOBODY)
    assert snapshot()["user"] == users_before  # no account is created
    assert audit_events(app).count("sign_in_link_sent") == 1


def test_an_invalid_address_is_refused_and_nothing_is_sent(browser, mailbox, snapshot):
    before = snapshot()

    response = ask(browser, "not-an-address")

    assert response.status_code == 400
    assert "Enter a valid email address, like name@example.com." in response.text
    assert snapshot() == before
    assert "idp_email_sign_in" not in set_cookies(response)


def test_an_empty_address_is_refused(browser, snapshot):
    before = snapshot()

    response = ask(browser, "  ")

    assert response.status_code == 400
    assert "Enter your email address." in response.text
    assert snapshot() == before


def test_a_tampered_link_is_refused_and_changes_nothing(browser, make_user, mailbox, snapshot):
    make_user(ADA)
    ask(browser, ADA)
    path = link_path(sign_in_mail(mailbox))
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    before = snapshot()

    for response in (browser.get(tampered), confirm(browser, tampered)):
        assert response.status_code == 400
        assert "This link is not valid. Check that you copied all of it." in response.text
    assert snapshot() == before
    assert browser.cookie() is None


def test_a_used_link_is_refused_and_changes_nothing(browser, http, make_user, mailbox, snapshot):
    make_user(ADA)
    ask(browser, ADA)
    path = link_path(sign_in_mail(mailbox))
    confirm(browser, path)
    other = Browser(http)
    before = snapshot()

    page = other.get(path)

    assert page.status_code == 400
    assert "This link has already been used." in page.text
    assert "ask for a new link and code" in page.text
    assert snapshot() == before
    assert other.cookie() is None


@pytest.mark.settings(IDP_EMAIL_SIGN_IN_TTL="1")
def test_an_expired_link_is_refused_and_changes_nothing(
    browser, make_user, mailbox, snapshot, clock
):
    make_user(ADA)
    ask(browser, ADA)
    path = link_path(sign_in_mail(mailbox))
    clock.advance(1.2)
    before = snapshot()

    for response in (browser.get(path), confirm(browser, path)):
        assert response.status_code == 400
        assert "This link has expired. Ask for a new one." in response.text
    assert snapshot() == before
    assert browser.cookie() is None


@pytest.mark.settings(IDP_EMAIL_SIGN_IN_TTL="1")
def test_an_expired_code_is_refused(browser, make_user, mailbox, snapshot, clock):
    make_user(ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))
    clock.advance(1.2)
    before = snapshot()

    response = enter(browser, code)

    assert response.status_code == 400
    assert EXPIRED_REQUEST in response.text
    assert snapshot() == before
    assert browser.cookie() is None


def test_asking_again_retires_the_earlier_link_and_code(browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA)
    first = sign_in_mail(mailbox)
    mailbox.clear()
    ask(browser, ADA)
    second = sign_in_mail(mailbox)

    old_link = browser.get(link_path(first))
    old_code = enter(browser, code_in(first))

    assert old_link.status_code == 400
    assert "This link has already been used." in old_link.text
    assert old_code.status_code == 400
    assert code_in(first) == code_in(second) or NOT_RIGHT in old_code.text
    assert enter(browser, code_in(second)).status_code == 303


def test_a_reused_code_is_refused(browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))
    enter(browser, code)
    mailbox.clear()
    ask(browser, ADA)  # a new request in the same browser
    sign_in_mail(mailbox)

    response = enter(browser, code)

    assert response.status_code == 400
    assert NOT_RIGHT in response.text


@pytest.mark.settings(IDP_LOCKOUT_SLOW_AFTER="8", IDP_LOCKOUT_AFTER="9")
def test_a_wrong_code_gets_a_message_and_five_burn_the_code(browser, make_user, mailbox, app):
    make_user(ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))

    for _ in range(5):
        response = enter(browser, wrong(code))
        assert response.status_code == 400
        assert NOT_RIGHT in response.text
        assert 'aria-invalid="true"' in response.text

    burnt = enter(browser, code)
    assert burnt.status_code == 400
    assert USED_UP in burnt.text
    assert browser.cookie() is None
    assert amr_of_sessions(app) == []


@pytest.mark.settings(IDP_LOCKOUT_SLOW_AFTER="8", IDP_LOCKOUT_AFTER="9")
def test_the_code_form_answers_the_same_for_an_address_without_an_account(
    browser, http, make_user, mailbox
):
    make_user(ADA)
    stranger = Browser(http)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))
    ask(stranger, NOBODY)

    for attempt in range(7):
        known = enter(browser, wrong(code))
        unknown = enter(stranger, wrong(code))
        assert known.status_code == unknown.status_code == 400, attempt
        assert page_text(unknown) == page_text(known).replace(ADA, NOBODY), attempt
    assert USED_UP in known.text


def test_a_malformed_code_gets_a_message_and_costs_no_attempt(browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))

    empty = enter(browser, "")
    short = enter(browser, "12a4")

    assert empty.status_code == short.status_code == 400
    assert "Enter the 6-digit code from the email." in empty.text
    assert "The code is 6 digits, like 123456." in short.text
    assert enter(browser, code).status_code == 303


def test_repeated_wrong_codes_are_slowed_then_locked(browser, make_user, mailbox, app, clock):
    make_user(ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))
    for _ in range(3):  # IDP_LOCKOUT_SLOW_AFTER
        assert enter(browser, wrong(code)).status_code == 400

    response = enter(browser, code)

    assert response.status_code == 429
    assert "Too many failed attempts. Wait 1 second and try again." in response.text
    clock.advance(1.1)
    assert enter(browser, code).status_code == 303


def test_the_code_only_works_in_the_browser_that_asked(browser, http, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA)
    code = code_in(sign_in_mail(mailbox))
    other = Browser(http)

    response = enter(other, code)

    assert response.status_code == 400
    assert EXPIRED_REQUEST in response.text
    assert enter(browser, code).status_code == 303


def test_the_check_inbox_page_can_be_reloaded(http, browser, make_user, mailbox):
    make_user(ADA)
    ask(browser, ADA)

    page = browser.get("/sign-in/email/code")

    assert page.status_code == 200
    assert CHECK_INBOX in page.text and ADA in page.text
    assert Browser(http).get("/sign-in/email/code").headers["Location"] == "/sign-in/email"


@pytest.mark.settings(IDP_EMAIL_SEND_LIMIT="3 per minute")
def test_an_otp_flood_is_stopped_and_sends_no_more_mail(browser, make_user, mailbox, snapshot):
    make_user(ADA)
    for _ in range(3):
        assert ask(browser, ADA).status_code == 200
    wait_for_count(mailbox, ADA, 3)
    before = snapshot()

    response = ask(browser, ADA)

    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert "Please wait" in response.text
    assert int(response.headers["Retry-After"]) > 0
    assert snapshot() == before
    settle()  # any work the refused request set going has ended
    assert len(mailbox.to(ADA)) == 3


@pytest.mark.settings(IDP_EMAIL_SEND_LIMIT="2 per minute", IDP_PROXY_HOPS="1")
def test_asking_is_limited_per_address_across_ips(browser, make_user, mailbox):
    make_user(ADA)
    for n in range(2):
        headers = {"X-Forwarded-For": f"203.0.113.{n}"}
        page = browser.http.get(browser.base + "/sign-in/email", headers=headers).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token
        sent = browser.http.post(
            browser.base + "/sign-in/email",
            data={"email": ADA, "csrf_token": token.group(1)},
            headers=headers,
        )
        assert sent.status_code == 200

    response = browser.http.post(
        browser.base + "/sign-in/email",
        data={"email": " ADA@example.com", "csrf_token": token.group(1)},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )

    assert response.status_code == 429
    wait_for_count(mailbox, ADA, 2)
    settle()  # and no third one
    assert len(mailbox.to(ADA)) == 2


@pytest.mark.settings(IDP_EMAIL_SEND_LIMIT="2 per minute")
def test_asking_is_limited_per_ip_across_addresses(browser, make_user, mailbox):
    make_user(ADA)
    make_user("bo@example.com")
    assert ask(browser, "bo@example.com").status_code == 200
    assert ask(browser, NOBODY).status_code == 200
    sign_in_mail(mailbox, "bo@example.com")

    assert ask(browser, ADA).status_code == 429
    assert_no_mail_to(mailbox, ADA)


@pytest.mark.settings(IDP_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
def test_when_the_mail_server_is_down_the_answer_is_the_same(browser, http, make_user, app):
    make_user(ADA)

    known = ask(browser, ADA)
    unknown = ask(Browser(http), NOBODY)

    assert known.status_code == unknown.status_code == 200
    assert page_text(unknown) == page_text(known).replace(ADA, NOBODY)
    # The link and code were made before the mail failed.
    settle()
    assert "sign_in_link_sent" in audit_events(app)


@pytest.mark.settings(IDP_REQUIRE_VERIFIED_EMAIL="true")
def test_signing_in_by_email_verifies_the_address(browser, make_user, mailbox, app):
    make_user(ADA)

    ask(browser, ADA)

    response = enter(browser, code_in(sign_in_mail(mailbox)))

    assert response.headers["Location"] == "/account"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == ADA))
        assert user is not None and user.email_verified_at is not None
    assert "email_verified" in audit_events(app)


def test_the_sign_in_page_offers_sign_in_by_email(browser):
    page = browser.get("/sign-in?next=%2Fauthorize%2Fresume%3Fuid%3Dx")

    assert "Email me a sign-in link or code" in page.text
    assert 'href="/sign-in/email?next=/authorize/resume?uid%3Dx"' in page.text

"""Lockout without denial of service: failed passwords slow down, then lock, the password of
one account (and, across accounts, of one IP), tell the user, write the audit log and mail the
owner — while other ways in stay open."""

from __future__ import annotations

import time

import pytest
import time_machine
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from tests.conftest import PASSWORD, Browser, text_of
from tests.helpers.clock import Clock
from tests.helpers.waiting import assert_no_mail_to
from tests.support import audit_events

NEW_PASSWORD = "quartz-harbour-82-violin"
FAST = {
    "IDP_LOCKOUT_SLOW_AFTER": "2",
    "IDP_LOCKOUT_AFTER": "4",
    "IDP_LOCKOUT_SECONDS": "120",
    "IDP_SIGN_IN_ACCOUNT_LIMIT": "100 per minute",
}


def locked_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.event == "credential_locked"))
        )


@pytest.mark.settings(**FAST)
def test_failures_slow_down_then_lock_the_password(
    browser, make_user, app, mailbox, snapshot, clock
):
    make_user("ada@example.com")
    for _ in range(2):
        assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400

    # After two failures the next attempt must wait one second, even with the right password.
    before = snapshot()
    slowed = browser.sign_in("ada@example.com", PASSWORD)
    assert slowed.status_code == 429
    assert "Too many failed attempts. Wait 1 second and try again." in slowed.text
    assert browser.cookie() is None
    assert snapshot() == before

    clock.advance(1.1)
    assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400
    clock.advance(2.1)  # the wait doubles
    assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400

    locked = browser.sign_in("ada@example.com", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed attempts with this password. It is locked for 2 minutes" in locked.text
    assert "reset your password" in locked.text
    assert browser.cookie() is None

    [event] = locked_events(app)
    assert event.subject == "ada@example.com"
    assert event.detail["credential"] == "password"
    assert event.detail["scope"] == "account"
    notice = mailbox.wait_for("ada@example.com", "were blocked")
    assert "blocked sign-ins with your password for 2 minutes" in " ".join(text_of(notice).split())


@pytest.mark.settings(**FAST)
def test_an_unknown_address_is_locked_the_same_way_without_mail(browser, app, mailbox):
    answers = []
    for _ in range(2):
        answers.append(browser.sign_in("nobody@example.com", "wrong-password-1").status_code)
    slowed = browser.sign_in("nobody@example.com", "wrong-password-1")

    assert answers == [400, 400]
    assert slowed.status_code == 429
    assert "Wait 1 second" in slowed.text
    assert_no_mail_to(mailbox, "nobody@example.com")


@pytest.mark.settings(**FAST)
def test_a_success_clears_the_account_failures(browser, make_user):
    make_user("ada@example.com")
    assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303
    browser.submit("/account", "/sign-out")

    for _ in range(2):
        assert browser.sign_in("ada@example.com", "wrong-password-1").status_code == 400
    # Two failures since the success: the third attempt waits; had the first counted, the
    # wait would be two seconds.
    assert "Wait 1 second" in browser.sign_in("ada@example.com", PASSWORD).text


@pytest.mark.settings(**FAST)
def test_one_ip_guessing_across_accounts_is_locked(browser, make_user, app):
    make_user("zoe@example.com")
    # Per IP the lock comes after five times the per-account threshold: 20 failures.
    for n in range(20):
        assert browser.sign_in(f"user{n}@example.com", "wrong-password-1").status_code == 400

    refused = browser.sign_in("zoe@example.com", PASSWORD)

    assert refused.status_code == 429
    assert "It is locked for 2 minutes" in refused.text
    [event] = locked_events(app)
    assert event.detail["scope"] == "ip"
    assert event.user_id is None


@pytest.mark.settings(**FAST)
def test_a_locked_password_leaves_the_account_reachable_another_way(browser, make_user, clock):
    """The lock is on the password only: password reset still answers normally."""
    make_user("ada@example.com")
    for delay in (0, 0, 1.1, 2.1):
        clock.advance(delay)
        browser.sign_in("ada@example.com", "wrong-password-1")
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 429

    page = browser.get("/reset-password")
    assert page.status_code == 200


@pytest.mark.settings(**FAST)
def test_the_current_password_on_the_account_page_counts_toward_the_lockout(
    http, browser, make_user, app, snapshot
):
    """Every password check counts toward the lockout, not only sign-in's: a wrong current
    password on /account/password is audited and slows down, then locks, the same password
    counters as the sign-in form (so the account page is no way around them). The clock
    stands still but for the test's own jumps, so no wait ends early on a slow machine."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        _current_password_counts(http, browser, make_user, app, snapshot, Clock(traveller))


def _current_password_counts(http, browser, make_user, app, snapshot, clock: Clock) -> None:
    make_user("ada@example.com")
    assert browser.sign_in("ada@example.com").status_code == 303

    def change(current: str):
        return browser.submit(
            "/account", "/account/password", current_password=current, new_password=NEW_PASSWORD
        )

    for _ in range(2):
        wrong = change("wrong-password-1")
        assert wrong.status_code == 400
        assert "Your current password is incorrect." in wrong.text
    before = snapshot()
    slowed = change(PASSWORD)
    assert slowed.status_code == 429
    assert "Too many failed attempts. Wait 1 second and try again." in slowed.text
    assert snapshot() == before

    clock.advance(1.1)
    assert change("wrong-password-1").status_code == 400
    clock.advance(2.1)
    assert change("wrong-password-1").status_code == 400
    locked = change(PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed attempts with this password. It is locked for 2 minutes" in locked.text
    assert snapshot() == before
    elsewhere = Browser(http).sign_in("ada@example.com", PASSWORD)
    assert elsewhere.status_code == 429
    assert audit_events(app).count("password_check_failed") == 4
    [event] = locked_events(app)
    assert event.detail["credential"] == "password"


@pytest.mark.settings(**FAST)
def test_many_quick_wrong_current_passwords_are_slowed_down(browser, make_user, app):
    """Twenty-five wrong current passwords in the same instant (the clock stands still, so
    no wait ever ends): after two, each attempt must wait, so the rest are refused without a
    check, and every check that ran is in the audit log."""
    make_user("ada@example.com")
    assert browser.sign_in("ada@example.com").status_code == 303

    with time_machine.travel(time.time(), tick=False):
        answers = [
            browser.submit(
                "/account",
                "/account/password",
                current_password=f"guess-{n}-xyz",
                new_password="x",
            ).status_code
            for n in range(25)
        ]

    assert answers == [400, 400] + [429] * 23
    assert audit_events(app).count("password_check_failed") == 2


@pytest.mark.settings(**FAST)
def test_a_wrong_password_on_the_confirm_page_is_audited(browser, make_user, app):
    """Re-authentication (/confirm, before deleting the account, changing the address or
    two-factor) is a password check too: counted (it always was) and now audited."""
    make_user("ada@example.com")
    assert browser.sign_in("ada@example.com").status_code == 303

    refused = browser.submit("/confirm", password="wrong-password-1")

    assert refused.status_code == 400
    assert "The password is incorrect." in refused.text
    assert audit_events(app)[-1] == "password_check_failed"

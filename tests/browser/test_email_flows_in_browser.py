"""Email flows as a person meets them, in a real browser, with the mail from a real SMTP server.

Sign up, read the mail, open the link, press "Verify email" and land signed in; forget the
password, follow the reset link, choose a new one and sign in with it. Every page on the way,
and the pages of email change and account deletion, have no axe-core violations; the check-
inbox page and the account page (asking to verify) are screenshot at 360 and 1280 px.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.fixtures import DESKTOP, PHONE, screenshot
from tests.conftest import PASSWORD, link_in

pytestmark = pytest.mark.browser

EMAIL = "augusta.ada.king.lovelace@analyticalengine.example.com"  # long, unbreakable
NEW_PASSWORD = "quartz-harbour-82-violin"


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def sign_in(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/account")


def flash(page: Page):
    """The message a page shows after a redirect."""
    return page.locator(".alert--info")


def assert_fits(page: Page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px screen"


def test_sign_up_verify_the_address_and_land_signed_in(page, mailbox):
    page.goto("/sign-up")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    expect(page.get_by_text("We sent a message to")).to_contain_text(EMAIL)
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        screenshot(page, "check-inbox")
        assert_accessible(page)
        assert_fits(page)

    page.goto(link_in(mailbox.wait_for(EMAIL, "Confirm your email address"), "/verify-email/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify your email address")
    assert_accessible(page)
    page.get_by_role("button", name="Verify email").click()

    expect(page).to_have_url("/account")
    expect(flash(page)).to_contain_text("Your email address is verified.")
    expect(page.get_by_text("Verified", exact=True)).to_be_visible()


def test_forgot_password_reset_by_email_and_sign_in(page, make_user, mailbox):
    make_user(EMAIL)
    page.goto("/reset-password")
    assert_accessible(page)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Send reset link").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert_accessible(page)
    page.goto(link_in(mailbox.wait_for(EMAIL, "Reset your password"), "/reset-password/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    assert_accessible(page)
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Use at least 8 characters.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(flash(page)).to_contain_text("Your password was changed")
    expect(page.get_by_label("Email")).to_have_value(EMAIL)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url("/account")


def test_the_account_page_asks_an_unverified_user_to_verify(new_context, make_user):
    make_user(EMAIL)
    for viewport in (PHONE, DESKTOP):
        page = new_context(viewport=viewport).new_page()
        sign_in(page, EMAIL)
        expect(page.get_by_text("Please verify your email address")).to_be_visible()
        screenshot(page, "account-unverified")
        assert_accessible(page)
        assert_fits(page)


@pytest.mark.parametrize(
    "address",
    ["/verify-email", "/verify-email/not-a-real-link", "/reset-password/not-a-real-link"],
)
def test_the_other_email_pages_are_accessible(page, address):
    page.goto(address)

    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert_accessible(page)


def test_change_email_and_delete_pages_are_accessible(page, make_user, mailbox):
    make_user(EMAIL)
    sign_in(page, EMAIL)
    page.get_by_label("New email address").fill("ada@example.org")
    page.get_by_role("button", name="Change email address").click()
    expect(flash(page)).to_contain_text("We sent a link to ada@example.org")
    page.goto(link_in(mailbox.wait_for("ada@example.org", "Confirm"), "/account/email/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your new email address")
    assert_accessible(page)
    page.get_by_role("button", name="Change my email address").click()
    expect(flash(page)).to_contain_text("Your email address is now ada@example.org")

    page.get_by_role("link", name="Delete my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")
    assert_accessible(page)
    page.get_by_label("Your email address").fill("someone-else@example.org")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Nothing was deleted.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Your email address").fill("ada@example.org")
    page.get_by_role("button", name="Delete my account").click()
    expect(page).to_have_url("/sign-in")
    expect(flash(page)).to_contain_text("Your account and everything in it")

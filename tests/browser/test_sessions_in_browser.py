"""Sessions as a person meets them, in a real browser.

Sign up through the form (and the link mailed to verify the address), sign out with the header
button and sign in again; "Keep me signed in" decides whether the session cookie outlives the
browser. Signed in on two devices (two browser contexts), the account page lists both, marks this
one, and signs the other out, asking for the password first when the sign-in is no longer
fresh. "Sign out everywhere" ends both.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.fixtures import DESKTOP, PHONE, screenshot, sign_in
from tests.conftest import PASSWORD, link_in

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"
REMEMBER_DAYS = 30  # IDP_REMEMBER_TTL's default
FIREFOX_ON_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"


def test_sign_up_sign_out_and_sign_in_again_keeping_me_signed_in(page, context, mailbox):
    page.goto("/sign-up")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    page.goto(link_in(mailbox.wait_for(EMAIL, "Confirm your email address"), "/verify-email/"))
    page.get_by_role("button", name="Verify email").click()

    expect(page).to_have_url("/account")
    expect(page.get_by_text("Signed in as")).to_contain_text(EMAIL)
    expect(page.get_by_label("Name")).to_have_value("Grace Hopper")

    header_sign_out_button(page).click()

    expect(page).to_have_url("/sign-in")
    assert session_cookie(context) is None

    page.locator("input[name=email]").fill(EMAIL)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_label("Keep me signed in").check()
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url("/account")
    expect(page.get_by_text("Signed in as")).to_contain_text(EMAIL)
    cookie = session_cookie(context)
    assert cookie is not None
    days_left = (cookie["expires"] - time.time()) / 86400
    assert REMEMBER_DAYS - 1 < days_left <= REMEMBER_DAYS
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"


def test_without_keep_me_signed_in_the_cookie_ends_with_the_browser(page, context, make_user):
    make_user(EMAIL)

    sign_in(page, EMAIL, remember=False)

    cookie = session_cookie(context)
    assert cookie is not None
    assert cookie["expires"] == -1  # a session cookie: no expiry
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"


def test_signing_out_the_other_device(new_context, make_user):
    make_user(EMAIL)
    laptop, phone = signed_in_on_a_laptop_and_a_phone(new_context)

    laptop.goto("/account")
    expect(sessions(laptop)).to_have_count(2)
    expect(this_device(laptop)).to_contain_text("This device")
    expect(other_device(laptop)).to_contain_text("Firefox")
    for viewport in (PHONE, DESKTOP):
        laptop.set_viewport_size(viewport)
        screenshot(laptop, "account-two-sessions")

    other_device(laptop).get_by_role("button", name="Sign out").click()

    expect(laptop).to_have_url("/account")
    expect(laptop.get_by_role("status")).to_have_text("The session was signed out.")
    expect(sessions(laptop)).to_have_count(1)
    expect(this_device(laptop)).to_be_visible()
    assert is_signed_out(phone)


@pytest.mark.settings(IDP_SESSION_FRESH_AGE="1")
def test_signing_out_the_other_device_asks_for_the_password_when_not_fresh(new_context, make_user):
    make_user(EMAIL)
    laptop, phone = signed_in_on_a_laptop_and_a_phone(new_context)
    laptop.wait_for_timeout(1500)  # the sign-in is now older than IDP_SESSION_FRESH_AGE

    laptop.goto("/account")
    expect(laptop.get_by_text("Signing out sessions asks for your password first.")).to_be_visible()
    other_device(laptop).get_by_role("button", name="Sign out").click()

    expect(laptop).to_have_url("/confirm?next=%2Faccount")
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
    assert not is_signed_out(phone)  # not yet
    expect(laptop.get_by_label("Password")).to_be_focused()
    laptop.get_by_label("Password").fill(PASSWORD)
    laptop.get_by_role("button", name="Confirm").click()

    expect(laptop).to_have_url("/account")
    other_device(laptop).get_by_role("button", name="Sign out").click()

    expect(laptop).to_have_url("/account")
    expect(laptop.get_by_role("status")).to_have_text("The session was signed out.")
    expect(sessions(laptop)).to_have_count(1)
    assert is_signed_out(phone)


def test_a_wrong_password_on_the_confirm_page_signs_nobody_out(new_context, make_user):
    make_user(EMAIL)
    laptop, phone = signed_in_on_a_laptop_and_a_phone(new_context)

    laptop.goto("/confirm?next=%2Faccount")
    laptop.get_by_label("Password").fill("not-my-password")
    laptop.get_by_role("button", name="Confirm").click()

    expect(laptop.get_by_text("The password is incorrect.")).to_be_visible()
    expect(laptop.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    assert not is_signed_out(phone)


def test_sign_out_everywhere_signs_out_both_devices(new_context, make_user):
    make_user(EMAIL)
    laptop, phone = signed_in_on_a_laptop_and_a_phone(new_context)

    laptop.goto("/account")
    laptop.get_by_role("button", name="Sign out everywhere").click()

    expect(laptop).to_have_url("/sign-in")
    assert is_signed_out(laptop)
    assert is_signed_out(phone)


# --- What the person looks at -------------------------------------------------------------


def signed_in_on_a_laptop_and_a_phone(new_context) -> tuple[Page, Page]:
    """The same account signed in on two devices: two browsers that share no cookies."""
    laptop = new_context(viewport=DESKTOP).new_page()
    phone = new_context(viewport=PHONE, user_agent=FIREFOX_ON_ANDROID).new_page()
    sign_in(laptop, EMAIL)
    sign_in(phone, EMAIL)
    return laptop, phone


def header_sign_out_button(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out")


def sessions(page: Page) -> Locator:
    """The rows of the "Where you're signed in" table."""
    return page.get_by_role("table", name="Your active sessions").locator("tbody tr")


def this_device(page: Page) -> Locator:
    return sessions(page).filter(has_text="This device")


def other_device(page: Page) -> Locator:
    return sessions(page).filter(has_not_text="This device")


def is_signed_out(page: Page) -> bool:
    """Opening the account page sends a signed-out browser to the sign-in page."""
    page.goto("/account")
    return page.url.endswith("/sign-in?next=%2Faccount")


def session_cookie(context: BrowserContext) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "idp_session"), None)

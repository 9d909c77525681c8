"""Sign-in by email in Chromium: from the sign-in page to the mail, then the link or the code.

Every page of the flow (asking, "check your inbox" with and without an error, the link's
confirmation page from the same and from another browser, a used link) has no axe-core
violation; the check-inbox page is screenshot at 360 and 1280 px and does not scroll sideways.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.fixtures import DESKTOP, PHONE, screenshot
from tests.conftest import link_in, text_of

pytestmark = pytest.mark.browser

EMAIL = "augusta.ada.king.lovelace@analyticalengine.example.com"  # long, unbreakable


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def ask_on_the_sign_in_page(page: Page, email: str = EMAIL) -> None:
    page.goto("/sign-in")
    page.get_by_role("link", name="Email me a sign-in link or code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in by email")
    assert_accessible(page)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link and code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")


def code_in(message) -> str:
    match = re.search(r"^\s+(\d{6})\s*$", text_of(message), re.MULTILINE)
    assert match
    return match.group(1)


def test_the_link_from_the_mail_signs_in_after_confirming(page, make_user, mailbox):
    make_user(EMAIL)
    ask_on_the_sign_in_page(page)
    link = link_in(mailbox.wait_for(EMAIL, "Sign in to"), "/sign-in/email/")

    page.goto(link)

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in as {EMAIL}?")
    expect(page.get_by_text("another browser or device")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/account")

    page.goto(link)  # the link works once
    expect(page.get_by_role("heading", level=1)).to_have_text("This sign-in link can't be used")
    expect(page.get_by_role("alert")).to_have_text("This link has already been used.")
    assert_accessible(page)


def test_the_code_from_the_mail_signs_in(page, make_user, mailbox):
    make_user(EMAIL)
    ask_on_the_sign_in_page(page)
    code = code_in(mailbox.wait_for(EMAIL, "Sign in to"))

    page.get_by_label("Code from the email").fill("000000" if code != "000000" else "111111")
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_label("Code from the email")).to_be_focused()
    assert_accessible(page)
    page.get_by_label("Code from the email").fill(code)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()

    expect(page).to_have_url("/account")


def test_the_link_opened_on_another_device_says_so(new_context, make_user, mailbox):
    make_user(EMAIL)
    laptop = new_context().new_page()
    ask_on_the_sign_in_page(laptop)
    link = link_in(mailbox.wait_for(EMAIL, "Sign in to"), "/sign-in/email/")
    phone = new_context(viewport=PHONE).new_page()

    phone.goto(link)

    expect(phone.get_by_role("note")).to_contain_text(
        "This link was asked for from another browser or device"
    )
    assert_accessible(phone)
    screenshot(phone, "email-sign-in-other-device")
    phone.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(phone).to_have_url("/account")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_the_check_inbox_page_fits_and_is_accessible(new_context, viewport):
    page = new_context(viewport=viewport).new_page()
    ask_on_the_sign_in_page(page)

    screenshot(page, "email-sign-in-check-inbox")

    assert_accessible(page)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px screen"
    expect(page.get_by_label("Code from the email")).to_be_focused()

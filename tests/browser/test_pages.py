"""Every page, in a real browser, on a phone and a desktop screen.

For sign-in, sign-up, the account page, the password confirmation page and a 404 page, at 360
and 1280 pixels wide: a full-page screenshot goes to test-artifacts/screenshots/, axe-core finds
no accessibility violation, the Content-Security-Policy blocks nothing, every visible field has
a label, the page has one <main>, a banner, named navigation and one <h1>, and nothing scrolls
sideways, even with a long email address on show. On the sign-in page: the keyboard order, the
skip link, the error announcement, and that it works without JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.fixtures import DESKTOP, PHONE, screenshot, sign_in

pytestmark = pytest.mark.browser

EMAIL = "augusta.ada.king.lovelace@analyticalengine.example.com"  # long, unbreakable
PAGES = {
    # name: (address, signed in?, expected status)
    "sign-in": ("/sign-in", False, 200),
    "sign-up": ("/sign-up", False, 200),
    "account": ("/account", True, 200),
    "confirm": ("/confirm?next=%2Faccount", True, 200),
    "not-found": ("/no-such-page", False, 404),
}
SCREENS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
EVERY_PAGE = pytest.mark.parametrize("name", list(PAGES))

UNLABELLED_FIELDS = """() =>
  [...document.querySelectorAll("input, select, textarea")]
    .filter(el => el.type !== "hidden" && el.getClientRects().length > 0
                  && getComputedStyle(el).visibility !== "hidden")
    .filter(el => el.labels.length === 0 && !(el.getAttribute("aria-label") || "").trim())
    .map(el => el.outerHTML)
"""


@pytest.fixture
def console_errors() -> list[str]:
    """What the browser logs as errors on pages opened with `open_page` (CSP violations too)."""
    return []


@pytest.fixture
def open_page(new_context, make_user, console_errors) -> Callable[[str, dict[str, int]], Page]:
    """Open one of PAGES at a screen size, signing in first if it needs it, as a visitor would."""

    def open_(name: str, viewport: dict[str, int]) -> Page:
        address, signed_in, status = PAGES[name]
        page = new_context(viewport=viewport).new_page()
        page.on("console", lambda message: _keep_errors(message, console_errors))
        if signed_in:
            make_user(EMAIL)
            sign_in(page, EMAIL)
        response = page.goto(address)
        assert response is not None
        assert response.status == status, f"{address} answered {response.status}"
        return page

    return open_


def _keep_errors(message: ConsoleMessage, errors: list[str]) -> None:
    """Keep console errors, except the 404s that are expected: no favicon, the 404 page itself."""
    url = message.location.get("url", "")
    expected_404 = url.endswith(("/favicon.ico", "/no-such-page"))
    if message.type == "error" and not (expected_404 and "status of 404" in message.text):
        errors.append(f"{message.text} ({url})")


@EVERY_PAGE
@SCREENS
def test_page_has_no_accessibility_violations(open_page, console_errors, name, viewport):
    page = open_page(name, viewport)
    screenshot(page, name)

    results = Axe().run(page)

    assert results.violations_count == 0, (
        f"{results.generate_snapshot()}\n\n{results.generate_report()}"
    )
    assert console_errors == [], "the browser reported errors (a CSP violation?)"


@EVERY_PAGE
@SCREENS
def test_page_has_landmarks_a_heading_and_labelled_fields(open_page, name, viewport):
    page = open_page(name, viewport)

    assert page.evaluate(UNLABELLED_FIELDS) == [], "these fields have no <label> or aria-label"
    expect(page.locator("main")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("banner")).to_have_count(1)
    navigation = page.get_by_role("navigation")
    expect(navigation).not_to_have_count(0)
    expect(page.get_by_role("navigation", name=re.compile(r"\S"))).to_have_count(navigation.count())
    expect(page.get_by_role("heading", level=1)).to_have_count(1)


@EVERY_PAGE
def test_page_fits_a_phone_screen_without_scrolling_sideways(open_page, name):
    page = open_page(name, PHONE)

    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")

    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px screen"


def test_keyboard_goes_from_email_to_password_to_remember_me_to_the_button(page):
    page.goto("/sign-in")
    expect(page.get_by_label("Email")).to_be_focused()  # autofocus

    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Keep me signed in")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_focused()


def test_the_skip_link_comes_first_and_jumps_to_the_content(page):
    page.goto("/sign-in")
    expect(page.get_by_label("Email")).to_be_focused()
    _tab_until_focus_leaves_the_page(page)

    page.keyboard.press("Tab")  # focus comes back in at the top, as from the address bar
    skip_link = page.get_by_role("link", name="Skip to content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page).to_have_url("/sign-in#main")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()


def _tab_until_focus_leaves_the_page(page: Page) -> None:
    for _ in range(50):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            return
    pytest.fail("Tab never took the focus out of the page")


def test_a_failed_sign_in_is_announced_as_an_alert(page, make_user):
    make_user(EMAIL)
    page.goto("/sign-in")

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("alert")).to_have_text("The email or password is incorrect.")
    expect(page.get_by_label("Email")).to_have_value(EMAIL)
    expect(page.get_by_label("Password")).to_have_value("")


def test_sign_in_works_with_javascript_turned_off(new_context, make_user):
    make_user(EMAIL)
    page = new_context(java_script_enabled=False).new_page()

    sign_in(page, EMAIL)

    expect(page).to_have_url("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

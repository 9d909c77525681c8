"""Two-factor as a person meets it, in Chromium: set up an authenticator app from the
security page (the key read off the page, the code computed as the app would, RFC 6238),
save the backup codes, sign out, and sign in with password and code; sign in with a backup
code. Every page on the way has no accessibility violation and no CSP error; screenshots of
the security page (two-factor on) and the second-factor page at 360 and 1280 px.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.fixtures import DESKTOP, PHONE, screenshot
from tests.conftest import PASSWORD
from tests.test_two_factor import with_two_factor

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("steady_totp_step")]

EMAIL = "grace@example.com"


def steady_code(secret: str, offset_steps: int = 0) -> str:
    """The app's code `offset_steps` steps from now (the test started at the beginning of a
    step: `steady_totp_step`)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def assert_accessible(page: Page, errors: list[str]) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert errors == [], "the browser reported errors (a CSP violation?)"


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        # A refused code answers 400 on purpose; Chromium logs that as a failed load.
        refused = "status of 400" in message.text and message.location.get("url", "").endswith(
            ("/sign-in/second-factor", "/account/security/two-factor")
        )
        if message.type == "error" and not refused:
            errors.append(message.text)

    page.on("console", keep)
    return errors


def type_password(
    page: Page, email: str = EMAIL, *, lands_on: str = "/sign-in/second-factor"
) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(lands_on)


def test_set_up_an_authenticator_app_then_sign_in_with_it(page, make_user):
    make_user(EMAIL)
    errors = watch_errors(page)
    type_password(page, lands_on="/account")

    page.goto("/account/security")
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page).to_have_url("/account/security/two-factor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    expect(page.locator("figure.qr svg")).to_be_visible()
    assert_accessible(page, errors)
    screenshot(page, "two-factor-setup")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)

    wrong = f"{(int(steady_code(secret)) + 1) % 1_000_000:06d}"
    page.get_by_label("6-digit code from the app").fill(wrong)
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_label("6-digit code from the app")).to_have_attribute("aria-invalid", "true")

    # The previous step's code: the current one stays unused for signing in below.
    page.get_by_label("6-digit code from the app").fill(steady_code(secret, -1))
    page.get_by_role("button", name="Turn on two-factor").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
    expect(page.get_by_role("status")).to_have_text("Two-factor authentication is on.")
    codes = page.get_by_role("list", name="Backup codes").locator("li")
    expect(codes).to_have_count(10)
    assert_accessible(page, errors)
    screenshot(page, "two-factor-backup-codes")
    page.get_by_role("link", name="I have saved my backup codes").click()

    expect(page).to_have_url("/account/security")
    expect(page.get_by_text("10 of 10 backup codes left.")).to_be_visible()
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], "the security page scrolls sideways"
        assert_accessible(page, errors)
        screenshot(page, "security-two-factor-on")

    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/sign-in")
    type_password(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    expect(page.get_by_label("Code from your authenticator app")).to_be_focused()
    page.get_by_label("Code from your authenticator app").fill(steady_code(secret))
    page.get_by_label("Trust this device for 30 days").check()
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url("/account")
    page.goto("/account/security")
    expect(page.get_by_role("table", name="Devices that skip the second step")).to_contain_text(
        "This device"
    )


def test_sign_in_with_a_backup_code(page, app, make_user):
    user_id = make_user(EMAIL)
    _, codes = with_two_factor(app, user_id)
    errors = watch_errors(page)

    type_password(page)
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        assert_accessible(page, errors)
        screenshot(page, "second-factor")
    page.get_by_role("link", name="Use a backup code").click()
    expect(page.get_by_label("Backup code")).to_be_focused()
    assert_accessible(page, errors)
    page.get_by_label("Backup code").fill("zzzz-zzzz")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That backup code is not right.")).to_be_visible()
    assert_accessible(page, errors)

    page.get_by_label("Backup code").fill(codes[3])
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url("/account")
    page.goto("/account/security")
    expect(page.get_by_text("9 of 10 backup codes left.")).to_be_visible()


def test_the_email_code_page_and_cancel(page, app, make_user):
    user_id = make_user(EMAIL)
    with_two_factor(app, user_id)
    errors = watch_errors(page)

    type_password(page)
    page.get_by_role("link", name="Get a code by email").click()
    expect(page.get_by_role("button", name="Email me a code")).to_be_visible()
    assert_accessible(page, errors)
    screenshot(page, "second-factor-email")

    page.get_by_role("button", name="Cancel and sign in as someone else").click()

    expect(page).to_have_url("/sign-in")
    page.goto("/sign-in/second-factor")
    expect(page).to_have_url("/sign-in")

"""A CLI signs its user in with the device grant; the user answers in a real browser.

RFC 8628 §3.3 (the user opens `verification_uri_complete`, signs in, checks the code and
allows), §5.4 (the filled-in code is confirmed, not approved by itself) and §3.5 (the device's
next poll gets its tokens). In Chromium at 360 and 1280 px: the code-entry and approval pages
pass axe, nothing scrolls sideways, and screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.fixtures import DESKTOP, PHONE, screenshot
from tests.conftest import PASSWORD
from tests.oauth.issued import claims_of, post_as

pytestmark = pytest.mark.browser
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def check_page(page: Page, name: str) -> None:
    screenshot(page, name)
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_sign_in_a_cli_from_the_browser(server, new_context, make_user, make_client, viewport):
    user_id = make_user("ada@example.com")
    client = make_client(
        name="Deploy CLI", public=True, redirect_uris=[], grant_types=[DEVICE_GRANT]
    )
    started = post_as(server, client, "/device_authorization", scope="openid profile").json()
    page = new_context(viewport=viewport).new_page()

    page.goto(started["verification_uri_complete"])
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Connect a device")
    expect(page.get_by_label("Code")).to_have_value(started["user_code"])
    check_page(page, "device-code")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Allow Deploy CLI on your device?")
    expect(page.get_by_text(started["user_code"])).to_be_visible()
    expect(page.get_by_text("See your name")).to_be_visible()
    check_page(page, "device-approve")
    pending = post_as(
        server, client, "/token", grant_type=DEVICE_GRANT, device_code=started["device_code"]
    )
    assert pending.json()["error"] == "authorization_pending"
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Device connected")
    tokens = post_as(
        server, client, "/token", grant_type=DEVICE_GRANT, device_code=started["device_code"]
    )
    assert tokens.status_code == 200, tokens.text
    assert claims_of(server, tokens.json()["id_token"])["sub"] == str(user_id)


def test_a_wrong_code_is_announced(server, new_context, make_user):
    make_user("ada@example.com")
    page = new_context(viewport=PHONE).new_page()
    page.goto("/device")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    page.get_by_label("Code").fill("BCDF-GHJK")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    check_page(page, "device-code-error")

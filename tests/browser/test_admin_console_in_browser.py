"""The admin console's pages in Chromium, at 360 and 1280 px: an admin finds a person, opens
their page and bans them; the keys and audit pages show. Every page passes axe and does not
scroll sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from idp.identity import users
from tests.browser.fixtures import DESKTOP, PHONE, sign_in
from tests.browser.test_admin_in_browser import check_page
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_an_admin_finds_and_bans_a_person(app, new_context, viewport):
    with app.app_context():
        users.create_user("grace@example.com", "Grace", PASSWORD, is_admin=True)
        users.create_user("ada@example.com", "Ada Lovelace", PASSWORD)
    page = new_context(viewport=viewport).new_page()
    sign_in(page, "grace@example.com")
    width = viewport["width"]

    with page.expect_navigation():  # the check reads the page it lands on
        page.get_by_role("navigation", name="Account").get_by_role("link", name="Admin").click()
    check_page(page, width)
    page.get_by_role("link", name="People").click()
    page.get_by_label("Email or name starts with").fill("ada")
    with page.expect_navigation():  # the check reads the page it lands on
        page.get_by_role("button", name="Search").click()
    check_page(page, width)
    page.get_by_role("link", name="ada@example.com").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    check_page(page, width)
    page.get_by_label("Reason (for the audit log)").fill("Spam")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_text("ada@example.com is banned")).to_be_visible()
    for path in ("/admin/keys", "/admin/audit"):
        page.goto(page.url.split("/admin", 1)[0] + path)
        check_page(page, width)

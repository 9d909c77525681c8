"""The admin page for protected resources in Chromium, at 360 and 1280 px.

An admin reaches it from the navigation, adds a resource (RFC 8707 §2: an absolute URI
without a fragment) through the form, sees a refused one explained next to its field, and
deletes it after confirming. Every page passes axe and does not scroll sideways.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from idp.identity import users
from idp.oauth.resources import find_resource
from tests.browser.fixtures import DESKTOP, PHONE, screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
NOTES = "https://notes.example.com/mcp"


def check_page(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "scrolls sideways"
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_an_admin_adds_and_deletes_a_resource(app, new_context, viewport):
    with app.app_context():
        users.create_user("grace@example.com", "Grace", PASSWORD, is_admin=True)
    page = new_context(viewport=viewport).new_page()
    sign_in(page, "grace@example.com")

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Admin")
    page.get_by_role("link", name="Protected resources").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Protected resources")
    expect(page.get_by_text("No resources are registered yet.")).to_be_visible()

    # A URI with a fragment is refused, next to the field (RFC 8707 §2).
    page.get_by_label("URI").fill(NOTES + "#tools")
    page.get_by_label("Name").fill("Team notes")
    page.get_by_label("Scopes").fill("notes:read=Read your notes\nnotes:write=Edit your notes")
    page.get_by_role("button", name="Add resource").click()
    expect(page.get_by_label("URI")).to_have_accessible_description(
        "The resource indicator clients send (RFC 8707): an absolute URI without a fragment, "
        "such as https://notes.example.com/mcp. It is the audience of its tokens. "
        "The resource URI must not contain a fragment."
    )
    expect(page.get_by_label("URI")).to_be_focused()
    check_page(page, viewport["width"])
    screenshot(page, "admin-resources-error")

    page.get_by_label("URI").fill(NOTES)
    page.get_by_label("Access-token lifetime in seconds (optional)").fill("600")
    page.get_by_role("button", name="Add resource").click()

    expect(page.get_by_role("status")).to_have_text(f"The resource {NOTES} was added.")
    listed = page.locator("li.admin-item")
    expect(listed).to_have_count(1)
    expect(listed.get_by_role("heading", level=3)).to_have_text("Team notes")
    expect(listed.get_by_text("Read your notes")).to_be_visible()
    expect(listed.get_by_text("600 seconds")).to_be_visible()
    check_page(page, viewport["width"])
    screenshot(page, "admin-resources")
    with app.app_context():
        resource = find_resource(NOTES)
        assert resource is not None
        assert resource.scopes == {
            "notes:read": "Read your notes",
            "notes:write": "Edit your notes",
        }

    page.get_by_role("link", name=f"Delete Team notes ({NOTES})").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete Team notes?")
    check_page(page, viewport["width"])
    screenshot(page, "admin-delete-resource")
    page.get_by_role("button", name="Delete resource").click()

    expect(page.get_by_role("status")).to_have_text(f"The resource {NOTES} was deleted.")
    expect(page.get_by_text("No resources are registered yet.")).to_be_visible()
    with app.app_context():
        assert find_resource(NOTES) is None

"""The admin console's pages in Chromium, at 360 and 1280 px: an admin finds a person, opens
their page and bans them; the keys and audit pages show; an admin opens an organization, adds
a person to it and changes their role; the API keys page shows. Every page passes axe and does
not scroll sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from idp.api.keys import create_key
from idp.identity import users
from idp.identity.organizations import Fields, create
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


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_an_admin_adds_a_person_to_an_organization_and_changes_their_role(
    app, new_context, viewport
):
    with app.app_context():
        users.create_user("grace@example.com", "Grace", PASSWORD, is_admin=True)
        ada = users.create_user("ada@example.com", "Ada Lovelace", PASSWORD)
        users.create_user("bob@example.com", "Bob Stone", PASSWORD)
        create(ada, Fields(name="Analytical Engines", slug="engines"))
        create_key(ada, "deploy script", [], expires_in_days=30)
    page = new_context(viewport=viewport).new_page()
    sign_in(page, "grace@example.com")
    width = viewport["width"]

    page.goto("/admin")
    page.get_by_role("main").get_by_role("link", name="Organizations").click()
    page.get_by_label("Name or slug starts with").fill("eng")
    with page.expect_navigation():  # the check reads the page it lands on
        page.get_by_role("button", name="Search").click()
    check_page(page, width)
    page.get_by_role("link", name="Analytical Engines").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytical Engines")
    check_page(page, width)

    page.get_by_label("Add a person with an account (email)").fill("bob@example.com")
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("bob@example.com is now a member (admin).")).to_be_visible()
    page.get_by_label("Role of bob@example.com").select_option("member")
    bob = page.locator('tr[data-email="bob@example.com"]')
    bob.get_by_role("button", name="Change role").click()
    expect(page.get_by_text("The role was changed.")).to_be_visible()
    expect(page.get_by_label("Role of bob@example.com")).to_have_value("member")
    check_page(page, width)

    page.get_by_role("link", name="bob@example.com").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bob Stone")
    expect(page.get_by_role("link", name="Analytical Engines")).to_be_visible()
    check_page(page, width)
    page.goto("/admin/api-keys")
    expect(page.get_by_role("cell", name="deploy script", exact=True)).to_be_visible()
    check_page(page, width)
    page.get_by_role("button", name="Revoke deploy script").click()
    expect(page.get_by_text("of ada@example.com was revoked.")).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_an_admin_impersonates_a_person_and_stops(app, new_context, viewport):
    """The banner stays while the admin walks the person's pages (each loads the stylesheet,
    which once ended the impersonation), and Stop puts the admin back on the person's page."""
    with app.app_context():
        users.create_user("grace@example.com", "Grace", PASSWORD, is_admin=True)
        ada = users.create_user("ada@example.com", "Ada Lovelace", PASSWORD)
        create(ada, Fields(name="Analytical Engines", slug="engines"))
        ada_id = ada.id
    page = new_context(viewport=viewport).new_page()
    sign_in(page, "grace@example.com")
    width = viewport["width"]

    page.goto(f"/admin/people/{ada_id}")
    page.get_by_role("button", name="Impersonate").click()
    banner = page.get_by_role("status").filter(has_text="You are impersonating ada@example.com")
    expect(banner).to_be_visible()
    check_page(page, width)
    for path in ("/organizations", "/account/security", "/account"):
        page.goto(path)
        expect(banner).to_be_visible()
    page.get_by_role("button", name="Stop impersonating").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(banner).to_have_count(0)
    check_page(page, width)

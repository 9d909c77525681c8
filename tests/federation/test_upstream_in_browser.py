"""Signing in with an upstream provider, linking and unlinking, in headless Chromium: the
upstream is a second instance of this provider (at http://localhost:<port>, this one at
http://127.0.0.1:<port>, so each keeps its own cookies)."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.fixtures import screenshot, sign_in
from tests.federation.upstream_peer import connect
from tests.helpers.factories import PASSWORD

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")


def accessible(page: Page) -> None:
    """axe-core finds no violation (WCAG 2.1 AA rules, as tests/browser/test_pages.py)."""
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def sign_in_at_peer(page: Page, email: str = "ada@example.com") -> None:
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/sign-in\?"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_continue_with_the_provider_creates_an_account(server, peer, page: Page):
    connect(server, peer)
    page.goto("/sign-in")
    screenshot(page, "sign-in-with-provider")
    accessible(page)

    page.get_by_role("link", name="Continue with Peer").click()
    sign_in_at_peer(page)

    expect(page).to_have_url(server.url + "/account")
    expect(page.get_by_text("Signed in as")).to_contain_text("ada@example.com")


def test_link_from_the_account_page_then_unlink(server, peer, page: Page, make_user):
    make_user("ada@example.com")
    connect(server, peer, trusted=False, email="ada.elsewhere@example.com")
    sign_in(page, "ada@example.com")
    page.get_by_role("link", name="Manage linked accounts").click()

    page.get_by_role("button", name="Link Peer").click()
    sign_in_at_peer(page, "ada.elsewhere@example.com")

    expect(page).to_have_url(server.url + "/account/linked-accounts")
    expect(page.get_by_text("Peer is now linked to your account.")).to_be_visible()
    expect(page.get_by_text("ada.elsewhere@example.com")).to_be_visible()
    screenshot(page, "linked-accounts")
    accessible(page)
    page.get_by_role("button", name="Unlink Peer").click()
    expect(page.get_by_text("Peer was unlinked from your account.")).to_be_visible()
    expect(page.get_by_text("No provider is linked to your account.")).to_be_visible()


def test_the_last_way_to_sign_in_cannot_be_unlinked(server, peer, page: Page):
    connect(server, peer)
    page.goto("/sign-in")
    page.get_by_role("link", name="Continue with Peer").click()
    sign_in_at_peer(page)
    expect(page).to_have_url(server.url + "/account")
    page.goto("/account/linked-accounts")

    page.get_by_role("button", name="Unlink Peer").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "This is the only way left to sign in to your account."
    )
    expect(page.get_by_role("button", name="Unlink Peer")).to_be_visible()
    accessible(page)


def test_prove_the_account_then_link(server, peer, page: Page, make_user):
    """An untrusted provider: sign in to the account here, confirm, and the link is made."""
    make_user("ada@example.com")
    connect(server, peer, trusted=False)
    page.goto("/sign-in")
    page.get_by_role("link", name="Continue with Peer").click()
    sign_in_at_peer(page)
    expect(page).to_have_url(server.url + "/sign-in/with/peer/continue")
    accessible(page)

    page.get_by_role("link", name="Sign in to link Peer").click()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    accessible(page)
    page.get_by_role("button", name="Link Peer").click()

    expect(page).to_have_url(server.url + "/account")
    expect(page.get_by_text("Peer is now linked to your account.")).to_be_visible()

"""Enterprise SSO through an OpenID Connect connection, in headless Chromium: the email typed
on the sign-in page goes to the organization's IdP (a second instance of this provider, at
http://localhost:<port>), which pre-fills it from `login_hint` (OpenID Connect Core
§3.1.2.1); back here the person is signed in and a member of the organization."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.fixtures import screenshot, sign_in
from tests.federation.sso_oidc_fixtures import OWNER, peer_corp
from tests.federation.test_upstream_in_browser import accessible
from tests.helpers.factories import PASSWORD

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")


def test_the_email_alone_leads_to_the_oidc_idp_and_back(server, peer, page: Page, make_user):
    peer_corp(server, peer, make_user)
    page.goto("/sign-in")
    page.get_by_label("Email").fill("eve@corp.example")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/sign-in\?"))
    expect(page.get_by_label("Email")).to_have_value("eve@corp.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(server.url + "/account")
    expect(page.get_by_text("Signed in as")).to_contain_text("eve@corp.example")


def test_the_sso_page_shows_the_redirect_uri(server, peer, page: Page, make_user):
    corp = peer_corp(server, peer, make_user)
    sign_in(page, OWNER)
    page.goto("/organizations/corp/sso")

    uri = f"{server.url}/sso/oidc/{corp.connection_id}/callback"
    expect(page.get_by_text(uri, exact=True)).to_be_visible()
    screenshot(page, "organization-sso-oidc")
    accessible(page)

"""Enterprise SSO in Chromium, end to end: a person types only their work email on the
sign-in page, is sent to their organization's identity provider (pysaml2 behind a real HTTP
server on 127.0.0.1), comes back with a signed assertion (SAML profiles §4.1, bindings §3.4
and §3.5) and is signed in, a new member of the organization with the role their group maps
to."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from idp.identity.users import find_by_email
from tests.browser.fixtures import screenshot, sign_in
from tests.federation.saml_idp_peer import serve
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import Corp, make_corp
from tests.helpers.organizations import membership

pytestmark = pytest.mark.browser


def test_home_realm_discovery_signs_in_a_new_member_with_the_mapped_role(
    server, page, make_user, idp_keys
):
    identity: dict[str, Any] = {"email": "eve@corp.example"}
    made: dict[str, Corp] = {}

    def make_peer(base: str) -> Any:
        corp = make_corp(server.app, make_user, idp_keys, sso_url=base + "/sso")
        identity.update(
            acs_url=corp.acs_url,
            audience=corp.sp_entity_id,
            attributes={"groups": ["idp-admins"], "displayName": ["Eve Example"]},
        )
        made["corp"] = corp
        return corp.peer

    idp = serve(make_peer, identity)
    base = next(idp)
    try:
        page.goto("/sign-in")
        page.get_by_label("Email").fill("eve@corp.example")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("heading", name="Corp identity provider")).to_be_visible()
        assert page.url.startswith(base + "/sso?SAMLRequest=")
        page.get_by_role("button", name="Continue to the app").click()
        expect(page.get_by_text("eve@corp.example").first).to_be_visible()
        assert page.url.startswith(server.url)
    finally:
        idp.close()
    with server.app.app_context():
        eve = find_by_email("eve@corp.example")
        assert eve is not None and eve.name == "Eve Example"
        assert membership(eve.id, made["corp"].organization_id).role == "admin"


def test_the_organizations_sso_page_shows_what_to_give_the_idp(server, page, make_user, idp_keys):
    corp = make_corp(server.app, make_user, idp_keys)
    sign_in(page, "owner@example.com")
    page.goto("/organizations/corp")
    page.get_by_role("link", name="Single sign-on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Single sign-on for Corp")
    expect(page.get_by_text(corp.acs_url)).to_be_visible()
    expect(page.get_by_text(corp.sp_entity_id).first).to_be_visible()
    expect(page.locator("tr[data-domain='corp.example']")).to_contain_text("verified (operator)")
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()
    screenshot(page, "organization-sso")


def test_required_sso_turns_a_password_away_with_the_way_to_sso(server, page, make_user, idp_keys):
    corp = make_corp(server.app, make_user, idp_keys, required=True)
    make_user("bob@corp.example")
    page.goto("/sign-in")
    page.get_by_label("Email").fill("bob@corp.example")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("signs you in with single sign-on")
    link = page.get_by_role("link", name="Continue with single sign-on")
    assert f"/sso/{corp.connection_id}/start" in (link.get_attribute("href") or "")
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()
    screenshot(page, "sign-in-sso-required")

"""A person signs in to a python3-saml service provider through us, in Chromium.

SP-initiated (SAML profiles §4.1.4, the AuthnRequest over HTTP-Redirect, bindings §3.4) and
IdP-initiated (§4.1.5): our page posts the signed Response to the SP by itself under our
Content-Security-Policy (bindings §3.5), and the SP, trusting the certificate in our
metadata, sees the right NameID and attributes, organizations included.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from idp.db import db
from idp.identity import organizations, users
from idp.identity.models import User
from tests.browser.fixtures import DESKTOP, PHONE
from tests.browser.fixtures import sign_in as browser_sign_in
from tests.browser.test_admin_in_browser import check_page
from tests.conftest import PASSWORD
from tests.federation.saml_idp_fixtures import register
from tests.federation.saml_sp_peer import SamlSp, serve

pytestmark = pytest.mark.browser


def with_organization(app, email: str) -> None:
    with app.app_context():
        user = db.session.scalars(select(User).filter_by(email=email)).one()
        organizations.create(user, organizations.Fields(name="Acme", slug="acme"))


@pytest.mark.parametrize("name_id_format", ["email", "persistent"])
def test_sp_initiated_sign_in(server, app, page, make_user, idp_metadata, name_id_format):
    make_user(email="ada@example.com")
    with_organization(app, "ada@example.com")

    def make(base: str) -> SamlSp:
        sp = SamlSp(base, idp_metadata, name_id_format=name_id_format)
        register(app, sp, name_id_format=name_id_format)
        return sp

    with serve(make) as (base, seen):
        page.goto(base + "/login")
        expect(page.get_by_label("Email")).to_be_visible()  # our sign-in page
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator("#seen")).to_contain_text("signed in as")

    assert seen["errors"] == [], seen["reason"]
    if name_id_format == "email":
        assert seen["name_id"] == "ada@example.com"
    else:
        assert seen["name_id_format"].endswith(":persistent") and "@" not in seen["name_id"]
    assert seen["attributes"]["organizations"] == ["acme"]
    assert seen["attributes"]["organization_roles"] == ["acme:owner"]
    assert seen["attributes"]["email"] == ["ada@example.com"]


def test_idp_initiated_sign_in(server, app, page, make_user, idp_metadata):
    make_user(email="ada@example.com")

    def make(base: str) -> SamlSp:
        sp = SamlSp(base, idp_metadata)
        register(app, sp, allow_idp_initiated=True)
        return sp

    with serve(make) as (_base, seen):
        sp: SamlSp = seen["sp"]
        page.goto("/saml/sso/initiate?" + urlencode({"sp": sp.entity_id}))
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator("#name-id")).to_have_text("ada@example.com")

    assert seen["errors"] == [] and seen["authenticated"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_an_admin_registers_an_sp_in_the_console(app, new_context, idp_metadata, viewport):
    """The console's SAML pages: register from pasted metadata, edit, delete; each page
    passes axe and does not scroll sideways."""
    with app.app_context():
        users.create_user("grace@example.com", "Grace", PASSWORD, is_admin=True)
    sp = SamlSp("http://sp.test", idp_metadata)
    page = new_context(viewport=viewport).new_page()
    browser_sign_in(page, "grace@example.com")
    width = viewport["width"]

    page.goto("/admin/saml-sps")
    check_page(page, width)
    page.get_by_label("SP metadata").fill(sp.metadata())
    page.get_by_label("organizations", exact=True).check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text(f"Registered {sp.entity_id}.")).to_be_visible()
    check_page(page, width)
    with page.expect_navigation():  # the check reads the page it lands on
        page.get_by_role("link", name="Edit").click()
    check_page(page, width)
    page.get_by_label("Name", exact=True).fill("Wiki")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved Wiki.")).to_be_visible()
    with page.expect_navigation():  # the check reads the page it lands on
        page.get_by_role("link", name="Delete").click()
    check_page(page, width)
    page.get_by_role("button", name="Delete service provider").click()
    expect(page.get_by_text("Deleted Wiki.")).to_be_visible()

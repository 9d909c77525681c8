"""Organizations in Chromium, end to end: create one, invite a colleague by email (real SMTP),
the colleague opens the link and joins with a new account, the owner changes their role, and
the colleague signs in to a third-party app choosing the organization at consent; the app's
ID token carries the organization claims. An organization that requires two-factor sends a
member without it to set it up before the app gets a code. The owner creates a custom role,
edits its permissions and deletes it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Route, expect

from idp.db import db
from idp.identity.organization_models import Organization
from idp.identity.users import find_by_email
from tests.browser.fixtures import sign_in
from tests.conftest import PASSWORD, link_in
from tests.helpers.organizations import add_member, make_organization
from tests.oauth.conftest import authorize_url, pkce
from tests.oauth.issued import claims_of

pytestmark = pytest.mark.browser
CALLBACK = "http://127.0.0.1:9/callback"


def app_callback(page: Page) -> list[str]:
    """Stand in for the third-party app at its redirect URI; the URLs it was sent to."""
    arrived: list[str] = []

    def answer(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, body="<h1>The app</h1>", content_type="text/html")

    page.route(CALLBACK + "*", answer)
    return arrived


def test_create_invite_join_change_role_and_sign_in_to_an_app_for_the_organization(
    server, new_context, make_user, make_client, mailbox
):
    make_user("ada@example.com", name="Ada")
    ada = new_context().new_page()
    sign_in(ada, "ada@example.com")
    ada.get_by_role("link", name="Organizations").click()
    ada.get_by_label("Name").fill("Acme")
    ada.get_by_label("Slug").fill("acme")
    ada.get_by_role("button", name="Create organization").click()
    expect(ada.get_by_role("heading", level=1)).to_have_text("Acme")
    violations = Axe().run(ada)
    assert violations.violations_count == 0, violations.generate_report()

    ada.get_by_label("Email address").fill("bob@example.com")
    ada.get_by_role("button", name="Send invitation").click()
    expect(ada.get_by_text("We sent an invitation to bob@example.com.")).to_be_visible()
    link = link_in(mailbox.wait_for("bob@example.com", "Ada invited you to Acme"), "/invitations/")

    bob = new_context().new_page()
    bob.goto(link)
    expect(bob.get_by_text("You are invited to join Acme as member.")).to_be_visible()
    bob.get_by_label("Name").fill("Bob")
    bob.get_by_label("Password").fill(PASSWORD)
    bob.get_by_role("button", name="Create account and join").click()
    expect(bob.locator("#my-role")).to_have_text("member")

    ada.reload()
    ada.get_by_label("Role of bob@example.com").select_option("admin")
    ada.get_by_role("button", name="Change role").click()
    expect(ada.get_by_text("The role was changed.")).to_be_visible()

    # Bob is in a second organization too: the app gets the one he chooses.
    beta = make_organization(server.app, make_user("cy@example.com"), "beta", "Beta")
    with server.app.app_context():
        bob_user = find_by_email("bob@example.com")
        assert bob_user is not None
        bob_id = bob_user.id
    add_member(server.app, beta, bob_id)
    client = make_client(name="Planner")
    arrived = app_callback(bob)
    verifier, challenge = pkce()
    bob.goto(authorize_url(client, challenge, scope="openid organization"))
    expect(bob.get_by_role("heading", level=1)).to_have_text(
        "Allow Planner to access your account?"
    )
    bob.get_by_label("Acme").check()
    bob.get_by_role("button", name="Allow").click()

    expect(bob.get_by_role("heading", level=1)).to_have_text("The app")
    code = parse_qs(urlsplit(arrived[-1]).query)["code"][0]
    tokens = requests.post(
        server.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(client.client_id, client.client_secret),
        timeout=5,
    ).json()
    claims = claims_of(server, tokens["id_token"])
    assert (claims["org_slug"], claims["org_name"], claims["org_role"]) == ("acme", "Acme", "admin")
    assert "invitation:create" in claims["org_permissions"]


def test_an_organization_requiring_two_factor_sends_a_member_without_it_to_set_it_up(
    server, new_context, make_user, make_client
):
    ada = make_user("ada@example.com")
    org = make_organization(server.app, ada)
    with server.app.app_context():
        row = db.session.get(Organization, org)
        assert row is not None
        row.require_two_factor = True
        db.session.commit()
    client = make_client(name="Planner")
    page = new_context().new_page()
    sign_in(page, "ada@example.com")

    page.goto(authorize_url(client, pkce()[1], scope="openid organization"))
    page.get_by_role("button", name="Allow").click()

    expect(page).to_have_url(re.compile(r"/account/security/two-factor\?next=/authorize/resume/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    expect(
        page.get_by_text("Acme requires two-factor authentication or a passkey.")
    ).to_be_visible()


def test_the_owner_creates_edits_and_deletes_a_custom_role(server, new_context, make_user):
    make_organization(server.app, make_user("ada@example.com"))
    page = new_context().new_page()
    sign_in(page, "ada@example.com")
    page.goto("/organizations/acme")

    page.get_by_label("Role name").fill("billing")
    page.get_by_role("group", name="Permissions", exact=True).get_by_label("update member").check()
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_text("The role was created.")).to_be_visible()
    billing = page.get_by_role("group", name="Permissions of billing")
    expect(billing.get_by_label("update member")).to_be_checked()
    violations = Axe().run(page)
    assert violations.violations_count == 0, violations.generate_report()

    billing.get_by_label("create invitation").check()
    billing.get_by_label("update member").uncheck()
    page.get_by_role("button", name="Save billing").click()
    expect(page.get_by_text("The role billing was saved.")).to_be_visible()
    billing = page.get_by_role("group", name="Permissions of billing")
    expect(billing.get_by_label("create invitation")).to_be_checked()
    expect(billing.get_by_label("update member")).not_to_be_checked()

    page.get_by_role("button", name="Delete billing").click()
    expect(page.get_by_text("The role was deleted.")).to_be_visible()
    expect(page.get_by_role("group", name="Permissions of billing")).to_have_count(0)

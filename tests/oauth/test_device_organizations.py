"""Organizations in the device flow (RFC 8628): the person who allows a device chooses, on the
approval page, which organization the app may know, as on the consent page of the code flow;
the device's tokens then carry it. An app only for members of other organizations cannot be
allowed, and an organization that requires a second factor sends a member without one to set
it up first. Each refusal says why and stores nothing."""

from __future__ import annotations

import html

import pytest

from idp.db import db
from idp.identity.organization_models import Organization
from idp.oauth import organizations as orgs
from idp.oauth.models import Client
from idp.oauth.organizations import OrganizationConsent
from tests.conftest import Browser
from tests.helpers.organizations import add_member, make_organization
from tests.oauth.issued import claims_of, refresh, userinfo
from tests.oauth.test_device_grant import DEVICE_GRANT, poll, start

SCOPE = "openid organization offline_access"


@pytest.fixture
def cli_client(make_client):
    """A public CLI registered for the device grant (and refresh tokens)."""
    return make_client(
        name="Deploy CLI",
        public=True,
        redirect_uris=[],
        grant_types=[DEVICE_GRANT, "refresh_token"],
    )


def approval_page(browser: Browser, user_code: str) -> str:
    assert browser.sign_in("ada@example.com").status_code == 303
    page = browser.submit("/device", user_code=user_code)
    assert page.status_code == 200, page.text
    return html.unescape(page.text)


def allow(browser: Browser, user_code: str, **fields: str):  # type: ignore[no-untyped-def]
    return browser.submit(
        "/device", action="/device/answer", user_code=user_code, decision="allow", **fields
    )


def test_the_person_chooses_the_organization_and_the_device_gets_its_claims(
    http, browser, make_user, app, cli_client
):
    ada = make_user()
    make_organization(app, ada, slug="acme", name="Acme")
    globex = make_organization(app, make_user("bob@example.com"), slug="globex", name="Globex")
    add_member(app, globex, ada, "member")
    body = start(http, cli_client, scope=SCOPE)

    page = approval_page(browser, body["user_code"])
    assert "Which organization may Deploy CLI know?" in page
    assert "Acme" in page and "Globex" in page
    answered = allow(browser, body["user_code"], organization=str(globex))

    assert answered.status_code == 200, answered.text
    tokens = poll(http, cli_client, body["device_code"]).json()
    expected = {"org_id": str(globex), "org_slug": "globex", "org_role": "member"}
    for claims in (
        claims_of(http, tokens["id_token"]),
        claims_of(http, tokens["access_token"]),
        userinfo(http, tokens["access_token"]).json(),
    ):
        assert {k: claims[k] for k in expected} == expected
    # A refresh keeps the organization (OpenID Connect Core §12.2).
    refreshed = refresh(http, cli_client, tokens["refresh_token"]).json()
    assert claims_of(http, refreshed["id_token"])["org_id"] == str(globex)
    with app.app_context():  # consent is remembered for that organization only
        rows = db.session.query(OrganizationConsent).all()
        assert [row.organization_id for row in rows] == [globex]


def test_allowing_without_choosing_among_several_is_refused(
    http, browser, make_user, app, cli_client, snapshot
):
    ada = make_user()
    make_organization(app, ada, slug="acme")
    make_organization(app, ada, slug="globex")
    body = start(http, cli_client, scope=SCOPE)
    approval_page(browser, body["user_code"])
    before = snapshot()

    refused = allow(browser, body["user_code"])

    assert refused.status_code == 400
    assert "Choose the organization the app may know." in html.unescape(refused.text)
    assert snapshot() == before
    assert poll(http, cli_client, body["device_code"]).json()["error"] == "authorization_pending"


def test_choosing_an_organization_one_is_not_in_is_refused(
    http, browser, make_user, app, cli_client, snapshot
):
    ada = make_user()
    make_organization(app, ada, slug="acme")
    make_organization(app, ada, slug="initech")
    theirs = make_organization(app, make_user("bob@example.com"), slug="globex")
    body = start(http, cli_client, scope=SCOPE)
    approval_page(browser, body["user_code"])
    before = snapshot()

    refused = allow(browser, body["user_code"], organization=str(theirs))

    assert refused.status_code == 400
    assert "Choose the organization the app may know." in html.unescape(refused.text)
    assert snapshot() == before


def test_an_app_for_other_organizations_cannot_be_allowed(
    http, browser, make_user, app, cli_client, snapshot
):
    make_user()
    make_organization(app, make_user("bob@example.com"), slug="globex")
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=cli_client.client_id).one()
        orgs.restrict(row, ["globex"])
        db.session.commit()
    body = start(http, cli_client, scope="openid")
    message = (
        "This app is only for members of certain organizations, and you are not a member of "
        "any of them."
    )

    page = approval_page(browser, body["user_code"])
    assert message in page
    assert 'value="allow"' not in page  # only Deny is offered
    before = snapshot()
    refused = allow(browser, body["user_code"])

    assert refused.status_code == 400
    assert message in html.unescape(refused.text)
    assert snapshot() == before


def test_an_organization_requiring_two_factor_sends_the_member_to_set_it_up(
    http, browser, make_user, app, cli_client, snapshot
):
    ada = make_user()
    org = make_organization(app, ada, slug="acme", name="Acme")
    with app.app_context():
        db.session.get(Organization, org).require_two_factor = True  # type: ignore[union-attr]
        db.session.commit()
    body = start(http, cli_client, scope=SCOPE)
    approval_page(browser, body["user_code"])
    before = snapshot()

    refused = allow(browser, body["user_code"], organization=str(org))

    assert refused.status_code == 400
    page = html.unescape(refused.text)
    assert "Acme requires two-factor authentication or a passkey. Set one up." in page
    assert f"/account/security/two-factor?next=/device?user_code%3D{body['user_code']}" in page
    assert snapshot() == before

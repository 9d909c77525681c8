"""An organization's own pages follow the same rule as its apps
(`idp.identity.organizations.sso_refusal`): a session started through one organization's
single sign-on does not reach another organization's pages, and an organization that
requires its single sign-on is not reached by a password session. The refused person is
sent to sign in again (through the required connection when there is one) and nothing
changes. Its owners keep the SSO settings page, so a broken connection can be repaired."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from idp.db import db
from idp.identity.organization_models import Organization
from idp.identity.users import find_by_email
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import make_corp
from tests.federation.test_sso_isolation_in_apps import corp_member_also_in_beta, require_sso
from tests.helpers.factories import PASSWORD
from tests.helpers.organizations import add_member, make_organization

SIGN_IN_AGAIN = "You signed in through another organization&#39;s single sign-on."


def organization_name(app, slug: str) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.query(Organization).filter_by(slug=slug).one()
        name = row.name
        db.session.remove()
        return name


def test_an_sso_session_does_not_reach_another_organizations_pages(
    corp, app, make_user, browser, snapshot
):
    corp_member_also_in_beta(corp, app, make_user, browser)
    own = browser.get("/organizations/corp")
    assert own.status_code == 200 and "Corp" in own.text

    page = browser.get("/organizations/beta")

    assert page.status_code == 303
    target = urlsplit(page.headers["Location"])
    assert target.path == "/sign-in"
    assert parse_qs(target.query)["next"] == ["/organizations/beta"]
    assert SIGN_IN_AGAIN in browser.get("/organizations").text


def test_an_sso_session_changes_nothing_in_another_organization(
    corp, app, make_user, browser, snapshot
):
    corp_member_also_in_beta(corp, app, make_user, browser)
    before = snapshot()

    # Eve is a member of Beta: leaving is hers to do, but not from this session.
    left = browser.submit("/organizations", "/organizations/beta/leave")
    team = browser.submit("/organizations", "/organizations/beta/active-team", team_id="1")

    for answer in (left, team):
        assert answer.status_code == 303
        assert urlsplit(answer.headers["Location"]).path == "/sign-in"
    assert snapshot() == before
    assert organization_name(app, "beta") == "Beta"


def test_a_password_session_is_sent_to_the_required_sso_and_changes_nothing(
    app, make_user, idp_keys, browser, snapshot
):
    secure = make_corp(app, make_user, idp_keys, slug="secure", domain="secure.example")
    assert require_sso(app, secure, idp_keys, required=True) is True
    add_member(app, secure.organization_id, make_user("ada@example.com"), role="admin")
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303
    before = snapshot()

    page = browser.get("/organizations/secure")
    renamed = browser.submit(
        "/organizations", "/organizations/secure/settings", name="Renamed", slug="secure"
    )
    settings = browser.get("/organizations/secure/sso")

    for answer in (page, renamed, settings):
        assert answer.status_code == 303
        target = urlsplit(answer.headers["Location"])
        assert target.path == f"/sso/{secure.connection_id}/start"
    assert "Secure requires signing in with its single sign-on." in browser.get("/account").text
    assert snapshot() == before
    assert organization_name(app, "secure") == "Secure"


def test_the_owner_keeps_the_sso_settings_to_repair_a_required_connection(
    app, make_user, idp_keys, browser
):
    secure = make_corp(app, make_user, idp_keys, slug="secure", domain="secure.example")
    assert require_sso(app, secure, idp_keys, required=True) is True
    assert browser.sign_in("owner@example.com", PASSWORD).status_code == 303

    assert browser.get("/organizations/secure").status_code == 303
    settings = browser.get("/organizations/secure/sso")

    assert settings.status_code == 200
    assert "Secure IdP" in settings.text


def test_an_owner_signed_in_through_another_organizations_sso_has_no_sso_settings(
    corp, app, make_user, browser
):
    """The repair path is for a session of the organization's own, never for one that
    another organization's single sign-on started, even when the person owns both."""
    assert corp.post(browser, corp.response(corp.start(browser))).status_code == 303
    beta = make_organization(app, make_user("ada@example.com"), slug="beta", name="Beta")
    with app.app_context():
        eve = find_by_email("eve@corp.example")
        assert eve is not None
        eve_id = eve.id
    add_member(app, beta, eve_id, role="owner")

    settings = browser.get("/organizations/beta/sso")

    assert settings.status_code == 303
    assert urlsplit(settings.headers["Location"]).path == "/sign-in"

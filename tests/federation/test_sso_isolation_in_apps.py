"""Apps see the same isolation as the organization pages: a session started through one
organization's single sign-on gives apps that organization only, and an organization that
requires its single sign-on is not given to an app from a session that did not come through
it. The choice is OAuth's (the `organization` scope at consent, a client restricted to
organizations: RFC 6749 §4.1.2.1 access_denied with a description); the rule is
`idp.identity.organizations.sso_refusal`."""

from __future__ import annotations

from urllib.parse import urlsplit

from idp.db import db
from idp.federation.sso import connections
from idp.federation.sso.connections import ConnectionFields
from idp.identity import organizations
from idp.identity.organization_models import Organization
from idp.identity.users import find_by_email
from idp.oauth import organizations as orgs
from idp.oauth.models import Client
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import IDP_ENTITY_ID, IDP_SSO_URL, make_corp
from tests.helpers.factories import PASSWORD
from tests.helpers.organizations import add_member, make_organization
from tests.oauth.conftest import authorize_url, pkce, query_of

SCOPE = "openid organization"


def corp_member_also_in_beta(corp, app, make_user, browser):  # type: ignore[no-untyped-def]
    """Eve signs in through Corp's SSO; she is also a member of Beta, which has no SSO."""
    assert corp.post(browser, corp.response(corp.start(browser))).status_code == 303
    beta = make_organization(app, make_user("ada@example.com"), slug="beta", name="Beta")
    with app.app_context():
        eve = find_by_email("eve@corp.example")
        assert eve is not None
        add_member(app, beta, eve.id)
    return beta


def restrict(app, client, slug: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=client.client_id).one()
        orgs.restrict(row, [slug])


def test_consent_offers_only_the_organization_whose_sso_started_the_session(
    corp, app, make_user, make_client, browser, snapshot
):
    beta = corp_member_also_in_beta(corp, app, make_user, browser)
    client = make_client()
    _, challenge = pkce()
    consent = urlsplit(
        browser.get(authorize_url(client, challenge, scope=SCOPE)).headers["Location"]
    ).path
    page = browser.get(consent).text
    assert "Corp" in page and "Beta" not in page
    before = snapshot()

    chosen_beta = browser.submit(consent, decision="allow", organization=str(beta))

    assert chosen_beta.status_code == 400
    assert "Choose which of your organizations the app may know." in chosen_beta.text
    assert snapshot() == before


def test_an_app_only_for_another_organization_is_refused_to_an_sso_session(
    corp, app, make_user, make_client, browser
):
    corp_member_also_in_beta(corp, app, make_user, browser)
    client = make_client()
    restrict(app, client, "beta")
    _, challenge = pkce()

    refused = browser.get(authorize_url(client, challenge, scope="openid"))

    error = query_of(refused.headers["Location"])
    assert error["error"] == "access_denied"
    assert error["error_description"] == (
        "You signed in through another organization's single sign-on. Sign in again to use Beta."
    )


def require_sso(app, corp, keys, required: bool) -> bool:  # type: ignore[no-untyped-def]
    """The owner turns "required" on or off for the connection; the organization's policy."""
    with app.app_context():
        owner = find_by_email("owner@example.com")
        assert owner is not None
        membership = organizations.member_by_slug(owner, "secure")
        fields = ConnectionFields(
            name="Secure IdP",
            idp_entity_id=IDP_ENTITY_ID,
            sso_url=IDP_SSO_URL,
            certificate=keys.cert_pem,
            required=required,
        )
        connections.update(owner, membership, corp.connection_id, fields)
        organization = db.session.get(Organization, corp.organization_id)
        assert organization is not None
        flag = organization.sso_required
        db.session.remove()
        return flag


def test_a_password_session_gets_no_organization_that_requires_its_sso(
    app, make_user, make_client, idp_keys, browser
):
    secure = make_corp(app, make_user, idp_keys, slug="secure", domain="secure.example")
    assert require_sso(app, secure, idp_keys, required=True) is True
    add_member(app, secure.organization_id, make_user("ada@example.com"))
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303
    client = make_client()
    restrict(app, client, "secure")
    _, challenge = pkce()

    refused = browser.get(authorize_url(client, challenge, scope="openid"))

    error = query_of(refused.headers["Location"])
    assert error["error"] == "access_denied"
    assert error["error_description"] == "Secure requires signing in with its single sign-on."
    assert require_sso(app, secure, idp_keys, required=False) is False
    allowed = browser.get(authorize_url(client, challenge, scope="openid"))
    assert urlsplit(allowed.headers["Location"]).path.startswith("/authorize/consent/")

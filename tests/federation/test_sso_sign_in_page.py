"""The sign-in page and enterprise SSO: home-realm discovery sends an address of a verified
domain to its organization's IdP; an organization that requires SSO refuses password and
email sign-in for its domains (before any password check) and says where to go; an existing
account with a vouched address is linked on its first SSO sign-in; the session started
through organization A's connection does not open organization B."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.identity.users import find_by_email
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import IDP_SSO_URL, make_corp
from tests.helpers.factories import PASSWORD
from tests.helpers.organizations import add_member, make_organization, membership
from tests.test_email_sign_in import ask, code_in, enter, sign_in_mail

REQUIRED = "Your organization signs you in with single sign-on, not a password or an email code."


def test_an_address_of_a_verified_domain_goes_to_its_idp_without_a_password(corp, browser):
    answer = browser.submit("/sign-in", email="Eve@Corp.Example", password="", next="/account")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/sso/{corp.connection_id}/start?next=/account")
    to_idp = browser.get(answer.headers["Location"].removeprefix(browser.base))
    location = to_idp.headers["Location"]
    assert location.startswith(IDP_SSO_URL + "?")
    # SAML bindings §3.4.4.1: SAMLRequest (DEFLATE, base64) and RelayState in the query.
    query = parse_qs(urlsplit(location).query)
    assert corp.peer.request_id(query["SAMLRequest"][0]).startswith("_")
    assert len(query["RelayState"][0]) <= 80


def test_other_addresses_sign_in_with_their_password_as_before(corp, browser, make_user):
    make_user("ada@example.com")
    assert browser.sign_in("ada@example.com").status_code == 303


def test_a_password_is_still_accepted_when_sso_is_not_required(corp, browser, make_user):
    make_user("bob@corp.example")
    assert browser.sign_in("bob@corp.example").status_code == 303


def test_required_sso_refuses_a_password_and_points_to_sso(
    app, make_user, idp_keys, browser, snapshot
):
    make_corp(app, make_user, idp_keys, required=True)
    make_user("bob@corp.example")
    before = snapshot()
    answer = browser.sign_in("bob@corp.example")
    assert answer.status_code == 403
    assert REQUIRED in answer.text
    assert "Continue with single sign-on" in answer.text
    assert snapshot() == before
    assert browser.cookie() is None


def test_required_sso_refuses_an_email_code(app, make_user, idp_keys, browser, mailbox):
    make_corp(app, make_user, idp_keys, required=True)
    make_user("bob@corp.example")
    ask(browser, "bob@corp.example")
    answer = enter(browser, code_in(sign_in_mail(mailbox, "bob@corp.example")))
    assert answer.status_code == 403
    assert REQUIRED in answer.text
    assert browser.cookie() is None


def test_an_existing_account_with_a_vouched_address_is_linked(corp, browser, app, make_user):
    """The verified domain vouches for its addresses: the account is linked, not duplicated."""
    user_id = make_user("bob@corp.example")
    xml = corp.response(corp.start(browser), email="bob@corp.example")
    assert corp.post(browser, xml).status_code == 303
    with app.app_context():
        link = db.session.scalar(select(FederatedIdentity))
        assert link.user_id == user_id
        linked = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "account_linked"))
        assert linked.user_id == user_id and linked.detail["source"] == f"sso:{corp.connection_id}"
        assert membership(user_id, corp.organization_id).role == "member"


def test_a_session_from_one_organizations_sso_does_not_open_another(
    app, make_user, idp_keys, browser
):
    """Isolation: Eve is a member of Corp (through its SSO) and of Beta, which requires its
    own SSO. Her Corp SSO session may make Corp active, never Beta: choosing Beta sends her
    to Beta's sign-in. A password session may not choose Corp either once Corp requires SSO."""
    corp = make_corp(app, make_user, idp_keys)
    beta = make_corp(
        app,
        make_user,
        idp_keys,
        slug="beta",
        domain="beta.example",
        owner="o@beta.example",
        required=True,
    )
    assert corp.post(browser, corp.response(corp.start(browser))).status_code == 303
    with app.app_context():
        eve = find_by_email("eve@corp.example").id
    add_member(app, beta.organization_id, eve)

    token = browser.csrf("/organizations")
    choose = lambda organization_id: browser.http.post(  # noqa: E731
        browser.base + "/organizations/active",
        data={"csrf_token": token, "organization_id": str(organization_id)},
        allow_redirects=False,
    )
    assert choose(corp.organization_id).headers["Location"].endswith("/organizations")
    refused = choose(beta.organization_id)
    assert f"/sso/{beta.connection_id}/start" in refused.headers["Location"]
    with app.app_context():
        from idp.identity.organization_models import ActiveOrganization

        active = list(db.session.scalars(select(ActiveOrganization)))
        assert [a.organization_id for a in active] == [corp.organization_id]


def test_a_password_session_may_not_choose_an_organization_that_requires_sso(
    app, make_user, idp_keys, browser
):
    beta = make_corp(app, make_user, idp_keys, slug="beta", domain="beta.example", required=True)
    ada = make_user("ada@example.com")
    add_member(app, beta.organization_id, ada)
    assert browser.sign_in("ada@example.com", PASSWORD).status_code == 303
    token = browser.csrf("/organizations")
    answer = browser.http.post(
        browser.base + "/organizations/active",
        data={"csrf_token": token, "organization_id": str(beta.organization_id)},
        allow_redirects=False,
    )
    assert f"/sso/{beta.connection_id}/start" in answer.headers["Location"]


def test_an_organization_without_sso_is_refused_to_another_organizations_sso_session(
    corp, app, make_user, browser
):
    assert corp.post(browser, corp.response(corp.start(browser))).status_code == 303
    ada = make_user("ada@example.com")
    other = make_organization(app, ada, slug="plain", name="Plain")
    with app.app_context():
        eve = find_by_email("eve@corp.example").id
    add_member(app, other, eve)
    token = browser.csrf("/organizations")
    answer = browser.http.post(
        browser.base + "/organizations/active",
        data={"csrf_token": token, "organization_id": str(other)},
        allow_redirects=False,
    )
    assert "/sign-in" in answer.headers["Location"]


def test_a_required_connection_refuses_passkey_sign_in_too(app, http, make_user, idp_keys):
    """A passkey Eve registered before Corp required its SSO no longer signs her in: the
    answer sends her to Corp's sign-in, and no session is opened."""
    from idp.federation.sso import connections
    from idp.federation.sso.connections import ConnectionFields
    from idp.identity import organizations
    from idp.identity.models import LoginSession
    from tests.test_passkeys import PasskeyClient

    corp = make_corp(app, make_user, idp_keys)
    make_user("eve@corp.example")
    eve = PasskeyClient(http)
    assert eve.browser.sign_in("eve@corp.example", PASSWORD).status_code == 303
    assert eve.register("Laptop").status_code == 201
    with app.app_context():
        owner = find_by_email("owner@example.com")
        membership = organizations.member_by_slug(owner, "corp")
        fields = ConnectionFields(
            name="Corp IdP",
            idp_entity_id=corp.peer.entity_id,
            sso_url=IDP_SSO_URL,
            certificate=idp_keys.cert_pem,
            required=True,
        )
        connections.update(owner, membership, corp.connection_id, fields)
        sessions_before = db.session.query(LoginSession).count()
        db.session.remove()
    signed_out = PasskeyClient(http, eve.authenticator)

    answer = signed_out.sign_in()

    assert answer.status_code == 403, answer.text
    assert answer.json()["message"].startswith(REQUIRED)
    assert answer.json()["sso"] == f"/sso/{corp.connection_id}/start"
    with app.app_context():
        assert db.session.query(LoginSession).count() == sessions_before


def test_a_second_factor_after_sso_keeps_the_session_bound_to_its_organization(
    corp, app, http, make_user
):
    """Eve has an authenticator app: her Corp SSO sign-in asks for it, and the session it
    then opens is bound to Corp like any SSO session, so it acts for Corp only."""
    from idp.identity.models import LoginSession
    from idp.identity.organization_models import SsoSession
    from tests.conftest import Browser
    from tests.test_two_factor import SECOND_FACTOR, code_at, enable

    make_user("eve@corp.example")
    first = Browser(http)
    assert first.sign_in("eve@corp.example", PASSWORD).status_code == 303
    secret, _ = enable(first)
    browser = Browser(http)
    answer = corp.post(browser, corp.response(corp.start(browser)))
    assert "/sign-in/second-factor" in answer.headers["Location"]

    done = browser.submit(SECOND_FACTOR, method="totp", code=code_at(secret))

    assert done.status_code == 303, done.text
    with app.app_context():
        newest = db.session.scalars(select(LoginSession).order_by(LoginSession.id.desc())).first()
        assert newest is not None and "fed" in newest.amr
        bound = db.session.get(SsoSession, newest.id)
        assert bound is not None
        assert (bound.connection_id, bound.organization_id) == (
            corp.connection_id,
            corp.organization_id,
        )

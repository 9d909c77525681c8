"""Signing in through an organization's SAML connection (Web Browser SSO profile, SAML
profiles §4.1): the AuthnRequest over HTTP-Redirect (bindings §3.4), the signed Response over
HTTP-POST (bindings §3.5), answered by pysaml2; the person is created just in time, joins the
organization with the default role, or the role its groups map to."""

from __future__ import annotations

from lxml import etree
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.federation.sso.models import SsoConnection
from idp.identity.users import find_by_email
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import make_corp
from tests.helpers.organizations import membership

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def events(app, name):
    with app.app_context():
        return [
            r.detail for r in db.session.scalars(select(AuditEvent).where(AuditEvent.event == name))
        ]


def test_a_signed_assertion_creates_a_member_with_the_default_role(corp, browser, app):
    request_id = corp.start(browser)
    answer = corp.post(browser, corp.response(request_id))
    assert answer.status_code == 303, answer.text
    assert browser.cookie() is not None
    with app.app_context():
        user = find_by_email("eve@corp.example")
        assert user is not None and user.password_hash is None
        assert membership(user.id, corp.organization_id).role == "member"
        link = db.session.scalar(select(FederatedIdentity))
        assert link.source == f"sso:{corp.connection_id}" and link.subject == "eve@corp.example"
    signed = events(app, "federated_sign_in")
    assert signed[0]["connection"] == corp.connection_id
    assert events(app, "sign_in")[0]["amr"] == ["fed"]


def test_a_mapped_group_sets_the_organization_role(corp, browser, app):
    request_id = corp.start(browser)
    xml = corp.response(request_id, attributes={"groups": ["staff", "idp-admins"]})
    assert corp.post(browser, xml).status_code == 303
    with app.app_context():
        user = find_by_email("eve@corp.example")
        assert membership(user.id, corp.organization_id).role == "admin"


def test_a_signature_over_the_whole_response_is_accepted(corp, browser, app):
    """SAML core §5.2 / profiles §4.1.3.5: the Response may be signed instead of the assertion."""
    xml = corp.response(corp.start(browser), sign_response=True, sign_assertion=False)
    assert corp.post(browser, xml).status_code == 303
    with app.app_context():
        assert find_by_email("eve@corp.example") is not None


def test_a_signed_response_changed_after_signing_is_refused(corp, browser, app, snapshot):
    xml = corp.response(corp.start(browser), sign_response=True, sign_assertion=False)
    forged = xml.replace("eve@corp.example</", "boss@corp.example</")
    assert forged != xml
    before = snapshot()
    answer = corp.post(browser, forged)
    assert answer.status_code == 403
    assert "signature is not valid" in answer.get_data(as_text=True)
    assert snapshot() == before
    assert [e["reason"] for e in events(app, "federated_sign_in_failed")] == ["signature"]


def test_sign_in_started_at_the_idp_when_the_connection_allows_it(
    app, make_user, idp_keys, browser
):
    """Profiles §4.1.5: unsolicited responses, accepted only when the connection says so."""
    corp = make_corp(app, make_user, idp_keys, allow_idp_initiated=True)
    assert corp.post(browser, corp.response(None)).status_code == 303
    assert browser.cookie() is not None


def test_the_sp_metadata_names_our_entity_id_and_acs(corp, browser):
    """SAML metadata §2.4.4: SPSSODescriptor with an HTTP-POST AssertionConsumerService."""
    answer = browser.get(f"/sso/saml/{corp.connection_id}/metadata")
    root = etree.fromstring(answer.content)
    assert root.get("entityID") == corp.sp_entity_id
    acs = root.find(f".//{{{MD}}}AssertionConsumerService")
    assert acs.get("Location") == corp.acs_url
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    assert root.find(f"{{{MD}}}SPSSODescriptor").get("WantAssertionsSigned") == "true"


def test_a_disabled_connection_refuses_to_start(corp, browser, app):
    with app.app_context():
        db.session.get(SsoConnection, corp.connection_id).enabled = False
        db.session.commit()
    answer = browser.get(f"/sso/{corp.connection_id}/start")
    assert answer.status_code == 404
    assert "This single sign-on is not available." in answer.text


def test_a_later_sign_in_applies_the_mapped_role_but_an_owner_stays_owner(
    app, make_user, idp_keys, browser
):
    corp = make_corp(app, make_user, idp_keys, owner="boss@corp.example")
    assert corp.post(browser, corp.response(corp.start(browser))).status_code == 303
    admins = {"groups": ["idp-admins"]}
    assert (
        corp.post(browser, corp.response(corp.start(browser), attributes=admins)).status_code == 303
    )
    boss = corp.response(corp.start(browser), email="boss@corp.example", attributes=admins)
    assert corp.post(browser, boss).status_code == 303
    with app.app_context():
        eve = find_by_email("eve@corp.example")
        assert membership(eve.id, corp.organization_id).role == "admin"
        owner = find_by_email("boss@corp.example")
        assert membership(owner.id, corp.organization_id).role == "owner"
    changed = events(app, "member_role_changed")
    assert [c["role"] for c in changed] == ["admin"]

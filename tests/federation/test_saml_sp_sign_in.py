"""Signing in through an organization's SAML connection (Web Browser SSO profile, SAML
profiles §4.1): the AuthnRequest over HTTP-Redirect (bindings §3.4), the signed Response over
HTTP-POST (bindings §3.5), answered by pysaml2; the person is created just in time, joins the
organization with the default role, or the role its groups map to."""

from __future__ import annotations

from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.identity.users import find_by_email
from tests.helpers.organizations import membership


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

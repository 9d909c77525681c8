"""What every page answers on the wire, whatever the page: `HEAD` as `GET`, and no Referer from
a page whose URL carries a secret.

- RFC 9110 §9.3.2: "The HEAD method is identical to GET except that the server MUST NOT send
  content in the response"; the status and header fields are those GET would send.
- OWASP Forgot Password Cheat Sheet ("Add the Referrer-Policy tag with the no-referrer value
  [...] to avoid referrer leakage"), W3C Referrer Policy §3.1: a page opened from a link that
  carries a secret (sign-in by email, password reset, email verification and change) or a
  device's user code (RFC 8628 §3.3.1) sends `Referrer-Policy: no-referrer`.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.db import db
from idp.identity.models import User
from tests.conftest import Browser, link_in

# Every GET route, with a value for each of its parts (a secret or id that matches nothing
# still renders a page: an error page is a page too).
GET_PAGES = {
    "/": "home",
    "/healthz": "health.healthz",
    "/readyz": "health.readyz",
    "/sign-in": "auth.sign_in",
    "/sign-up": "auth.sign_up",
    "/confirm": "auth.confirm",
    "/account": "account.index",
    "/account/delete": "account.delete",
    "/account/security": "security.index",
    "/verify-email": "verification.pending",
    "/verify-email/no-such-secret": "verification.verify_page",
    "/account/email/confirm/no-such-secret": "verification.confirm_change_page",
    "/reset-password": "recovery.request_reset",
    "/reset-password/no-such-secret": "recovery.reset_page",
    "/sign-in/email": "email_sign_in.ask",
    "/sign-in/email/code": "email_sign_in.enter_code",
    "/sign-in/email/no-such-secret": "email_sign_in.open_link",
    "/sign-in/second-factor": "two_factor.second_factor",
    "/account/security/two-factor": "two_factor.setup",
    "/dev/outbox": "outbox.index",
    "/dev/outbox/none.eml": "outbox.show",
    "/device?user_code=BCDF-GHJK": "device.enter",
    "/authorize?client_id=none": "oauth.authorize",
    "/authorize/resume/none": "oauth.resume",
    "/authorize/consent/none": "oauth.consent_page",
    "/userinfo": "oauth.userinfo",
    "/jwks.json": "oauth.jwks",
    "/.well-known/openid-configuration": "oauth.discovery",
    "/logout": "logout.end_session",
    "/register/none": "registration.configure",
    "/admin": "admin.home",
    "/admin/people": "admin_people.index",
    "/admin/people/1": "admin_people.person",
    "/admin/keys": "admin_keys.index",
    "/admin/organizations": "admin_organizations.index",
    "/admin/organizations/1": "admin_organizations.show",
    "/admin/api-keys": "admin_api_keys.index",
    "/admin/audit": "admin_audit.index",
    "/admin/audit.csv": "admin_audit.export",
    "/admin/resources": "admin.resources",
    "/admin/resources/1/delete": "admin.delete",
    "/admin/resources/1": "admin.edit",
    "/admin/clients": "admin.clients",
    "/admin/clients/1": "admin.edit_client",
    "/admin/clients/1/delete": "admin.delete_client_view",
    "/account/api-keys": "api_keys.index",
    "/api/openapi.json": "api.openapi",
    "/api/clients": "api.list_clients_api",
    "/api/clients/none": "api.get_client_api",
    "/api/resources": "api.list_resources_api",
    "/api/resources/1": "api.get_resource_api",
    "/api/signing-keys": "api.list_signing_keys",
    "/api/api-keys": "api.list_api_keys",
    "/api/people": "api.list_people",
    "/api/people/1": "api.get_person",
    "/api/organizations": "api.list_organizations",
    "/api/organizations/1": "api.get_organization",
    "/api/organizations/1/members": "api.list_members",
    "/api/organizations/1/invitations": "api.list_invitations",
    "/api/organizations/1/roles": "api.list_roles",
    "/api/organizations/1/teams": "api.list_teams",
    "/api/organizations/1/teams/1/members": "api.list_team_members",
    "/api/audit-events": "api.list_audit_events",
    "/api/audit-events.csv": "api.export_audit_events",
    "/static/css/main.css": "static",
    "/organizations": "organizations.index",
    "/organizations/none": "organizations.show",
    "/invitations/no-such-secret": "invitations.show",
    "/organizations/none/sso": "organization_sso.show",
    "/admin/sso-domains": "admin.sso_domains",
    "/sso/1/start": "sso.start",
    "/sso/saml/1/metadata": "sso.metadata",
    "/sso/oidc/1/callback": "sso.oidc_callback",
    "/saml/metadata": "saml_idp.metadata",
    "/saml/sso": "saml_idp.single_sign_on",
    "/saml/sso/resume/none": "saml_idp.resume",
    "/saml/sso/initiate?sp=none": "saml_idp.initiate",
    "/saml/slo": "saml_idp.single_logout",
    "/saml/logout/continue/none": "saml_idp.logout_walk",
    "/admin/saml-sps": "admin_saml.index",
    "/admin/saml-sps/1": "admin_saml.edit",
    "/admin/saml-sps/1/delete": "admin_saml.delete",
    "/sign-in/with/none": "upstream.start",
    "/sign-in/with/none/callback": "upstream.callback",
    "/sign-in/with/none/continue": "upstream.prove",
    "/sign-in/with/none/link": "upstream.link",
    "/account/linked-accounts": "linked_accounts.index",
    "/admin/providers": "admin_providers.index",
    "/admin/providers/1": "admin_providers.edit",
    "/admin/providers/1/delete": "admin_providers.delete",
}
SAME = ("Content-Type", "Location", "Referrer-Policy", "Cache-Control", "WWW-Authenticate")


def test_the_list_holds_every_get_route(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}

    assert endpoints == set(GET_PAGES.values())


@pytest.fixture
def admin(http, make_user, app) -> Browser:
    """Signed in as an administrator, just now (every page is open to them)."""
    make_user("ada@example.com")
    with app.app_context():
        db.session.scalars(select(User)).one().is_admin = True
        db.session.commit()
    browser = Browser(http)
    assert browser.sign_in("ada@example.com").status_code == 303
    return browser


@pytest.mark.parametrize("path", list(GET_PAGES))
def test_head_answers_as_get_without_a_body(admin, path):
    head = admin.http.request("HEAD", admin.base + path, allow_redirects=False)
    get = admin.get(path)

    assert (head.status_code, head.content) == (get.status_code, b"")
    assert {h: head.headers.get(h) for h in SAME} == {h: get.headers.get(h) for h in SAME}


@pytest.mark.parametrize(
    "path",
    [
        "/reset-password/no-such-secret",
        "/verify-email/no-such-secret",
        "/account/email/confirm/no-such-secret",
        "/sign-in/email/no-such-secret",
        "/device?user_code=BCDF-GHJK",
    ],
)
def test_a_page_with_a_secret_in_its_url_sends_no_referer(admin, path):
    assert admin.get(path).headers["Referrer-Policy"] == "no-referrer"


def test_the_magic_link_page_sends_no_referer(browser, make_user, mailbox):
    make_user("ada@example.com")
    browser.submit("/sign-in/email", email="ada@example.com")
    link = link_in(mailbox.wait_for("ada@example.com", "Sign in to"), "/sign-in/email/")

    page = browser.get(link.removeprefix(browser.base))

    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_other_pages_keep_same_origin(browser):
    """Our own form posts carry a Referer (Flask-WTF's check over HTTPS)."""
    assert browser.get("/sign-in").headers["Referrer-Policy"] == "same-origin"

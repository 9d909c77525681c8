"""An organization's admin sets up SSO from the organization's pages: a SAML connection from
the IdP's metadata (pysaml2's), a claimed domain verified by a DNS TXT record (a real DNS
server on 127.0.0.1) or by an operator on the console; two organizations verifying the same
domain at once leave one winner."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from idp.federation.sso.models import SsoConnection, SsoDomain
from idp.identity import users
from tests.federation.saml_idp_peer import SamlIdpPeer
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import IDP_ENTITY_ID, IDP_SSO_URL
from tests.helpers.browser import Browser
from tests.helpers.factories import PASSWORD
from tests.helpers.organizations import add_member, make_organization


def owner_of(app, browser, slug="corp", email="owner@example.com") -> int:
    user_id = users_create(app, email)
    organization_id = make_organization(app, user_id, slug=slug, name=slug.title())
    assert browser.sign_in(email).status_code == 303
    return organization_id


def users_create(app, email, *, admin=False) -> int:
    with app.app_context():
        return users.create_user(email, "Someone", PASSWORD, is_admin=admin).id


def add_connection(browser, slug, certificate, name="Corp IdP") -> object:
    return browser.submit(
        f"/organizations/{slug}/sso",
        f"/organizations/{slug}/sso/connections",
        kind="saml",
        name=name,
        idp_entity_id=IDP_ENTITY_ID,
        sso_url=IDP_SSO_URL,
        certificate=certificate,
        default_role="member",
        enabled="on",
    )


def add_from_metadata(browser, metadata: str, slug: str = "corp") -> object:
    """Add a SAML connection from pasted IdP metadata, as the SSO page's form does."""
    return browser.submit(
        f"/organizations/{slug}/sso",
        f"/organizations/{slug}/sso/connections",
        kind="saml",
        name="Corp IdP",
        metadata_xml=metadata,
        default_role="member",
        enabled="on",
    )


def claim(browser, slug, domain, connection_id) -> str:
    """Claim `domain`; the token the page asks to publish."""
    answer = browser.submit(
        f"/organizations/{slug}/sso",
        f"/organizations/{slug}/sso/domains",
        domain=domain,
        connection_id=str(connection_id),
    )
    assert answer.status_code == 303, answer.text
    page = browser.get(f"/organizations/{slug}/sso").text
    match = re.search(rf"_idp-challenge\.{re.escape(domain)} TXT \"([^\"]+)\"", page)
    assert match, page
    return match.group(1)


def only(app, model):
    with app.app_context():
        rows = list(db.session.scalars(select(model)))
        db.session.expunge_all()
        return rows


def test_connection_from_pasted_metadata_shows_the_urls_to_give_the_idp(app, browser, idp_keys):
    owner_of(app, browser)
    with app.app_context():
        from idp.federation.saml.metadata import sp_metadata

        metadata = SamlIdpPeer(
            IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, sp_metadata("x", "http://x/acs")
        ).metadata()
    answer = add_from_metadata(browser, metadata)
    assert answer.status_code == 303, answer.text
    [connection] = only(app, SsoConnection)
    assert connection.config["idp_entity_id"] == IDP_ENTITY_ID
    assert connection.config["sso_url"] == IDP_SSO_URL
    page = browser.get("/organizations/corp/sso").text
    assert f"/sso/saml/{connection.id}/acs" in page
    assert f"/sso/saml/{connection.id}/metadata" in page
    metadata_page = browser.get(f"/sso/saml/{connection.id}/metadata")
    assert metadata_page.headers["Content-Type"].startswith("application/samlmetadata+xml")
    assert f"/sso/saml/{connection.id}/acs".encode() in metadata_page.content


def test_a_bad_certificate_is_refused_and_nothing_stored(app, browser, snapshot):
    owner_of(app, browser)
    before = snapshot()
    answer = add_connection(browser, "corp", "not a certificate")
    assert answer.status_code == 400
    assert "not a valid X.509 certificate" in answer.text
    assert snapshot() == before


def test_a_member_without_the_permission_cannot_manage_sso(app, browser, snapshot):
    owner = users_create(app, "owner@example.com")
    organization_id = make_organization(app, owner, slug="corp")
    member = users_create(app, "mo@example.com")
    add_member(app, organization_id, member)
    assert browser.sign_in("mo@example.com").status_code == 303
    assert browser.get("/organizations/corp/sso").status_code == 403
    before = snapshot()
    token = browser.csrf("/organizations")
    answer = browser.http.post(
        browser.base + "/organizations/corp/sso/connections",
        data={"csrf_token": token, "kind": "saml", "name": "Mine"},
    )
    assert answer.status_code == 403
    assert "does not allow you to update organizations" in answer.text
    assert snapshot() == before


def test_domain_verified_by_a_dns_txt_record(app, browser, idp_keys, dns_server, snapshot):
    owner_of(app, browser)
    assert add_connection(browser, "corp", idp_keys.cert_pem).status_code == 303
    [connection] = only(app, SsoConnection)
    token = claim(browser, "corp", "corp.example", connection.id)
    [domain] = only(app, SsoDomain)

    before = snapshot()
    verify = f"/organizations/corp/sso/domains/{domain.id}/verify"
    answer = browser.submit("/organizations/corp/sso", verify)
    assert answer.status_code == 400
    assert "No TXT record _idp-challenge.corp.example holding the token" in answer.text
    assert snapshot() == before

    dns_server.records["_idp-challenge.corp.example"] = ["something else", token]
    assert browser.submit("/organizations/corp/sso", verify).status_code == 303
    [domain] = only(app, SsoDomain)
    assert domain.verified_domain == "corp.example" and domain.method == "dns"
    with app.app_context():
        events = [e.event for e in db.session.scalars(select(AuditEvent))]
    assert {"sso_connection_created", "sso_domain_claimed", "sso_domain_verified"} <= set(events)


def test_operator_approves_a_claimed_domain(app, browser, idp_keys):
    owner_of(app, browser)
    add_connection(browser, "corp", idp_keys.cert_pem)
    [connection] = only(app, SsoConnection)
    claim(browser, "corp", "corp.example", connection.id)
    [domain] = only(app, SsoDomain)
    assert browser.get("/admin/sso-domains").status_code == 403

    users_create(app, "root@example.com", admin=True)
    operator = Browser(app)
    assert operator.sign_in("root@example.com").status_code == 303
    assert "corp.example" in operator.get("/admin/sso-domains").text
    approve = f"/admin/sso-domains/{domain.id}/approve"
    assert operator.submit("/admin/sso-domains", approve).status_code == 303
    [domain] = only(app, SsoDomain)
    assert domain.verified_domain == "corp.example" and domain.method == "operator"


def test_a_domain_verified_elsewhere_cannot_be_claimed(app, browser, idp_keys, snapshot):
    first = Browser(app)
    owner_of(app, first, slug="alpha", email="a@example.com")
    add_connection(first, "alpha", idp_keys.cert_pem)
    [alpha] = only(app, SsoConnection)
    token = claim(first, "alpha", "corp.example", alpha.id)
    with app.app_context():
        from idp.federation.sso import domains

        domains.approve(users.find_by_email("a@example.com"), only(app, SsoDomain)[0].id)
    assert token
    owner_of(app, browser, slug="beta", email="b@example.com")
    add_connection(browser, "beta", idp_keys.cert_pem)
    beta = next(c for c in only(app, SsoConnection) if c.id != alpha.id)
    before = snapshot()
    answer = browser.submit(
        "/organizations/beta/sso",
        "/organizations/beta/sso/domains",
        domain="corp.example",
        connection_id=str(beta.id),
    )
    assert answer.status_code == 400
    assert "corp.example is already verified by another organization." in answer.text
    assert snapshot() == before


def test_two_organizations_verifying_one_domain_at_once_leave_one_winner(
    server, idp_keys, dns_server
):
    """Each organization published its token; both press Verify together. The unique key on
    verified domains settles it: one is verified, the other told why (no 500)."""
    app = server.app
    browsers, ids = [], []
    for slug in ("alpha", "beta"):
        browser = Browser(server)
        owner_of(app, browser, slug=slug, email=f"{slug}@example.com")
        add_connection(browser, slug, idp_keys.cert_pem)
        connection = max(c.id for c in only(app, SsoConnection))
        token = claim(browser, slug, "corp.example", connection)
        dns_server.records.setdefault("_idp-challenge.corp.example", []).append(token)
        domain = max(d.id for d in only(app, SsoDomain))
        browsers.append(browser)
        ids.append((slug, domain, browser.csrf(f"/organizations/{slug}/sso")))
    barrier = threading.Barrier(2)

    def verify(i: int) -> requests.Response:
        slug, domain, csrf = ids[i]
        session = requests.Session()
        session.cookies.update(browsers[i].http.cookies)
        barrier.wait()
        url = f"{server.url}/organizations/{slug}/sso/domains/{domain}/verify"
        return session.post(url, data={"csrf_token": csrf}, allow_redirects=False)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(verify, range(2)))
    assert sorted(a.status_code for a in answers) == [303, 400]
    lost = next(a for a in answers if a.status_code == 400)
    assert "corp.example is already verified by another organization." in lost.text
    verified = [d for d in only(app, SsoDomain) if d.verified_at is not None]
    assert len(verified) == 1


def test_an_oidc_connection_keeps_its_client_secret_sealed(app, browser, snapshot):
    owner_of(app, browser)
    answer = browser.submit(
        "/organizations/corp/sso",
        "/organizations/corp/sso/connections",
        kind="oidc",
        name="Corp OIDC",
        issuer="https://login.corp.example",
        client_id="idp-corp",
        client_secret="s3cret-value-of-the-client",
        default_role="member",
    )
    assert answer.status_code == 303, answer.text
    assert "s3cret-value-of-the-client" not in repr(snapshot())
    [connection] = only(app, SsoConnection)
    with app.app_context():
        from idp.federation.sso.connections import client_secret

        assert client_secret(connection) == "s3cret-value-of-the-client"


def test_an_owner_role_is_never_given_by_sso(app, browser, idp_keys, snapshot):
    owner_of(app, browser)
    before = snapshot()
    answer = browser.submit(
        "/organizations/corp/sso",
        "/organizations/corp/sso/connections",
        kind="saml",
        name="Corp IdP",
        idp_entity_id=IDP_ENTITY_ID,
        sso_url=IDP_SSO_URL,
        certificate=idp_keys.cert_pem,
        default_role="member",
        role_attribute="groups",
        role_map="it = owner",
    )
    assert answer.status_code == 400
    assert "“owner” is not a role SSO may give here" in answer.text
    assert snapshot() == before


@pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
def test_a_connection_from_the_idps_metadata_url(app, browser, idp_keys, snapshot):
    """SAML metadata §4.1 (publication by URL): fetched once, with the SSRF-checked fetcher."""
    from idp.federation.saml.metadata import sp_metadata

    metadata = SamlIdpPeer(
        IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, sp_metadata("x", "http://x/acs")
    ).metadata()
    owner_of(app, browser)
    with serving(metadata.encode()) as url:
        answer = browser.submit(
            "/organizations/corp/sso",
            "/organizations/corp/sso/connections",
            kind="saml",
            name="Corp IdP",
            metadata_url=url + "/metadata.xml",
            default_role="member",
        )
    assert answer.status_code == 303, answer.text
    [connection] = only(app, SsoConnection)
    assert connection.config["certificates"][0].split() == idp_keys.cert_pem.split()

    before = snapshot()
    answer = browser.submit(
        "/organizations/corp/sso",
        "/organizations/corp/sso/connections",
        kind="saml",
        name="Gone IdP",
        metadata_url="http://127.0.0.1:9/metadata.xml",
        default_role="member",
    )
    assert answer.status_code == 400
    assert "The metadata at http://127.0.0.1:9/metadata.xml could not be fetched." in answer.text
    assert snapshot() == before


@contextmanager
def serving(body: bytes) -> Iterator[str]:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/samlmetadata+xml")])
        return [body]

    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass

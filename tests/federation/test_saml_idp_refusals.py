"""AuthnRequests we refuse (SAML core §3.2.2.2, §3.4.1; bindings §3.4.4.1; profiles §4.1.4.1).

Before the issuer, its signature and its consumer URL are trusted, the person gets an error
page and nothing is sent anywhere; after, the error goes as a Response to the registered
consumer URL only. Every refusal is audited and stores nothing else."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from tests.federation.saml_idp_fixtures import path_of, posted
from tests.support import audit_events


def last_refusal(app) -> dict:
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert row is not None and row.event == "saml_request_refused"
        return {"subject": row.subject, **row.detail}


def assert_error_page(answer, message: str) -> None:
    assert answer.status_code == 400
    assert message in answer.text
    assert "Location" not in answer.headers
    assert "form-post" not in answer.text  # nothing posts anywhere


def signed_post(sp, transform=lambda xml: xml) -> dict[str, str]:
    signed = sp.signed_authn_request(transform)
    return {"SAMLRequest": base64.b64encode(signed).decode()}


def test_unknown_sp_gets_an_error_page(app, browser, make_user, make_sp, snapshot):
    """Profiles §4.1.4.1: the IdP must know the requester; an unknown one is answered only
    with a page to the person."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp(register_it=False)
    before = snapshot()

    answer = browser.get(path_of(sp.login_url()))

    assert_error_page(answer, "This service provider is not registered here.")
    assert last_refusal(app)["reason"] == "unknown_sp"
    assert snapshot() == before


def test_unregistered_consumer_url_gets_an_error_page_never_a_redirect(
    app, browser, make_user, make_sp, snapshot
):
    """Core §3.4.1: AssertionConsumerServiceURL must be one the SP registered (profiles
    §4.1.4.1); otherwise no Response leaves, not even an error one."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()
    sp.settings["sp"]["assertionConsumerService"]["url"] = "http://evil.test/acs"
    before = snapshot()

    answer = browser.get(path_of(sp.login_url()))

    assert_error_page(answer, "not registered for this SP")
    assert "evil.test" not in answer.text
    assert last_refusal(app) == {"subject": sp.entity_id, "reason": "acs_not_registered"}
    assert snapshot() == before


def test_bad_query_signature_is_refused(app, browser, make_user, make_sp, snapshot):
    """Bindings §3.4.4.1: the signature covers SAMLRequest, RelayState and SigAlg as sent; a
    changed RelayState no longer verifies."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()
    url = sp.login_url(return_to="/fine")
    before = snapshot()

    answer = browser.get(path_of(url.replace("RelayState=%2Ffine", "RelayState=%2Fevil")))

    assert_error_page(answer, "signature does not verify")
    assert last_refusal(app)["reason"] == "bad_signature"
    assert snapshot() == before


def test_bad_xml_signature_is_refused(app, browser, make_user, make_sp, snapshot):
    """Core §5.4 over the POST binding (bindings §3.5.4): a signed request changed after
    signing is refused."""
    sp = make_sp()
    fields = signed_post(sp)
    xml = base64.b64decode(fields["SAMLRequest"]).replace(b'ForceAuthn="false"', b"")
    xml = xml.replace(b"<samlp:AuthnRequest ", b'<samlp:AuthnRequest ForceAuthn="true" ', 1)
    before = snapshot()

    answer = browser.http.post(
        "/saml/sso", data={"SAMLRequest": base64.b64encode(xml).decode()}, allow_redirects=False
    )

    assert_error_page(answer, "signature does not verify")
    assert last_refusal(app)["reason"] == "bad_signature"
    assert snapshot() == before


def test_unsigned_request_refused_when_the_sp_signs(app, browser, make_sp, snapshot):
    """Metadata §2.4.4: AuthnRequestsSigned="true" promises signed requests; an unsigned one
    is not from it."""
    sp = make_sp()
    sp.settings["security"]["authnRequestsSigned"] = False
    before = snapshot()

    answer = browser.get(path_of(sp.login_url()))

    assert_error_page(answer, "The request must be signed.")
    assert last_refusal(app)["reason"] == "unsigned"
    assert snapshot() == before


def test_stale_request_is_answered_request_denied(app, browser, make_sp, snapshot):
    """Core §3.2.2.2 RequestDenied for a request whose IssueInstant is long past (replay
    window); sent to the registered consumer URL, the request being authentic."""
    sp = make_sp()
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def age(xml: str) -> str:
        start = xml.index('IssueInstant="') + len('IssueInstant="')
        return xml[:start] + old + xml[xml.index('"', start) :]

    before = snapshot()
    answer = browser.http.post("/saml/sso", data=signed_post(sp, age), allow_redirects=False)

    action, fields = posted(answer.text)
    assert action == sp.acs
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "status:Requester" in xml and "status:RequestDenied" in xml
    assert last_refusal(app)["reason"] == "stale"
    assert snapshot() == before


def test_replayed_request_is_refused(app, browser, make_user, make_sp):
    """Profiles §4.1.4.5 spirit: one request, one answer; the same ID again is denied."""
    make_user(email="ada@example.com")
    browser.sign_in("ada@example.com")
    sp = make_sp()
    url = path_of(sp.login_url())
    assert sp.accept(posted(browser.get(url).text)[1])["errors"] == []

    fields = posted(browser.get(url).text)[1]

    assert "status:RequestDenied" in base64.b64decode(fields["SAMLResponse"]).decode()
    assert last_refusal(app)["reason"] == "replayed"


def test_doctype_is_refused(app, browser, make_sp, snapshot):
    """XML with a DOCTYPE (entity expansion, XXE) never reaches a SAML check."""
    make_sp()
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" '
        b'Version="2.0">&a;</samlp:AuthnRequest>'
    )
    before = snapshot()

    answer = browser.http.post(
        "/saml/sso", data={"SAMLRequest": base64.b64encode(bomb).decode()}, allow_redirects=False
    )

    assert_error_page(answer, "DOCTYPE")
    assert last_refusal(app)["reason"] == "malformed"
    assert snapshot() == before


def test_not_a_saml_message_gets_an_error_page(app, browser, snapshot):
    """Bindings §3.4.4.1: SAMLRequest is base64 of DEFLATE; anything else is refused."""
    before = snapshot()
    answer = browser.get("/saml/sso?" + urlencode({"SAMLRequest": "not base64!"}))
    assert_error_page(answer, "not valid base64")
    assert snapshot() == before
    assert audit_events(app) == ["saml_request_refused"]
    assert last_refusal(app) == {"subject": None, "reason": "malformed"}

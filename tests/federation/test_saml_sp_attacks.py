"""Responses an attacker shapes, each refused at our ACS with the reason in the audit log and
nothing stored (no account, membership, link, session or used-assertion row).

Every sample starts from a real Response signed by pysaml2 (xmlsec1) and is changed with lxml:
SAML core §5.4 (the signature and what it covers), §2.5.1.4 (Audience), §2.5.1.2 and profiles
§4.1.4.2 (validity window, Recipient, InResponseTo), §3.2.2.2 (Status), profiles §4.1.4.5
(one use of an assertion), and the XML signature wrapping shapes of Somorovsky et al.
"""

from __future__ import annotations

import copy
from datetime import datetime

import pytest
from lxml import etree
from sqlalchemy import select

from idp.core.audit import AuditEvent
from idp.db import db
from tests.federation.saml_idp_peer import SamlIdpPeer
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import IDP_ENTITY_ID, IDP_SSO_URL, make_corp

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS}


def reasons(app) -> list[str]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.event == "federated_sign_in_failed")
        return [row.detail["reason"] for row in db.session.scalars(query)]


def refused(corp, browser, snapshot, xml, reason: str, message: str) -> None:
    before = snapshot()
    answer = corp.post(browser, xml)
    assert answer.status_code == 403
    assert message in answer.get_data(as_text=True)
    assert reasons(corp.app) == [reason]
    assert snapshot() == before
    assert browser.cookie() is None


def tree(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode())


def text(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root))


def forged_copy(signed: etree._Element, email: str) -> etree._Element:
    """The signed assertion, unsigned, with another ID and subject."""
    forged = copy.deepcopy(signed)
    forged.remove(forged.find("ds:Signature", NS))
    forged.set("ID", "_forged")
    forged.find("saml:Subject/saml:NameID", NS).text = email
    return forged


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_a_second_unsigned_assertion_beside_the_signed_one(corp, browser, snapshot, before):
    """Wrapping, first shape: a forged assertion next to the signed one."""
    root = tree(corp.response(corp.start(browser)))
    signed = root.find("saml:Assertion", NS)
    position = root.index(signed) + (0 if before else 1)
    root.insert(position, forged_copy(signed, "admin@corp.example"))
    refused(corp, browser, snapshot, text(root), "assertion_count", "one assertion, not 2")


@pytest.mark.parametrize("wrapper", ["extensions", "object"])
def test_the_signed_assertion_moved_into_a_wrapper_with_a_forged_one_in_its_place(
    corp, browser, snapshot, wrapper
):
    """Wrapping, second shape: the signed assertion hidden in samlp:Extensions or in the
    forged assertion's ds:Object, so the signature still verifies by ID."""
    root = tree(corp.response(corp.start(browser)))
    signed = root.find("saml:Assertion", NS)
    forged = forged_copy(signed, "admin@corp.example")
    root.replace(signed, forged)
    if wrapper == "extensions":
        extensions = etree.Element(f"{{{SAMLP}}}Extensions")
        extensions.append(signed)
        root.insert(1, extensions)
    else:
        signature = copy.deepcopy(signed.find("ds:Signature", NS))
        forged.insert(1, signature)
        holder = etree.SubElement(signature, f"{{{DS}}}Object")
        holder.append(signed)
    refused(corp, browser, snapshot, text(root), "assertion_count", "one assertion, not 2")


def test_a_doctype_with_an_external_entity(corp, browser, snapshot):
    """XXE: no DTD is ever read, no entity expanded; the message is refused outright."""
    xml = corp.response(corp.start(browser)).replace('<?xml version="1.0"?>', "")
    evil = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + xml
    evil = evil.replace("eve@corp.example</", "&xxe;</", 1)
    refused(corp, browser, snapshot, evil, "doctype", "DOCTYPE")


def test_a_comment_inside_the_name_id(corp, browser, snapshot):
    """`admin@corp.example<!---->.evil.example`: the signature (exclusive C14N without
    comments) still verifies; a reader taking the first text node would see another person."""
    root = tree(corp.response(corp.start(browser), email="admin@corp.example.evil.example"))
    name_id = root.find(".//saml:NameID", NS)
    name_id.text = "admin@corp.example"
    comment = etree.Comment("")
    comment.tail = ".evil.example"
    name_id.append(comment)
    refused(corp, browser, snapshot, text(root), "nameid_comment", "NameID contains a comment")


def test_an_assertion_for_another_audience(corp, browser, snapshot):
    xml = corp.response(corp.start(browser), audience="https://other-sp.example/metadata")
    refused(corp, browser, snapshot, xml, "audience", "another audience")


def test_an_expired_assertion(corp, browser, snapshot, clock):
    xml = corp.response(corp.start(browser))
    ends = tree(xml).find(".//saml:Conditions", NS).get("NotOnOrAfter")
    clock.advance_past(datetime.fromisoformat(ends.replace("Z", "+00:00")), by=91)
    refused(corp, browser, snapshot, xml, "expired", "has expired")


def test_an_answer_to_a_request_this_browser_never_sent(corp, browser, snapshot):
    corp.start(browser)
    xml = corp.response("_a-request-we-never-sent")
    refused(corp, browser, snapshot, xml, "in_response_to", "answers no request of this browser")


def test_an_answer_to_a_request_of_another_browser(corp, browser, snapshot, app):
    from tests.helpers.browser import Browser

    other = Browser(app)
    xml = corp.response(corp.start(other))
    refused(corp, browser, snapshot, xml, "in_response_to", "answers no request of this browser")


def test_an_unsolicited_response_while_idp_initiated_is_off(corp, browser, snapshot):
    refused(corp, browser, snapshot, corp.response(None), "unsolicited", "started at the identity")


def test_an_assertion_signed_by_another_key(corp, browser, snapshot, other_keys):
    impostor = SamlIdpPeer(IDP_ENTITY_ID, IDP_SSO_URL, other_keys, corp.peer_metadata)
    xml = impostor.response(
        in_response_to=corp.start(browser),
        acs_url=corp.acs_url,
        audience=corp.sp_entity_id,
        email="eve@corp.example",
    )
    refused(corp, browser, snapshot, xml, "signature", "signature is not valid")


def test_an_assertion_signed_with_sha1(corp, browser, snapshot):
    xml = corp.response(
        corp.start(browser),
        sign_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        digest_alg="http://www.w3.org/2000/09/xmldsig#sha1",
    )
    refused(corp, browser, snapshot, xml, "signature", "signature is not valid")


def test_an_unsigned_assertion(corp, browser, snapshot):
    xml = corp.response(corp.start(browser), sign_assertion=False)
    refused(corp, browser, snapshot, xml, "unsigned", "Neither the response nor the assertion")


def test_a_status_other_than_success(corp, browser, snapshot):
    """core §3.2.2.2; the assertion-only signature leaves Status unsigned: still refused."""
    root = tree(corp.response(corp.start(browser)))
    code = root.find("samlp:Status/samlp:StatusCode", NS)
    code.set("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
    etree.SubElement(
        code, f"{{{SAMLP}}}StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
    )
    refused(corp, browser, snapshot, text(root), "status", "status Responder, AuthnFailed")


def test_an_email_outside_the_verified_domains(corp, browser, snapshot):
    xml = corp.response(corp.start(browser), email="eve@elsewhere.example")
    refused(corp, browser, snapshot, xml, "email_domain", "outside the organization")


def test_a_replayed_assertion(app, make_user, idp_keys, browser, snapshot):
    """Profiles §4.1.4.5: an assertion is used once, even where unsolicited ones are allowed."""
    corp = make_corp(app, make_user, idp_keys, allow_idp_initiated=True)
    xml = corp.response(None)
    assert corp.post(browser, xml).status_code == 303
    from tests.helpers.browser import Browser

    again = Browser(app)
    refused(corp, again, snapshot, xml, "replay", "already used")

"""Our SAML service provider signs its AuthnRequests when the connection says so: the
HTTP-Redirect query `SAMLRequest=...&RelayState=...&SigAlg=...` signed with RSA-SHA256 and
the connection's SP key (SAML bindings §3.4.4.1), our SP metadata then saying
AuthnRequestsSigned="true" with that key's certificate for signing (metadata §2.4.4,
§2.4.1.1). The option is on by itself when the IdP's metadata says WantAuthnRequestsSigned
(metadata §2.4.3), and is set or cleared on the organization's SSO page. The IdP that checks
the signatures is pysaml2, configured to require them, never our own code."""

from __future__ import annotations

import re
import warnings
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from lxml import etree
from sqlalchemy import select

from idp.db import db
from idp.federation.saml.metadata import read_idp_metadata, sp_metadata
from idp.federation.sso import domains, flow
from idp.federation.sso.models import SsoConnection
from idp.identity import users
from idp.identity.organizations import member_by_slug
from idp.identity.users import find_by_email
from tests.federation.saml_idp_peer import SamlIdpPeer
from tests.federation.sso_fixtures import *  # noqa: F403 (the SSO fixtures)
from tests.federation.sso_fixtures import IDP_ENTITY_ID, IDP_SSO_URL, Corp, make_corp
from tests.federation.test_sso_domains import add_from_metadata
from tests.helpers.browser import Browser
from tests.helpers.factories import PASSWORD
from tests.helpers.organizations import make_organization, membership

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from saml2.response import IncorrectlySigned

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"md": MD, "ds": DS}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def redirect_to_idp(corp: Corp, browser) -> str:
    answer = browser.get(f"/sso/{corp.connection_id}/start")
    assert answer.status_code == 303, answer.text
    return answer.headers["Location"]


def params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def descriptor(metadata: bytes) -> etree._Element:
    return etree.fromstring(metadata).find("md:SPSSODescriptor", NS)


def certificate_for(metadata: bytes, use: str) -> str | None:
    text = descriptor(metadata).findtext(
        f"md:KeyDescriptor[@use='{use}']//ds:X509Certificate", namespaces=NS
    )
    return "".join(text.split()) if text else None


def bare(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if "-----" not in line)


def owner_signed_in(app, browser) -> None:
    with app.app_context():
        owner = users.create_user("owner@example.com", "Owner", PASSWORD).id
    make_organization(app, owner, slug="corp", name="Corp")
    assert browser.sign_in("owner@example.com").status_code == 303


def the_connection(app) -> SsoConnection:
    with app.app_context():
        [row] = db.session.scalars(select(SsoConnection))
        db.session.expunge(row)
        return row


def sp_certificate(corp: Corp) -> str:
    with corp.app.app_context():
        return str(db.session.get(SsoConnection, corp.connection_id).config["sp_certificate"])


def test_a_signed_request_verifies_at_an_idp_that_requires_it_and_the_sign_in_completes(
    app, make_user, idp_keys, browser
):
    """Bindings §3.4.4.1: SigAlg rsa-sha256 and the Signature over the query as sent; pysaml2,
    wanting signed requests, verifies it with the signing certificate of our SP metadata."""
    corp = make_corp(app, make_user, idp_keys, sign_requests=True, idp_wants_signed_requests=True)
    url = redirect_to_idp(corp, browser)
    sent = params(url)
    assert sent["SigAlg"] == RSA_SHA256 and sent["Signature"]
    # The signature is the last parameter, over the query before it as sent (§3.4.4.1).
    assert list(sent) == ["SAMLRequest", "RelayState", "SigAlg", "Signature"]
    request_id = corp.peer.request_id_in(url)

    answer = corp.post(browser, corp.response(request_id))
    assert answer.status_code == 303, answer.text
    assert browser.cookie() is not None
    with app.app_context():
        user = find_by_email("eve@corp.example")
        assert membership(user.id, corp.organization_id).role == "member"


def test_a_query_changed_after_signing_is_refused_by_the_idp(app, make_user, idp_keys, browser):
    """Bindings §3.4.4.1: the signature covers SAMLRequest, RelayState and SigAlg, so a
    RelayState changed on the way, another request under this signature, or the signature
    taken off, fails at the IdP."""
    corp = make_corp(app, make_user, idp_keys, sign_requests=True, idp_wants_signed_requests=True)
    url = redirect_to_idp(corp, browser)
    relay = params(url)["RelayState"]
    changed = url.replace(f"RelayState={quote_plus(relay)}", "RelayState=somewhere-else")
    assert changed != url
    with pytest.raises(IncorrectlySigned):
        corp.peer.request_id_in(changed)
    other = quote_plus(params(redirect_to_idp(corp, browser))["SAMLRequest"])
    swapped = re.sub(r"SAMLRequest=[^&]*", lambda _: f"SAMLRequest={other}", url)
    assert swapped != url
    with pytest.raises(IncorrectlySigned):
        corp.peer.request_id_in(swapped)
    unsigned = re.sub(r"&SigAlg=[^&]*&Signature=[^&]*", "", url)
    assert "Signature" not in unsigned
    with pytest.raises(IncorrectlySigned):
        corp.peer.request_id_in(unsigned)
    assert corp.peer.request_id_in(url)  # the query as we sent it verifies


def test_an_idp_given_metadata_without_the_signing_certificate_cannot_verify(
    app, make_user, idp_keys, browser
):
    """Metadata §2.4.1.1: the IdP verifies with a KeyDescriptor for signing; the encryption
    one alone (our metadata before the option was on) is not used for it."""
    corp = make_corp(app, make_user, idp_keys, sign_requests=True)
    older = sp_metadata(corp.sp_entity_id, corp.acs_url, sp_certificate(corp))
    assert certificate_for(older, "signing") is None
    peer = SamlIdpPeer(IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, older, want_signed_requests=True)
    with pytest.raises(IncorrectlySigned):
        peer.request_id_in(redirect_to_idp(corp, browser))


def test_without_the_option_no_signature_is_sent(app, make_user, idp_keys, browser):
    """Bindings §3.4.4.1 makes signing optional: off, the query has no SigAlg nor Signature,
    our metadata says AuthnRequestsSigned="false" with no signing key, and an IdP that
    requires signed requests refuses ours."""
    corp = make_corp(app, make_user, idp_keys)
    url = redirect_to_idp(corp, browser)
    assert set(params(url)) == {"SAMLRequest", "RelayState"}
    assert corp.peer.request_id_in(url)
    assert descriptor(corp.peer_metadata).get("AuthnRequestsSigned") == "false"
    assert certificate_for(corp.peer_metadata, "signing") is None
    assert certificate_for(corp.peer_metadata, "encryption") is not None
    strict = SamlIdpPeer(
        IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, corp.peer_metadata, want_signed_requests=True
    )
    with pytest.raises(IncorrectlySigned):
        strict.request_id_in(url)


def test_idp_metadata_wanting_signed_requests_turns_the_option_on(app, browser, idp_keys):
    """Metadata §2.4.3: WantAuthnRequestsSigned="true" on the IDPSSODescriptor (pysaml2's own
    metadata) sets the option without the box ticked; our SP metadata then says
    AuthnRequestsSigned="true" with the connection's certificate for signing (§2.4.4), and an
    IdP that imports it verifies our requests: the whole sign-in completes."""
    wanting = SamlIdpPeer(
        IDP_ENTITY_ID,
        IDP_SSO_URL,
        idp_keys,
        sp_metadata("x", "http://x/acs"),
        want_signed_requests=True,
    ).metadata()
    assert 'WantAuthnRequestsSigned="true"' in wanting
    owner_signed_in(app, browser)
    answer = add_from_metadata(browser, wanting)
    assert answer.status_code == 303, answer.text
    connection = the_connection(app)
    assert connection.config["sign_requests"] is True
    page = browser.get("/organizations/corp/sso").text
    assert f'id="signreq-{connection.id}" name="sign_requests" type="checkbox" checked' in page
    assert 'data-sign-requests="on">signed' in page

    served = browser.get(f"/sso/saml/{connection.id}/metadata").content
    assert descriptor(served).get("AuthnRequestsSigned") == "true"
    mine = bare(connection.config["sp_certificate"])
    assert certificate_for(served, "signing") == mine
    assert certificate_for(served, "encryption") == mine

    with app.app_context():
        owner = find_by_email("owner@example.com")
        claimed = domains.claim(owner, member_by_slug(owner, "corp"), "corp.example", connection.id)
        domains.approve(owner, claimed.id)
        acs, entity = flow.acs_url(connection.id), flow.sp_entity_id(connection.id)
    peer = SamlIdpPeer(IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, served, want_signed_requests=True)
    corp = Corp(app, connection.organization_id, connection.id, acs, entity, peer, served)
    signed_in = Browser(app)  # the person who signs in
    xml = corp.response(peer.request_id_in(redirect_to_idp(corp, signed_in)))
    answered = corp.post(signed_in, xml)
    assert answered.status_code == 303, answered.text
    with app.app_context():
        assert find_by_email("eve@corp.example") is not None


def test_idp_metadata_without_it_leaves_the_option_off(app, browser, idp_keys):
    """Metadata §2.4.3: WantAuthnRequestsSigned is false when absent."""
    plain = SamlIdpPeer(IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, sp_metadata("x", "http://x/acs"))
    metadata = plain.metadata()
    assert read_idp_metadata(metadata.encode()).want_authn_requests_signed is False
    owner_signed_in(app, browser)
    answer = browser.submit(
        "/organizations/corp/sso",
        "/organizations/corp/sso/connections",
        kind="saml",
        name="Corp IdP",
        metadata_xml=metadata,
        default_role="member",
    )
    assert answer.status_code == 303, answer.text
    assert the_connection(app).config["sign_requests"] is False
    assert 'data-sign-requests="off">not signed' in browser.get("/organizations/corp/sso").text


@pytest.mark.parametrize(
    ("value", "wanted"), [("1", True), (" true ", True), ("false", False), ("0", False)]
)
def test_want_authn_requests_signed_is_read_as_an_xs_boolean(idp_keys, value, wanted):
    """Metadata §2.4.3: the attribute is an xs:boolean ("true", "1", "false", "0")."""
    plain = SamlIdpPeer(IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, sp_metadata("x", "http://x/acs"))
    metadata = re.sub(
        r'WantAuthnRequestsSigned="[^"]*"', f'WantAuthnRequestsSigned="{value}"', plain.metadata()
    )
    assert f'WantAuthnRequestsSigned="{value}"' in metadata
    assert read_idp_metadata(metadata.encode()).want_authn_requests_signed is wanted


def test_the_option_is_set_and_cleared_on_the_sso_page(app, browser, idp_keys):
    """The SAML forms have the box; ticked, the connection signs (its card and its metadata
    say so), unticked on its form it stops; its SP key is the same throughout."""
    owner_signed_in(app, browser)
    page = browser.get("/organizations/corp/sso").text
    assert 'id="signreq-new"' in page
    assert "Sign authentication requests (the IdP asks for it)" in page
    assert 'id="signreq-oidc-new"' not in page
    fields = {
        "name": "Corp IdP",
        "idp_entity_id": IDP_ENTITY_ID,
        "sso_url": IDP_SSO_URL,
        "certificate": idp_keys.cert_pem,
        "default_role": "member",
        "enabled": "on",
    }
    base = "/organizations/corp/sso"
    created = browser.submit(base, f"{base}/connections", kind="saml", sign_requests="on", **fields)
    assert created.status_code == 303, created.text
    connection = the_connection(app)
    key = connection.config["sp_certificate"]
    assert connection.config["sign_requests"] is True
    page = browser.get(base).text
    assert f'id="signreq-{connection.id}" name="sign_requests" type="checkbox" checked' in page
    assert 'data-sign-requests="on">signed' in page
    served = browser.get(f"/sso/saml/{connection.id}/metadata").content
    assert descriptor(served).get("AuthnRequestsSigned") == "true"

    cleared = browser.submit(base, f"{base}/connections/{connection.id}", **fields)
    assert cleared.status_code == 303, cleared.text
    connection = the_connection(app)
    assert connection.config["sign_requests"] is False
    assert connection.config["sp_certificate"] == key
    page = browser.get(base).text
    assert f'id="signreq-{connection.id}" name="sign_requests" type="checkbox" >' in page
    assert 'data-sign-requests="off">not signed' in page
    served = browser.get(f"/sso/saml/{connection.id}/metadata").content
    assert descriptor(served).get("AuthnRequestsSigned") == "false"
    assert certificate_for(served, "signing") is None
    assert "Signature" not in params(browser.get(f"/sso/{connection.id}/start").headers["Location"])

    again = browser.submit(
        base, f"{base}/connections/{connection.id}", sign_requests="on", **fields
    )
    assert again.status_code == 303, again.text
    connection = the_connection(app)
    assert connection.config["sign_requests"] is True and connection.config["sp_certificate"] == key
    assert "Signature" in params(browser.get(f"/sso/{connection.id}/start").headers["Location"])

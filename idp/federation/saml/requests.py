"""The AuthnRequest we send an IdP (SAML core §3.4.1), over HTTP-Redirect (bindings §3.4).

The request is unsigned (bindings §3.4.4.1 makes signing optional); what protects the answer
is that its `InResponseTo` must name a request this browser started (`response.py` and the
caller's one-time request store).
"""

from __future__ import annotations

import base64
import secrets
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from lxml import etree

from idp.federation.saml.xml import SAML, SAMLP, tag

POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
MAX_RELAY_STATE = 80  # bindings §3.4.3: RelayState MUST NOT exceed 80 bytes


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    url: str  # where the browser goes: the IdP's SSO URL with SAMLRequest and RelayState


def new_request_id() -> str:
    # core §1.3.4: an xs:ID, so it must not start with a digit.
    return "_" + secrets.token_hex(20)


def authn_request(
    *,
    sp_entity_id: str,
    acs_url: str,
    sso_url: str,
    relay_state: str,
    force_authn: bool = False,
    now: datetime | None = None,
) -> AuthnRequest:
    """The request, deflated and base64-encoded into the IdP's SSO URL (bindings §3.4.4.1).
    `force_authn`: the IdP must authenticate the person afresh (core §3.4.1)."""
    request_id = new_request_id()
    instant = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    root = etree.Element(
        tag(SAMLP, "AuthnRequest"),
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=instant,
        Destination=sso_url,
        AssertionConsumerServiceURL=acs_url,
        ProtocolBinding=POST_BINDING,
    )
    if force_authn:
        root.set("ForceAuthn", "true")
    etree.SubElement(root, tag(SAML, "Issuer")).text = sp_entity_id
    etree.SubElement(root, tag(SAMLP, "NameIDPolicy"), AllowCreate="true")
    xml = etree.tostring(root)
    deflated = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw DEFLATE (RFC 1951)
    encoded = base64.b64encode(deflated.compress(xml) + deflated.flush()).decode("ascii")
    query = urlencode({"SAMLRequest": encoded, "RelayState": relay_state[:MAX_RELAY_STATE]})
    joiner = "&" if "?" in sso_url else "?"
    return AuthnRequest(request_id, sso_url + joiner + query)

"""The AuthnRequest we send an IdP (SAML core §3.4.1), over HTTP-Redirect (bindings §3.4).

Bindings §3.4.4.1 makes signing optional: the request is signed (RSA-SHA256 over the query,
`redirect.py`) when the connection asks for it, because its IdP wants signed requests
(metadata §2.4.3 `WantAuthnRequestsSigned`). Either way, what protects the answer is that its
`InResponseTo` must name a request this browser started (`response.py` and the caller's
one-time request store).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from idp.federation.saml.redirect import to_redirect
from idp.federation.saml.xml import SAML, SAMLP, tag
from idp.federation.xml_libraries import etree

POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
MAX_RELAY_STATE = 80  # bindings §3.4.3: RelayState MUST NOT exceed 80 bytes


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    url: str  # where the browser goes: the IdP's SSO URL with SAMLRequest and RelayState
    # (and SigAlg and Signature when signed)


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
    signing_key: bytes | None = None,
    now: datetime | None = None,
) -> AuthnRequest:
    """The request, deflated and base64-encoded into the IdP's SSO URL (bindings §3.4.4.1).
    `force_authn`: the IdP must authenticate the person afresh (core §3.4.1). `signing_key`:
    our SP's RSA private key (PEM) to sign the query with; unsigned without it."""
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
    relay = relay_state[:MAX_RELAY_STATE]
    return AuthnRequest(request_id, to_redirect(sso_url, "SAMLRequest", xml, relay, signing_key))

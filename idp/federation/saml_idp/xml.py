"""Reading what service providers send, and the SAML names the identity provider uses.

Every document from outside (SP metadata, AuthnRequest, LogoutRequest, LogoutResponse) is
parsed by the one hardened parser (`idp.federation.saml.xml`): no entities resolved, no DTD
loaded, no network, and any DOCTYPE refused outright (SAML core §1.3: SAML documents have none;
XML bombs and XXE need one). Comments are dropped, so an element's text is read whole.
"""

from __future__ import annotations

from idp.errors import InvalidInput
from idp.federation.saml import xml as saml_xml
from idp.federation.xml_libraries import etree

SAMLP, SAML, MD, DS, NS = saml_xml.SAMLP, saml_xml.SAML, saml_xml.MD, saml_xml.DS, saml_xml.NS
MAX_BYTES = 256 * 1024

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAME_ID_FORMATS = {"email": EMAIL, "persistent": PERSISTENT}


class BadXml(InvalidInput):
    code = "bad_xml"


_MESSAGES = {
    "doctype": "XML with a DOCTYPE is refused.",
    "malformed": "The XML document is not well-formed.",
    "too_large": "The XML document is too large.",
}


def parse(data: bytes) -> etree._Element:
    """The root element of `data`; BadXml for anything but one plain XML document."""
    if len(data) > MAX_BYTES:
        raise BadXml("The XML document is too large.")
    try:
        return saml_xml.parse(data, comments=False)
    except saml_xml.XmlRefused as refused:
        raise BadXml(_MESSAGES.get(refused.reason, refused.message)) from None


def text(element: etree._Element, path: str) -> str | None:
    """The stripped text of the first element at `path`, None if missing or empty."""
    found = element.find(path, NS)
    value = (found.text or "").strip() if found is not None else ""
    return value or None

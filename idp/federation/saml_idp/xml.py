"""The hardened XML parser for what other parties send, and the SAML namespaces.

Every document from outside (SP metadata, AuthnRequest, LogoutRequest, LogoutResponse) is
parsed here: no entities resolved, no DTD loaded, no network, and any DOCTYPE refused outright
(SAML core §1.3: SAML documents have none; XML bombs and XXE need one).
"""

from __future__ import annotations

from lxml import etree

from idp.errors import InvalidInput

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}
MAX_BYTES = 256 * 1024

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAME_ID_FORMATS = {"email": EMAIL, "persistent": PERSISTENT}

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    remove_comments=True,
    remove_pis=True,
    huge_tree=False,
)


class BadXml(InvalidInput):
    code = "bad_xml"


def parse(data: bytes) -> etree._Element:
    """The root element of `data`; BadXml for anything but one plain XML document."""
    if len(data) > MAX_BYTES:
        raise BadXml("The XML document is too large.")
    try:
        tree = etree.fromstring(data, parser=_PARSER).getroottree()
    except etree.XMLSyntaxError as error:
        raise BadXml("The XML document is not well-formed.", detail=str(error)) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BadXml("XML with a DOCTYPE is refused.")
    return tree.getroot()


def text(element: etree._Element, path: str) -> str | None:
    """The stripped text of the first element at `path`, None if missing or empty."""
    found = element.find(path, NS)
    value = (found.text or "").strip() if found is not None else ""
    return value or None

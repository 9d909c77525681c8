"""The only way SAML XML is parsed, as a service provider and as an identity provider: lxml
with entities, DTDs and the network off.

A document with a DOCTYPE is refused outright (no entity of any kind, internal or external, is
ever expanded), and huge trees are refused. Comments are kept by default, so that a NameID
split by one (`admin@corp.example<!---->.evil.example`) is seen and refused rather than
silently joined or truncated by whoever reads its text; a reader that joins text itself may
have them dropped (`comments=False`).
"""

from __future__ import annotations

from idp.federation.xml_libraries import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}
MAX_BYTES = 512 * 1024


class XmlRefused(Exception):
    """The bytes are not XML we read; `reason` is a short code for the audit log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _parser(comments: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=not comments,
        remove_pis=not comments,
    )


def parse(data: bytes, *, comments: bool = True) -> etree._Element:
    """The document's root element; `XmlRefused` for a DOCTYPE, malformed or oversized XML."""
    if len(data) > MAX_BYTES:
        raise XmlRefused("too_large", "The SAML message is too large.")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise XmlRefused("doctype", "The SAML message contains a DOCTYPE, which is not allowed.")
    try:
        tree = etree.fromstring(data, parser=_parser(comments)).getroottree()
    except (etree.XMLSyntaxError, ValueError):
        raise XmlRefused("malformed", "The SAML message is not well-formed XML.") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlRefused("doctype", "The SAML message contains a DOCTYPE, which is not allowed.")
    return tree.getroot()


def tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"

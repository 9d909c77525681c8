"""Our IdP metadata (SAML metadata §2.3, §2.4.3): what an SP needs to trust us.

The entityID is the issuer URL followed by /saml/metadata, where the document is served. It
lists the active certificate and, during a rotation, the next one (§2.4.1.1: several
KeyDescriptors, any of which may sign), so SPs that refresh metadata trust the new key before
it signs.
"""

from __future__ import annotations

import base64

from idp.federation.saml_idp.xml import DS, EMAIL, MD, PERSISTENT, POST, REDIRECT
from idp.federation.xml_libraries import etree

PATHS = {"metadata": "/saml/metadata", "sso": "/saml/sso", "slo": "/saml/slo"}
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"


def entity_id(issuer: str) -> str:
    return issuer.rstrip("/") + PATHS["metadata"]


def document(issuer: str, certificates: list[bytes]) -> bytes:
    """The metadata XML of the IdP at `issuer`, with these DER certificates."""
    base = issuer.rstrip("/")
    root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS})
    root.set("entityID", entity_id(issuer))
    idp = etree.SubElement(root, f"{{{MD}}}IDPSSODescriptor")
    idp.set("protocolSupportEnumeration", PROTOCOL)
    idp.set("WantAuthnRequestsSigned", "false")
    for certificate in certificates:
        _key_descriptor(idp, certificate)
    for binding in (REDIRECT, POST):
        etree.SubElement(
            idp, f"{{{MD}}}SingleLogoutService", Binding=binding, Location=base + PATHS["slo"]
        )
    for name_format in (EMAIL, PERSISTENT):
        etree.SubElement(idp, f"{{{MD}}}NameIDFormat").text = name_format
    for binding in (REDIRECT, POST):
        etree.SubElement(
            idp, f"{{{MD}}}SingleSignOnService", Binding=binding, Location=base + PATHS["sso"]
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _key_descriptor(parent: etree._Element, certificate: bytes) -> None:
    descriptor = etree.SubElement(parent, f"{{{MD}}}KeyDescriptor", use="signing")
    info = etree.SubElement(descriptor, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = base64.b64encode(certificate).decode()

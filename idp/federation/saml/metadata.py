"""SAML metadata (SAML metadata §2.4): ours per connection, and an IdP's, imported.

Our SP metadata names the entity id, the ACS (HTTP-POST), that we want signed assertions, and
the certificate an IdP may encrypt assertions to; when the connection signs its
AuthnRequests, it says so (`AuthnRequestsSigned`) and names the same certificate for signing.
An IdP's metadata (pasted, or fetched by the caller) gives its entity id, its SSO URL for
HTTP-Redirect, its signing certificates and whether it wants signed AuthnRequests
(`WantAuthnRequestsSigned`); it is read with the hardened parser and nothing else in it is used.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from idp.federation.saml.requests import POST_BINDING, REDIRECT_BINDING
from idp.federation.saml.xml import DS, MD, NS, XmlRefused, parse, tag
from idp.federation.xml_libraries import etree

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
ENCRYPTION_METHODS = (
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
)


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    certificates: list[str]
    want_authn_requests_signed: bool = False  # metadata §2.4.3


class MetadataRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sp_metadata(
    entity_id: str,
    acs_url: str,
    certificate: str | None = None,
    *,
    signs_requests: bool = False,
) -> bytes:
    """metadata §2.4.4. `certificate`: the connection's SP certificate, for encryption; with
    `signs_requests` also the one our AuthnRequests are signed with (AuthnRequestsSigned,
    a KeyDescriptor use="signing")."""
    signing = bool(signs_requests and certificate)
    root = etree.Element(tag(MD, "EntityDescriptor"), nsmap={"md": MD}, entityID=entity_id)
    sp = etree.SubElement(
        root,
        tag(MD, "SPSSODescriptor"),
        AuthnRequestsSigned="true" if signing else "false",
        WantAssertionsSigned="true",
        protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol",
    )
    if certificate and signing:
        _key_descriptor(sp, certificate, "signing")
    if certificate:
        _key_descriptor(sp, certificate, "encryption")
    etree.SubElement(
        sp,
        tag(MD, "AssertionConsumerService"),
        Binding=POST_BINDING,
        Location=acs_url,
        index="0",
        isDefault="true",
    )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _key_descriptor(sp: etree._Element, certificate: str, use: str) -> None:
    """metadata §2.4.1.1: the certificate IdPs encrypt assertions to (and what we decrypt),
    or verify our signed requests with."""
    key = etree.SubElement(sp, tag(MD, "KeyDescriptor"), use=use)
    info = etree.SubElement(key, tag(DS, "KeyInfo"), nsmap={"ds": DS})
    data = etree.SubElement(info, tag(DS, "X509Data"))
    body = "".join(line for line in certificate.strip().splitlines() if "-----" not in line)
    etree.SubElement(data, tag(DS, "X509Certificate")).text = body
    if use == "encryption":
        for algorithm in ENCRYPTION_METHODS:
            etree.SubElement(key, tag(MD, "EncryptionMethod"), Algorithm=algorithm)


def read_idp_metadata(data: bytes) -> IdpMetadata:
    """The IdP's entity id, HTTP-Redirect SSO URL, signing certificates, and whether it
    wants signed AuthnRequests."""
    try:
        root = parse(data)
    except XmlRefused as error:
        raise MetadataRefused(f"The metadata is refused: {error.message}") from None
    entity = (
        root if root.tag == tag(MD, "EntityDescriptor") else root.find(".//md:EntityDescriptor", NS)
    )
    descriptor = entity.find("md:IDPSSODescriptor", NS) if entity is not None else None
    if entity is None or descriptor is None:
        raise MetadataRefused("The metadata describes no SAML identity provider.")
    sso = descriptor.find(f"md:SingleSignOnService[@Binding='{REDIRECT_BINDING}']", NS)
    if sso is None or not sso.get("Location"):
        raise MetadataRefused("The identity provider offers no HTTP-Redirect sign-in URL.")
    certificates = [
        to_pem(text)
        for key in descriptor.findall("md:KeyDescriptor", NS)
        if key.get("use") in (None, "signing")
        for text in key.xpath(".//ds:X509Certificate/text()", namespaces={"ds": DS})
    ]
    if not certificates:
        raise MetadataRefused("The metadata names no signing certificate.")
    return IdpMetadata(
        entity.get("entityID") or "",
        sso.get("Location") or "",
        certificates,
        want_authn_requests_signed=_xs_true(descriptor.get("WantAuthnRequestsSigned")),
    )


def _xs_true(value: str | None) -> bool:
    """An xs:boolean attribute: "true" or "1" (XML Schema 2 §3.2.2), spaces collapsed."""
    return (value or "").strip() in ("true", "1")


def to_pem(certificate: str) -> str:
    """A certificate as PEM, whether given as PEM or as the bare base64 of metadata."""
    text = certificate.strip()
    if text.startswith(PEM_BEGIN):
        return text + "\n"
    body = "".join(text.split())
    return f"{PEM_BEGIN}\n" + "\n".join(textwrap.wrap(body, 64)) + "\n-----END CERTIFICATE-----\n"

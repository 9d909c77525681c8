"""A service provider's metadata (SAML metadata §2.3, §2.4.4): read from XML or fetched.

Kept: the entityID, the HTTP-POST assertion consumer services (the only binding our responses
use, SAML bindings §3.5), the first single logout service (Redirect or POST), the signing
certificates and AuthnRequestsSigned / WantAssertionsSigned. The document goes through the
hardened parser (xml.py); a URL is fetched with a timeout and a size limit.
"""

from __future__ import annotations

import base64
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from idp.federation.saml_idp.xml import MAX_BYTES, MD, NS, POST, REDIRECT, BadXml, parse
from idp.federation.xml_libraries import etree

FETCH_TIMEOUT = 10


@dataclass(frozen=True)
class SpDescription:
    entity_id: str
    acs_endpoints: list[dict[str, Any]]
    slo_url: str | None = None
    slo_binding: str | None = None
    certificates: list[str] = field(default_factory=list)
    authn_requests_signed: bool = False
    want_assertions_signed: bool = True
    name: str | None = None


def read(data: bytes) -> SpDescription:
    """The SP described by a metadata document; BadXml with the reason otherwise."""
    root = parse(data)
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        found = root.find("md:EntityDescriptor", NS)
        if found is None:
            raise BadXml("The metadata lists no entity.")
        root = found
    if root.tag != f"{{{MD}}}EntityDescriptor":
        raise BadXml("This is not SAML metadata (no md:EntityDescriptor).")
    entity_id = (root.get("entityID") or "").strip()
    sp = root.find("md:SPSSODescriptor", NS)
    if not entity_id or sp is None:
        raise BadXml("The metadata describes no service provider (md:SPSSODescriptor).")
    return SpDescription(
        entity_id=entity_id,
        acs_endpoints=_consumers(sp),
        **_logout(sp),
        certificates=_certificates(sp),
        authn_requests_signed=sp.get("AuthnRequestsSigned") in ("true", "1"),
        want_assertions_signed=sp.get("WantAssertionsSigned") not in ("false", "0"),
        name=_display_name(root),
    )


def fetch(url: str) -> bytes:
    """The document at an http(s) URL, at most MAX_BYTES."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise BadXml("The metadata URL must be http or https.")
    request = urllib.request.Request(url, headers={"Accept": "application/samlmetadata+xml"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as answer:  # noqa: S310
            body: bytes = answer.read(MAX_BYTES + 1)
    except OSError as error:
        raise BadXml("The metadata could not be fetched.", detail=str(error)) from None
    return body


def _consumers(sp: etree._Element) -> list[dict[str, Any]]:
    found = []
    for position, element in enumerate(sp.findall("md:AssertionConsumerService", NS)):
        location = (element.get("Location") or "").strip()
        if element.get("Binding") != POST or not _is_url(location):
            continue
        index = element.get("index", str(position))
        found.append(
            {
                "binding": POST,
                "location": location,
                "index": int(index) if index.isdigit() else position,
                "default": element.get("isDefault") in ("true", "1"),
            }
        )
    if not found:
        raise BadXml("The metadata has no HTTP-POST AssertionConsumerService.")
    return found


def _logout(sp: etree._Element) -> dict[str, str | None]:
    for binding in (REDIRECT, POST):
        for element in sp.findall("md:SingleLogoutService", NS):
            location = (element.get("Location") or "").strip()
            if element.get("Binding") == binding and _is_url(location):
                return {"slo_url": location, "slo_binding": binding}
    return {"slo_url": None, "slo_binding": None}


def _certificates(sp: etree._Element) -> list[str]:
    pems = []
    for descriptor in sp.findall("md:KeyDescriptor", NS):
        if descriptor.get("use") not in (None, "signing"):
            continue
        for node in descriptor.iterfind(".//ds:X509Certificate", NS):
            pems.append(_pem("".join((node.text or "").split())))
    return list(dict.fromkeys(pems))


def _pem(b64: str) -> str:
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(b64, validate=True))
    except ValueError:
        raise BadXml("A certificate in the metadata cannot be read.") from None
    return certificate.public_bytes(Encoding.PEM).decode()


def _display_name(root: etree._Element) -> str | None:
    for path in (".//mdui:DisplayName", "md:Organization/md:OrganizationDisplayName"):
        found = root.find(path, {**NS, "mdui": "urn:oasis:names:tc:SAML:metadata:ui"})
        if found is not None and (found.text or "").strip():
            return (found.text or "").strip()[:200]
    return None


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)

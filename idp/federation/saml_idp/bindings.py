"""SAML bindings over HTTP: HTTP-Redirect (bindings §3.4) and HTTP-POST (§3.5).

Redirect: the message is DEFLATE-compressed (RFC 1951, no zlib header), base64-encoded and
URL-encoded; a signature covers the query string `SAMLRequest=...&RelayState=...&SigAlg=...`
exactly as sent (§3.4.4.1), so the verifier reads the raw query, not decoded values.
POST: the message is base64-encoded in a form field, its XML signature inside.
Sending over Redirect (signed) is `idp.federation.saml.redirect`, shared with our SAML SP.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass
from urllib.parse import unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from idp.federation.saml.redirect import RSA_SHA256
from idp.federation.saml_idp.xml import MAX_BYTES, BadXml

RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
HASHES = {RSA_SHA256: hashes.SHA256, RSA_SHA512: hashes.SHA512}
# Bindings §3.4.3 and §3.5.3 hold senders to 80 bytes; SPs that send a whole return URL are
# common, so more is accepted, up to this, and echoed back unchanged.
MAX_RELAY_STATE = 1024


@dataclass(frozen=True)
class Received:
    """A message as it came: its XML, RelayState, and for Redirect its query signature."""

    xml: bytes
    relay_state: str | None
    query_signature: tuple[bytes, str, bytes] | None = None  # (signed octets, SigAlg, signature)

    @property
    def signed_in_query(self) -> bool:
        return self.query_signature is not None


def from_redirect(raw_query: str, field: str) -> Received:
    """The message named `field` (SAMLRequest or SAMLResponse) in a Redirect binding query."""
    raw = dict(_raw_pairs(raw_query))
    if field not in raw:
        raise BadXml(f"The request has no {field}.")
    xml = _inflate(_b64(unquote_plus(raw[field])))
    relay = checked_relay_state(unquote_plus(raw["RelayState"]) if "RelayState" in raw else None)
    if "Signature" not in raw:
        return Received(xml, relay)
    names = [field, "RelayState", "SigAlg"]
    octets = "&".join(f"{n}={raw[n]}" for n in names if n in raw).encode()
    signature = _b64(unquote_plus(raw["Signature"]))
    return Received(xml, relay, (octets, unquote_plus(raw.get("SigAlg", "")), signature))


def from_post(value: str | None, relay_state: str | None, field: str) -> Received:
    if not value:
        raise BadXml(f"The request has no {field}.")
    return Received(_b64(value), checked_relay_state(relay_state))


def checked_relay_state(value: str | None) -> str | None:
    """The RelayState as received (None when empty); `BadXml` when it is too long."""
    if value and len(value.encode()) > MAX_RELAY_STATE:
        raise BadXml(f"The RelayState is longer than {MAX_RELAY_STATE} bytes.")
    return value or None


def verify_query(received: Received, certificates: list[str]) -> None:
    """Bindings §3.4.4.1: the query signature verifies with one of the SP's certificates."""
    assert received.query_signature is not None
    octets, sig_alg, signature = received.query_signature
    if sig_alg not in HASHES:
        raise BadXml("The signature algorithm (SigAlg) is not accepted.")
    for pem in certificates:
        key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(signature, octets, padding.PKCS1v15(), HASHES[sig_alg]())
            return
        except InvalidSignature:
            continue
    raise BadXml("The request's signature does not verify with the SP's certificates.")


def post_value(xml: bytes) -> str:
    return base64.b64encode(xml).decode()


def _raw_pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in raw_query.split("&"):
        name, _, value = part.partition("=")
        pairs.append((unquote_plus(name), value))
    return pairs


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadXml("The message is not valid base64.") from None


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        xml = inflater.decompress(data, MAX_BYTES + 1)
    except zlib.error:
        raise BadXml("The message is not DEFLATE-compressed (bindings §3.4.4.1).") from None
    if len(xml) > MAX_BYTES or inflater.unconsumed_tail:
        raise BadXml("The message is too large.")
    return xml

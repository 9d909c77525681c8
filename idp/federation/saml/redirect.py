"""The HTTP-Redirect binding's encoding (SAML bindings §3.4.4.1), for both of our SAML roles:
the service provider's AuthnRequest (`requests.py`) and the identity provider's logout
messages (`idp.federation.saml_idp.logout`).

The message is DEFLATE-compressed (RFC 1951, no zlib header), base64-encoded and URL-encoded
into the query. When signed, the signature covers the query string
`SAMLRequest=...&RelayState=...&SigAlg=...` exactly as sent, by RSA-SHA256 (PKCS#1 v1.5)
with `cryptography`; its base64 is the `Signature` parameter. Reading a Redirect message
(and verifying such a signature) is the identity provider's `bindings.py`.
"""

from __future__ import annotations

import base64
import zlib
from urllib.parse import quote_plus

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def to_redirect(
    location: str, field: str, xml: bytes, relay_state: str | None, key_pem: bytes | None
) -> str:
    """The URL carrying `xml` as `field` (SAMLRequest or SAMLResponse), with `relay_state`
    when there is one, signed with `key_pem` (an RSA private key, PEM) when given."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(xml) + compressor.flush()
    query = f"{field}={quote_plus(base64.b64encode(deflated).decode())}"
    if relay_state:
        query += f"&RelayState={quote_plus(relay_state)}"
    if key_pem is not None:
        query += f"&SigAlg={quote_plus(RSA_SHA256)}"
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
        query += f"&Signature={quote_plus(base64.b64encode(signature).decode())}"
    return location + ("&" if "?" in location else "?") + query

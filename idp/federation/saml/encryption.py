"""Encrypted assertions (SAML core §2.3.4, XML Encryption 1.1): our SP key, and decryption.

Each SAML connection has its own RSA key (`new_sp_key`), whose certificate our SP metadata
publishes for encryption; the private key is kept sealed by the caller. An EncryptedAssertion
is opened with RSA-OAEP key transport (RSA v1.5 is refused: Bleichenbacher's attack) and
AES-GCM or AES-CBC content encryption (Triple DES is refused). The decrypted bytes are parsed
by the same hardened parser as everything else, and then checked like any assertion: its
signature is still required unless the whole Response was signed.
"""

from __future__ import annotations

import base64
import binascii
import datetime

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from idp.federation.saml.xml import DS
from idp.federation.xml_libraries import etree

XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
CBC = {XENC + "aes128-cbc": 16, XENC + "aes192-cbc": 24, XENC + "aes256-cbc": 32}
GCM = {XENC11 + "aes128-gcm": 16, XENC11 + "aes192-gcm": 24, XENC11 + "aes256-gcm": 32}
OAEP = (XENC + "rsa-oaep-mgf1p", XENC11 + "rsa-oaep")
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    XENC + "sha256": hashes.SHA256,
    XENC + "sha512": hashes.SHA512,
}
NS = {"xenc": XENC, "xenc11": XENC11, "ds": DS}


class DecryptionRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_sp_key(common_name: str) -> tuple[str, str]:
    """(private key PEM, self-signed certificate PEM), RSA 2048, valid ten years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private.decode(), certificate.public_bytes(serialization.Encoding.PEM).decode()


def decrypt(encrypted_assertion: etree._Element, private_key_pem: str) -> bytes:
    """The plaintext of the EncryptedAssertion's EncryptedData (the Assertion's XML)."""
    data = encrypted_assertion.find("xenc:EncryptedData", NS)
    if data is None:
        raise DecryptionRefused("The encrypted assertion holds no encrypted data.")
    encrypted_key = data.find("ds:KeyInfo/xenc:EncryptedKey", NS)
    if encrypted_key is None:
        encrypted_key = encrypted_assertion.find("xenc:EncryptedKey", NS)
    if encrypted_key is None:
        raise DecryptionRefused("The encrypted assertion carries no encrypted key.")
    key = _content_key(encrypted_key, private_key_pem)
    return _content(data, key)


def _algorithm(element: etree._Element) -> str:
    method = element.find("xenc:EncryptionMethod", NS)
    return (method.get("Algorithm") or "") if method is not None else ""


def _cipher_value(element: etree._Element) -> bytes:
    text = element.findtext("xenc:CipherData/xenc:CipherValue", namespaces=NS) or ""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionRefused("The encrypted assertion is not valid base64.") from None


def _content_key(encrypted_key: etree._Element, private_key_pem: str) -> bytes:
    algorithm = _algorithm(encrypted_key)
    if algorithm not in OAEP:
        raise DecryptionRefused("The assertion's key must be encrypted with RSA-OAEP.")
    method = encrypted_key.find("xenc:EncryptionMethod", NS)
    assert method is not None
    digest_uri = method.find("ds:DigestMethod", NS)
    digest = DIGESTS.get(digest_uri.get("Algorithm", "") if digest_uri is not None else "")
    mgf_uri = method.find("xenc11:MGF", NS)
    mgf = hashes.SHA1 if mgf_uri is None else _mgf(mgf_uri.get("Algorithm", ""))
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise DecryptionRefused("The connection's decryption key is not an RSA key.")
    scheme = padding.OAEP(
        mgf=padding.MGF1(algorithm=mgf()), algorithm=(digest or hashes.SHA1)(), label=None
    )
    try:
        return private_key.decrypt(_cipher_value(encrypted_key), scheme)
    except ValueError:
        raise DecryptionRefused("The assertion is not encrypted for this connection.") from None


def _mgf(uri: str) -> type[hashes.HashAlgorithm]:
    suffix = uri.rpartition("#")[2]
    found = {"mgf1sha1": hashes.SHA1, "mgf1sha256": hashes.SHA256, "mgf1sha512": hashes.SHA512}
    if suffix not in found:
        raise DecryptionRefused("The assertion's key uses an unsupported mask function.")
    return found[suffix]


def _content(data: etree._Element, key: bytes) -> bytes:
    algorithm = _algorithm(data)
    value = _cipher_value(data)
    try:
        if algorithm in GCM and len(key) == GCM[algorithm]:
            return AESGCM(key).decrypt(value[:12], value[12:], None)
        if algorithm in CBC and len(key) == CBC[algorithm] and len(value) >= 32:
            decryptor = Cipher(algorithms.AES(key), modes.CBC(value[:16])).decryptor()
            plain = decryptor.update(value[16:]) + decryptor.finalize()
            return _unpad(plain)
    except (InvalidTag, ValueError):
        raise DecryptionRefused("The encrypted assertion could not be decrypted.") from None
    raise DecryptionRefused("The assertion must be encrypted with AES (GCM or CBC).")


def _unpad(plain: bytes) -> bytes:
    # XML Encryption §5.2.1: the last byte counts the padding bytes (1 to the block size).
    count = plain[-1] if plain else 0
    if not 1 <= count <= 16:
        raise DecryptionRefused("The encrypted assertion could not be decrypted.")
    return plain[:-count]

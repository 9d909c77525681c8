"""The enterprise identity provider on the other side of our SAML service provider, in tests.

It is pysaml2's `saml2.server.Server` (signing with the xmlsec1 binary), never our own SAML
code: what our SP accepts or refuses is decided against an independent implementation. The
`SamlIdpPeer` makes signed Responses for a request (or unsolicited), and `serve()` puts it
behind a small WSGI app on 127.0.0.1 for Chromium: GET /sso answers an AuthnRequest
(HTTP-Redirect) with a page whose form posts the Response to our ACS (HTTP-POST).

Without /usr/bin/xmlsec1 the tests that use it are skipped, except on CI (CI=true), where they
fail, as the Chromium tests do.
"""

from __future__ import annotations

import base64
import datetime
import html
import os
import shutil
import textwrap
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

with warnings.catch_warnings():  # pysaml2 imports a cipher mode cryptography has moved
    warnings.simplefilter("ignore")
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.metadata import create_metadata_string
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
    from saml2.server import Server

XMLSEC1 = "/usr/bin/xmlsec1"
SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def require_xmlsec1() -> str:
    path = XMLSEC1 if Path(XMLSEC1).exists() else shutil.which("xmlsec1")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("xmlsec1 is not installed; apt-get install xmlsec1", pytrace=False)
        pytest.skip("xmlsec1 is not installed (apt-get install xmlsec1)")
    return path


@dataclass(frozen=True)
class KeyPair:
    key_path: Path
    cert_path: Path
    cert_pem: str


def make_key_pair(folder: Path, name: str) -> KeyPair:
    """A 2048-bit RSA key and a self-signed certificate, as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(pem)
    return KeyPair(key_path, cert_path, pem.decode())


class SamlIdpPeer:
    """pysaml2's IdP for one of our connections (our SP metadata given inline).

    With `want_signed_requests` it says WantAuthnRequestsSigned="true" in its metadata and
    refuses an AuthnRequest whose HTTP-Redirect query signature (bindings §3.4.4.1) does not
    verify with a signing certificate of our SP metadata."""

    def __init__(
        self,
        entity_id: str,
        sso_url: str,
        keys: KeyPair,
        sp_metadata: bytes,
        *,
        want_signed_requests: bool = False,
    ) -> None:
        xmlsec = require_xmlsec1()
        config = IdPConfig()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config.load(
                {
                    "entityid": entity_id,
                    "service": {
                        "idp": {
                            "endpoints": {
                                "single_sign_on_service": [(sso_url, BINDING_HTTP_REDIRECT)]
                            },
                            "policy": {"default": {"lifetime": {"minutes": 5}}},
                            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                            "want_authn_requests_signed": want_signed_requests,
                        }
                    },
                    "key_file": str(keys.key_path),
                    "cert_file": str(keys.cert_path),
                    "xmlsec_binary": xmlsec,
                    "metadata": {"inline": [sp_metadata.decode()]},
                }
            )
            self.server = Server(config=config)
        self.entity_id = entity_id
        self.sso_url = sso_url

    def metadata(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(create_metadata_string(None, config=self.server.config, sign=False).decode())

    def request_id(
        self,
        saml_request: str,
        *,
        relay_state: str | None = None,
        sigalg: str | None = None,
        signature: str | None = None,
    ) -> str:
        """The ID of our AuthnRequest, as pysaml2 reads it (HTTP-Redirect binding), the query
        signature checked when the peer wants signed requests (`IncorrectlySigned` if not)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = self.server.parse_authn_request(
                saml_request,
                BINDING_HTTP_REDIRECT,
                relay_state=relay_state,
                sigalg=sigalg,
                signature=signature,
            )
        return str(parsed.message.id)

    def request_id_in(self, url: str) -> str:
        """`request_id` of the AuthnRequest in our redirect `url`, with all its parameters."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        return self.request_id(
            query["SAMLRequest"],
            relay_state=query.get("RelayState"),
            sigalg=query.get("SigAlg"),
            signature=query.get("Signature"),
        )

    def response(
        self,
        *,
        in_response_to: str | None,
        acs_url: str,
        audience: str,
        email: str,
        attributes: dict[str, list[str]] | None = None,
        sign_response: bool = False,
        sign_assertion: bool = True,
        **extra: Any,
    ) -> str:
        """A signed Response (XML text) for `email`, with `attributes`."""
        identity = {"mail": [email], **(attributes or {})}
        name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email)
        # pysaml2 signs with RSA-SHA1 unless told; our SP refuses SHA-1.
        extra.setdefault("sign_alg", RSA_SHA256)
        extra.setdefault("digest_alg", SHA256)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            made = self.server.create_authn_response(
                identity,
                in_response_to,
                acs_url,
                audience,
                name_id=name_id,
                authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
                sign_response=sign_response,
                sign_assertion=sign_assertion,
                **extra,
            )
        return str(made)


def encoded(xml: str | bytes) -> str:
    """The HTTP-POST form value (bindings §3.5.4)."""
    data = xml.encode() if isinstance(xml, str) else xml
    return base64.b64encode(data).decode()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Threaded(WSGIServer):
    daemon_threads = True


def serve(make_peer: Any, identity: dict[str, Any]) -> Iterator[str]:
    """Run the IdP on 127.0.0.1 (a port of its own); yields its base URL. `make_peer(base)`
    builds the `SamlIdpPeer` once the URL is known; `identity` holds `email`, `acs_url`,
    `audience` and `attributes` of the person who signs in there."""
    state: dict[str, SamlIdpPeer] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        peer = state["peer"]
        request_id = peer.request_id_in("?" + environ.get("QUERY_STRING", ""))
        xml = peer.response(in_response_to=request_id, **identity)
        relay = html.escape(query.get("RelayState", [""])[0])
        page = (
            "<!doctype html><title>Corp IdP</title><h1>Corp identity provider</h1>"
            f'<form method="post" action="{html.escape(identity["acs_url"])}">'
            f'<input type="hidden" name="SAMLResponse" value="{encoded(xml)}">'
            f'<input type="hidden" name="RelayState" value="{relay}">'
            '<button type="submit">Continue to the app</button></form>'
        )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode()]

    httpd = make_server("127.0.0.1", 0, app, server_class=_Threaded, handler_class=_Quiet)
    base = f"http://127.0.0.1:{httpd.server_port}"
    state["peer"] = make_peer(base)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        httpd.shutdown()
        httpd.server_close()


__all__ = ["BINDING_HTTP_POST", "KeyPair", "SamlIdpPeer", "encoded", "make_key_pair", "serve"]


def sp_encryption_certificate(sp_metadata: bytes) -> str:
    """The certificate our SP metadata publishes for encryption (metadata §2.4.1.1), as PEM."""
    root = etree.fromstring(sp_metadata)
    text = root.findtext(
        ".//md:KeyDescriptor[@use='encryption']//ds:X509Certificate",
        namespaces={"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": DS},
    )
    assert text, "no encryption certificate in the SP metadata"
    body = "\n".join(textwrap.wrap(text.strip(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def encrypt_assertion(
    xml: str,
    certificate: str,
    *,
    data: str = "aes256-cbc",
    key: str = "rsa-oaep",
    change: Any = None,
) -> bytes:
    """The Response with its Assertion replaced by an EncryptedAssertion for `certificate`
    (XML Encryption with python-xmlsec: `data` aes128-gcm | aes256-cbc, `key` rsa-oaep |
    rsa-1_5), encrypted in place, as IdPs do. `change(assertion)` edits the assertion first."""
    root = etree.fromstring(xml.encode())
    assertion = root.find(f"{{{SAML_NS}}}Assertion")
    if change is not None:
        change(assertion)
    transforms = {
        "aes256-cbc": (xmlsec.constants.TransformAes256Cbc, 256),
        "aes128-gcm": (xmlsec.constants.TransformAes128Gcm, 128),
    }
    data_transform, bits = transforms[data]
    key_transform = {
        "rsa-oaep": xmlsec.constants.TransformRsaOaep,
        "rsa-1_5": xmlsec.constants.TransformRsaPkcs1,
    }[key]
    holder = etree.Element(f"{{{SAML_NS}}}EncryptedAssertion")
    assertion.addprevious(holder)
    holder.append(assertion)
    template = xmlsec.template.encrypted_data_create(
        root, data_transform, type=xmlsec.constants.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="dsig")
    encrypted_key = xmlsec.template.add_encrypted_key(info, key_transform)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    manager = xmlsec.KeysManager()
    manager.add_key(
        xmlsec.Key.from_memory(certificate.encode(), xmlsec.constants.KeyDataFormatCertPem)
    )
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(
        xmlsec.constants.KeyDataAes, bits, xmlsec.constants.KeyDataTypeSession
    )
    context.encrypt_xml(template, assertion)
    return bytes(etree.tostring(root))

"""A SAML service provider on python3-saml (onelogin.saml2, signing with the xmlsec wheel):
the other side of the SAML identity provider's tests, written with none of our SAML code.

`SamlSp` builds AuthnRequests and LogoutRequests and checks our Responses the way an app
would: its settings take our IdP metadata (certificates included) through python3-saml's own
metadata parser. `serve()` runs it as a small Flask app on 127.0.0.1 for Chromium: /login,
/acs, /sls, and a page showing what it learned.

Without python3-saml the tests that need it are skipped, except on CI (CI=true), where they
fail.
"""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

try:
    from onelogin.saml2.auth import OneLogin_Saml2_Auth
    from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
    from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
except ImportError:  # pragma: no cover - the library is in the test extras
    OneLogin_Saml2_Auth = None

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
FORMATS = {
    "email": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
}


def require_python3_saml() -> None:
    if OneLogin_Saml2_Auth is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("python3-saml is not installed; pip install -e '.[test]'", pytrace=False)
    pytest.skip("python3-saml is not installed")


def key_and_certificate(name: str = "sp.test") -> tuple[str, str]:
    """A fresh RSA key and a self-signed certificate for it, as PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


class SamlSp:
    """One service provider at `base` (e.g. http://sp.test or a live 127.0.0.1 URL)."""

    def __init__(
        self,
        base: str,
        idp_metadata: str,
        *,
        name_id_format: str = "email",
        sign_requests: bool = True,
        key: tuple[str, str] | None = None,
    ) -> None:
        require_python3_saml()
        self.base = base.rstrip("/")
        self.entity_id = self.base + "/metadata"
        self.acs = self.base + "/acs"
        self.sls = self.base + "/sls"
        self.key_pem, self.certificate_pem = key or key_and_certificate()
        idp = OneLogin_Saml2_IdPMetadataParser.parse(idp_metadata)
        self.settings: dict[str, Any] = {
            "strict": True,
            "debug": False,
            "sp": {
                "entityId": self.entity_id,
                "assertionConsumerService": {
                    "url": self.acs,
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                },
                "singleLogoutService": {
                    "url": self.sls,
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                },
                "NameIDFormat": FORMATS[name_id_format],
                "x509cert": self.certificate_pem,
                "privateKey": self.key_pem,
            },
            "idp": idp["idp"],
            "security": {
                "authnRequestsSigned": sign_requests,
                "logoutRequestSigned": sign_requests,
                "logoutResponseSigned": sign_requests,
                "wantAssertionsSigned": True,
                "wantMessagesSigned": True,
                "wantNameId": True,
                "requestedAuthnContext": False,
                "signatureAlgorithm": RSA_SHA256,
                "digestAlgorithm": SHA256,
            },
        }

    def metadata(self) -> str:
        data: bytes | str = OneLogin_Saml2_Settings(self.settings).get_sp_metadata()
        return data.decode() if isinstance(data, bytes) else data

    def auth(
        self, path: str, get: dict[str, str] | None = None, post: dict[str, str] | None = None
    ) -> Any:
        """python3-saml's view of a request that reached `path` on this SP."""
        parts = urlsplit(self.base)
        request = {
            "https": "on" if parts.scheme == "https" else "off",
            "http_host": parts.netloc,
            "script_name": path,
            "get_data": get or {},
            "post_data": post or {},
        }
        return OneLogin_Saml2_Auth(request, self.settings)

    def login_url(self, **options: Any) -> str:
        """The Redirect-binding URL of a (signed, as set) AuthnRequest to our SSO endpoint."""
        return str(self.auth("/login").login(**options))

    def signed_authn_request(self, transform: Any = lambda xml: xml) -> bytes:
        """An AuthnRequest for the POST binding, signed inside (SAML core §5), after
        `transform` changed its XML text."""
        xml = OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(self.settings)).get_xml()
        signed: bytes = OneLogin_Saml2_Utils.add_sign(
            transform(xml),
            self.key_pem,
            self.certificate_pem,
            sign_algorithm=RSA_SHA256,
            digest_algorithm=SHA256,
        )
        return signed

    def accept(self, fields: dict[str, str]) -> dict[str, Any]:
        """Process a POSTed Response at the ACS; what python3-saml made of it."""
        auth = self.auth("/acs", post=fields)
        auth.process_response()
        return {
            "errors": auth.get_errors(),
            "reason": auth.get_last_error_reason(),
            "name_id": auth.get_nameid(),
            "name_id_format": auth.get_nameid_format(),
            "session_index": auth.get_session_index(),
            "attributes": auth.get_attributes(),
            "authenticated": auth.is_authenticated(),
        }

    def logout_url(
        self,
        name_id: str,
        session_index: str,
        name_id_format: str,
        transform: Any = lambda xml: xml,
    ) -> str:
        """A (signed, as set) LogoutRequest over the Redirect binding; its ID is kept.
        `transform` changes its XML text before python3-saml encodes and signs it."""

        class Changed(OneLogin_Saml2_Logout_Request):  # type: ignore[misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._logout_request = transform(self._logout_request)

        auth = self.auth("/logout")
        auth.logout_request_class = Changed
        url = auth.logout(
            name_id=name_id, session_index=session_index, name_id_format=name_id_format
        )
        self.last_request_id = auth.get_last_request_id()
        return str(url)

    def logout_answer(self, query: dict[str, str], request_id: str | None = None) -> list[str]:
        """Process a LogoutResponse (or LogoutRequest) arriving at /sls; its errors."""
        auth = self.auth("/sls", get=query)
        redirect = auth.process_slo(keep_local_session=True, request_id=request_id)
        self.last_redirect = redirect
        return list(auth.get_errors())


@contextmanager
def serve(sp_factory: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """A live SP app on 127.0.0.1: yields its base URL and what its ACS saw last."""
    from flask import Flask, redirect, request
    from werkzeug.serving import make_server

    seen: dict[str, Any] = {}
    app = Flask("saml-sp-peer")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{httpd.server_port}"
    sp: SamlSp = sp_factory(base)

    @app.get("/login")
    def login() -> Any:
        return redirect(sp.login_url())

    @app.post("/acs")
    def acs() -> Any:
        seen.clear()
        seen.update(sp.accept(request.form.to_dict()))
        return (
            "<!doctype html><title>SP</title><main id='seen'>"
            f"{'signed in' if seen['authenticated'] else 'refused'} as "
            f"<span id='name-id'>{seen['name_id']}</span></main>"
        )

    seen["sp"] = sp
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, seen
    finally:
        httpd.shutdown()
        thread.join(timeout=10)

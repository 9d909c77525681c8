"""The SAML identity provider's signing credentials: an RSA key of the key store and its
self-signed X.509 certificate (SAML metadata §2.4.1.1 publishes keys as certificates).

SAML signs with RSA-SHA256. When IDP_SIGNING_ALG is RS256 the SAML role shares the ID tokens'
keys; otherwise it has a key line of its own, `saml-rs256` inside IDP_KEYS_DIR, created,
rotated and published by the same rules (`saml_key_store`). The certificate is derived from
the key alone, the same in every process: its serial from the kid, its validity from the
key's creation time. Not here: the XML signature itself (federation.saml_idp.signing).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, current_app

from idp.keys.errors import KeyStoreError
from idp.keys.store import KeyInfo, KeyStore
from idp.keys.timeline import KeyState
from idp.settings import Settings

SAML_ALG = "RS256"
CERTIFICATE_YEARS = 10  # SAML metadata pins keys, not validity; SPs mostly ignore the dates


@dataclass(frozen=True)
class SamlSigner:
    """The key that signs assertions now, as PEM, with its certificate."""

    kid: str
    private_key_pem: bytes
    certificate_pem: bytes


def saml_key_store(settings: Settings, shared: KeyStore) -> KeyStore:
    """The key line SAML signs with: `shared` when it holds RSA keys, else a line of its own."""
    if settings.signing_alg == SAML_ALG:
        return shared
    return KeyStore(
        settings.keys_dir / "saml-rs256",
        settings.secret_key,
        alg=SAML_ALG,
        activation_delay=shared.activation_delay,
        retention=shared.retention,
    )


class SamlCredentials:
    """Certificates of a key line's RSA keys, cached per kid (a kid names one key)."""

    def __init__(self, store: KeyStore, subject: str) -> None:
        self.store = store
        self.subject = subject
        self._certificates: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def signer(self, now: datetime | None = None) -> SamlSigner:
        """The active key and its certificate."""
        active = self.store.signing_key(now)
        if active.alg != SAML_ALG:
            raise KeyStoreError(f"IDP_KEYS_DIR: the active key {active.kid} is not an RSA key")
        private = _rsa(self.store, active.kid)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        info = next(i for i in self.store.keys(now) if i.kid == active.kid)
        certificate = self._certificate(info).public_bytes(serialization.Encoding.PEM)
        return SamlSigner(active.kid, pem, certificate)

    def published(self, now: datetime | None = None) -> list[bytes]:
        """DER certificates of the active key and of the next one during a rotation."""
        wanted = (KeyState.ACTIVE, KeyState.PENDING)
        infos = [i for i in self.store.keys(now) if i.alg == SAML_ALG and i.state in wanted]
        infos.sort(key=lambda i: i.state is not KeyState.ACTIVE)
        return [self._certificate(i).public_bytes(serialization.Encoding.DER) for i in infos]

    def _certificate(self, info: KeyInfo) -> x509.Certificate:
        with self._lock:
            cached = self._certificates.get(info.kid)
            if cached is None:
                cached = _self_signed(_rsa(self.store, info.kid), info, self.subject)
                self._certificates[info.kid] = cached
            return cached


def _rsa(store: KeyStore, kid: str) -> rsa.RSAPrivateKey:
    key = store.private_key(kid).key.private_key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyStoreError(f"IDP_KEYS_DIR: key {kid} is not an RSA key")
    return key


def _self_signed(key: rsa.RSAPrivateKey, info: KeyInfo, subject: str) -> x509.Certificate:
    """Deterministic: PKCS #1 v1.5 signatures are, and every field comes from the key."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject[:64])])
    serial = int.from_bytes(hashlib.sha256(info.kid.encode()).digest()[:19], "big") | 1
    start = info.created_at.astimezone(UTC).replace(microsecond=0)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * CERTIFICATE_YEARS))
        .sign(key, hashes.SHA256())
    )


def init_app(app: Flask, credentials: SamlCredentials) -> None:
    app.extensions["idp.saml_credentials"] = credentials


def app_saml_credentials() -> SamlCredentials:
    """The SAML signing credentials of the current app."""
    value: SamlCredentials = current_app.extensions["idp.saml_credentials"]
    return value

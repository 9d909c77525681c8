"""A small software authenticator for HTTP-level passkey tests (test code only).

It plays both the browser and the authenticator: from the options JSON the server sends it
builds the JSON a browser's `credential.toJSON()` returns (WebAuthn L3 §5.1.8), with an ES256
key, attestation "none" (§8.7), authenticator data per §6.1 and a signature per §6.3.3.
Keyword arguments let a test break one thing at a time (challenge, origin, RP ID, counter,
signature).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# §6.1 authenticator data flags
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_key(self) -> bytes:
        """The public key as a COSE_Key (RFC 9053 §7.1: EC2, P-256, ES256)."""
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


@dataclass
class SoftAuthenticator:
    origin: str
    aaguid: bytes = bytes(16)
    user_verified: bool = True
    backup_eligible: bool = False
    # A counter that goes up by one per use (0: the authenticator keeps no counter).
    counts: bool = True
    credentials: dict[bytes, Credential] = field(default_factory=dict)

    def create(
        self,
        options: dict[str, Any],
        *,
        challenge: str | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.create() then toJSON(): a RegistrationResponseJSON."""
        credential = Credential(
            id=secrets.token_bytes(32),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=options["rp"]["id"],
            user_handle=unb64url(options["user"]["id"]),
        )
        client_data = self._client_data(
            "webauthn.create", challenge or options["challenge"], origin
        )
        attested = (
            self.aaguid
            + struct.pack(">H", len(credential.id))
            + credential.id
            + credential.cose_key()
        )
        auth_data = self._auth_data(rp_id or credential.rp_id, AT, 0) + attested
        self.credentials[credential.id] = credential
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        credential_id: bytes | None = None,
        challenge: str | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        tamper: bool = False,
        user_handle: bool = True,
    ) -> dict[str, Any]:
        """navigator.credentials.get() then toJSON(): an AuthenticationResponseJSON.

        Without `credential_id` it picks, like a discoverable-credential request (§5.5 with an
        empty allowCredentials), the only credential it holds, or the first one allowed."""
        credential = self.credentials[credential_id or self._pick(options)]
        if sign_count is None:
            if self.counts:
                credential.sign_count += 1
            sign_count = credential.sign_count
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        auth_data = self._auth_data(rp_id or options.get("rpId") or credential.rp_id, 0, sign_count)
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        if tamper:
            # The last byte of a DER ECDSA signature is the end of `s`: still well-formed DER.
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle) if user_handle else None,
            },
        }

    def _pick(self, options: dict[str, Any]) -> bytes:
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials") or []]
        for credential_id in allowed or list(self.credentials):
            if credential_id in self.credentials:
                return credential_id
        raise LookupError("no credential for this request")

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        """§5.8.1 CollectedClientData, serialised as §5.8.1.1 says."""
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()

    def _auth_data(self, rp_id: str, extra_flags: int, sign_count: int) -> bytes:
        flags = UP | extra_flags
        if self.user_verified:
            flags |= UV
        if self.backup_eligible:
            flags |= BE | BS
        return (
            hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)
        )

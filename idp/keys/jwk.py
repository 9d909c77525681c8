"""Signing keys as JSON Web Keys: generate, load, publish (RFC 7517, RFC 7518 §6, RFC 8037).

Ed25519 keys sign as `Ed25519` (RFC 9864), the fully specified name; the polymorphic
`EdDSA` is deprecated (RFC 9864) and stock libraries warn about it. Key files written under
that name are Ed25519 keys all the same, and are read as such.

Key ids are RFC 7638 thumbprints, so a kid names exactly one public key. Published keys keep
only their public members (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2) plus `kid`, `use` and `alg`
(RFC 7517 §4). This is the only module of the key store that imports joserfc.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from joserfc.jwk import ECKey, Key, KeySet, OKPKey, RSAKey, import_key

from idp.settings import SIGNING_ALGORITHMS

__all__ = [
    "ALGORITHMS",
    "Key",
    "KeySet",
    "algorithm",
    "generate",
    "key_set",
    "load_private",
    "private_bytes",
    "public",
]

ALGORITHMS = SIGNING_ALGORITHMS
DEPRECATED_NAMES = {"EdDSA": "Ed25519"}  # RFC 9864
RSA_BITS = 2048  # RFC 7518 §3.3: 2048 bits or larger
PUBLIC_MEMBERS = {
    "RSA": ("kty", "n", "e"),
    "EC": ("kty", "crv", "x", "y"),
    "OKP": ("kty", "crv", "x"),
}


def generate(alg: str) -> Key:
    """A new private key for `alg`, its kid the RFC 7638 thumbprint."""
    parameters: Any = {"alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(RSA_BITS, parameters=parameters, auto_kid=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, auto_kid=True)
    if alg == "Ed25519":
        return OKPKey.generate_key("Ed25519", parameters=parameters, auto_kid=True)
    raise ValueError(f"signing algorithm must be one of {', '.join(ALGORITHMS)}, got {alg!r}")


def algorithm(name: str) -> str:
    """The name a key's algorithm goes by now (Ed25519 for the deprecated EdDSA)."""
    return DEPRECATED_NAMES.get(name, name)


def private_bytes(key: Key) -> bytes:
    """The private JWK as JSON, to be sealed before it touches the disk."""
    return json.dumps(key.as_dict(private=True), separators=(",", ":")).encode()


def load_private(data: bytes, kid: str) -> Key:
    """The private key sealed as `private_bytes`; ValueError unless it is the key named kid."""
    try:
        members = json.loads(data)
        if "alg" in members:
            members["alg"] = algorithm(members["alg"])
        key = import_key(members)
    except Exception as error:  # joserfc raises several kinds for a malformed JWK
        raise ValueError(f"not a private JWK: {error}") from None
    if not key.is_private or key.thumbprint() != kid:
        raise ValueError("the private key does not match its kid")
    return key


def public(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """Only the public members of a JWK, with its kid, use and alg when present."""
    members = (*PUBLIC_MEMBERS.get(str(jwk.get("kty")), ()), "kid", "use", "alg")
    return {name: jwk[name] for name in members if name in jwk}


def key_set(jwks: Iterable[Mapping[str, Any]]) -> KeySet:
    """A joserfc KeySet of public keys, for verification."""
    return KeySet([import_key(public(jwk)) for jwk in jwks])

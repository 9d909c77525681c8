"""WebAuthn checks: the options a ceremony sends, and verifying what the authenticator
answers. The only module that imports `webauthn` (py_webauthn); it turns the library's
exceptions into `PasskeyError` with a message for the user. It is imported on first use
(idp.identity.passkey_ceremonies): with the library it loads about 5 MiB, which a worker
serving only the protocol endpoints never needs. The challenge is kept between the
two halves by idp.identity.passkey_ceremonies; nothing here knows about HTTP.

WebAuthn Level 3: §5.4 (creation options), §5.5 (request options), §7.1 (registering a new
credential), §7.2 (verifying an authentication assertion), §6.1.1 (signature counter),
§6.1.3 (backup eligibility and state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.identity.models import User
from idp.identity.passkeys import (
    Assertion,
    Passkey,
    PasskeyCloned,
    PasskeyError,
    PasskeyUserHandle,
    RelyingParty,
    clean_name,
    describe,
    passkeys_of,
    user_handle,
)

# ES256, EdDSA and RS256 cover every authenticator in use (WebAuthn L3 §5.4 pubKeyCredParams).
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
TIMEOUT_MS = 300_000


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser (JSON text) and the challenge to keep until the answer."""

    options: str
    challenge: bytes


RETRY = "Please try again."
# The library's reasons (by the start of its message) and what we tell the user.
REASONS = [
    ("Client data challenge", f"The passkey answered a different request. {RETRY}"),
    ("Unexpected client data origin", "The passkey answer came from a different website."),
    ("Unexpected RP ID hash", "The passkey belongs to a different website."),
    ("Could not verify authentication signature", "The passkey's signature is not valid."),
    ("User was not present", f"The passkey did not confirm you were present. {RETRY}"),
    ("Unsupported credential public key alg", "This kind of passkey is not supported."),
]
GENERIC = f"Your passkey could not be verified. {RETRY}"
CLONED = (
    "This passkey's signature counter went backwards, which can mean it was copied. "
    "Sign in another way, then review the passkeys on your account."
)
UNKNOWN = (
    "This passkey is not registered with us. Sign in another way, or remove the passkey "
    "from your device."
)


def _refusal(error: WebAuthnException) -> PasskeyError:
    text = str(error)
    # §6.1.1 and §7.2 step 21: when the authenticator keeps a counter (either value is
    # non-zero), a count that does not go up may mean the credential was cloned.
    if text.startswith("Response sign count"):
        return PasskeyCloned(CLONED, detail=text)
    for start, message in REASONS:
        if text.startswith(start):
            return PasskeyError(message, detail=text)
    return PasskeyError(GENERIC, detail=text)


# Registration (WebAuthn L3 §7.1)


def registration_options(rp: RelyingParty, user: User) -> Ceremony:
    """§5.4: a discoverable credential preferred, no attestation, the user's passkeys
    excluded so an authenticator is not registered twice."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle(user),
        user_name=user.email,
        user_display_name=user.name,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(passkeys_of(user)),
        supported_pub_key_algs=ALGORITHMS,
    )
    return Ceremony(options_to_json(options), options.challenge)


def register(
    rp: RelyingParty,
    user: User,
    credential: dict[str, Any],
    challenge: bytes,
    name: str = "",
) -> Passkey:
    """Verify a new credential and store it; the caller commits."""
    name = clean_name(name) if name.strip() else ""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_verification=False,
            supported_pub_key_algs=ALGORITHMS,
        )
    except WebAuthnException as error:
        raise _refusal(error) from error
    credential_id = bytes_to_base64url(verified.credential_id)
    # §7.1 step 26: a credential ID registered before (to anyone) is refused.
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise PasskeyError("This passkey is already registered.")
    transports = _transports(credential)
    backup_eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        backup_eligible=backup_eligible,
        backed_up=verified.credential_backed_up,
        device_type=verified.credential_device_type.value,
        aaguid=verified.aaguid,
        name=name or describe(verified.aaguid, transports, backup_eligible),
    )
    db.session.add(passkey)
    db.session.flush()
    record(Event.PASSKEY_ADDED, user_id=user.id, subject=user.email, passkey=passkey.name)
    return passkey


# Authentication (WebAuthn L3 §7.2)


def authentication_options(rp: RelyingParty, user: User | None = None) -> Ceremony:
    """§5.5: for a known user (second factor) their passkeys; else none, so the
    authenticator offers its discoverable credentials for this site."""
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(passkeys_of(user)) if user else None,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return Ceremony(options_to_json(options), options.challenge)


def authenticate(
    rp: RelyingParty, credential: dict[str, Any], challenge: bytes, user: User | None = None
) -> Assertion:
    """Verify an assertion; `user` when the passkey must be theirs (second factor).

    On success the passkey's counter, backup state and last use are updated; on failure a
    PASSKEY_FAILED event is recorded and nothing else changes. The caller commits.
    """
    passkey = _find(credential)
    if passkey is None:
        raise _failed(PasskeyError(UNKNOWN, detail="unknown credential"), user)
    try:
        _check_owner(passkey, credential, user)
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=False,
        )
        # §7.2 step 18: backup eligibility is fixed when the credential is made.
        eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
        if eligible != passkey.backup_eligible:
            raise PasskeyError(GENERIC, detail="backup eligibility changed")
    except WebAuthnException as error:
        raise _failed(_refusal(error), passkey) from error
    except PasskeyError as error:
        raise _failed(error, passkey) from error
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = utcnow()
    return Assertion(passkey, verified.user_verified)


def _find(credential: dict[str, Any]) -> Passkey | None:
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(credential_id, str) or not credential_id:
        return None
    return db.session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))


def _check_owner(passkey: Passkey, credential: dict[str, Any], user: User | None) -> None:
    if user is not None and passkey.user_id != user.id:
        raise PasskeyError(
            "That passkey belongs to a different account. Use a passkey of this account.",
            detail=f"passkey of user {passkey.user_id} offered for user {user.id}",
        )
    # §7.2 step 6: when the authenticator returns a user handle, it must be the owner's.
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle:
        owner = db.session.get(PasskeyUserHandle, passkey.user_id)
        if owner is None or not isinstance(handle, str) or _decode(handle) != owner.handle:
            raise PasskeyError(GENERIC, detail="user handle does not match the owner")


def _failed(error: PasskeyError, about: Passkey | User | None) -> PasskeyError:
    if isinstance(about, Passkey):
        record(
            Event.PASSKEY_FAILED,
            user_id=about.user_id,
            passkey=about.name,
            reason=error.code,
            detail=error.detail,
        )
    else:
        record(
            Event.PASSKEY_FAILED,
            user_id=about.id if about else None,
            reason=error.code,
            detail=error.detail,
        )
    return error


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in p.transports if _known_transport(t)],
        )
        for p in passkeys
    ]


def _transports(credential: dict[str, Any]) -> list[str]:
    response = credential.get("response")
    found = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(found, list):
        return []
    return [t for t in found if isinstance(t, str) and _known_transport(t)]


def _known_transport(value: str) -> bool:
    return value in {t.value for t in AuthenticatorTransport}


def _decode(text: str) -> bytes:
    try:
        return base64url_to_bytes(text)
    except ValueError:
        return b""


def encode_challenge(challenge: bytes) -> str:
    """A challenge as text for the store (base64url, as in the options)."""
    return bytes_to_base64url(challenge)


def decode_challenge(text: str) -> bytes:
    return base64url_to_bytes(text)

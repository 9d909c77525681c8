"""Passkeys: the WebAuthn credentials stored for users, and managing them (list, name,
rename, remove, the user handle).

Checking what an authenticator sends is idp.identity.passkey_protocol's (the only importer of
the `webauthn` library); the two-step ceremonies and their challenges are
idp.identity.passkey_ceremonies'. Nothing here knows about HTTP.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.audit import Event, record
from idp.db import Model, UTCDateTime, db, insert_if_absent, utcnow
from idp.errors import IdpError, InvalidInput
from idp.identity.models import User

NAME_MAX = 64


class Passkey(Model):
    """A WebAuthn public-key credential registered to a user."""

    __tablename__ = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # base64url of the credential ID (at most 1023 bytes, WebAuthn L3 §4 "Credential ID").
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    backup_eligible: Mapped[bool] = mapped_column(default=False)
    backed_up: Mapped[bool] = mapped_column(default=False)
    device_type: Mapped[str] = mapped_column(String(16))  # "single_device" or "multi_device"
    aaguid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def synced(self) -> bool:
        """Backed up to a passkey provider and usable on the user's other devices."""
        return self.backup_eligible

    @property
    def amr(self) -> str:
        """RFC 8176: "swk" for a software-held (synced) key, "hwk" for a device-bound one."""
        return "swk" if self.backup_eligible else "hwk"


class PasskeyUserHandle(Model):
    """The random user handle authenticators store with a user's passkeys (WebAuthn L3
    §14.6.1: not the email or the database id, so it reveals nothing)."""

    __tablename__ = "passkey_user_handle"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    handle: Mapped[bytes] = mapped_column(LargeBinary(64), unique=True)


class PasskeyError(IdpError):
    code = "passkey_failed"


class PasskeyCloned(PasskeyError):
    code = "passkey_cloned"


def passkeys_of(user: User | None) -> list[Passkey]:
    if user is None:
        return []
    return list(
        db.session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
        )
    )


def find_passkey(user: User, passkey_id: int) -> Passkey | None:
    """One of the user's own passkeys; another user's is as good as absent."""
    passkey = db.session.get(Passkey, passkey_id)
    return passkey if passkey is not None and passkey.user_id == user.id else None


def rename(user: User, passkey: Passkey, name: str) -> None:
    passkey.name = clean_name(name)
    record(Event.PASSKEY_RENAMED, user_id=user.id, subject=user.email, passkey=passkey.name)


def remove(user: User, passkey: Passkey) -> None:
    record(Event.PASSKEY_REMOVED, user_id=user.id, subject=user.email, passkey=passkey.name)
    db.session.delete(passkey)


def clean_name(raw: str) -> str:
    name = re.sub(r"\s+", " ", raw or "").strip()
    if not name:
        raise InvalidInput("Give the passkey a name.", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"Use at most {NAME_MAX} characters for the name.", field="name")
    return name


def user_handle(user: User) -> bytes:
    """The user's WebAuthn user handle: 64 random bytes, made on first use (the caller
    commits)."""
    row = db.session.get(PasskeyUserHandle, user.id)
    if row is None:  # a parallel request may make it too: the first one made is the one
        insert_if_absent(PasskeyUserHandle, user_id=user.id, handle=secrets.token_bytes(64))
        row = db.session.get(PasskeyUserHandle, user.id)
        assert row is not None
    return row.handle


# Names of well-known passkey providers by AAGUID (attestation "none" still carries it).
PROVIDERS = {
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
    "6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
    "531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
    "53414d53-554e-4700-0000-000000000000": "Samsung Pass",
}


def describe(aaguid: str, transports: list[str], synced: bool) -> str:
    """A default name the user can recognise, from the provider or the kind of device."""
    if aaguid in PROVIDERS:
        return PROVIDERS[aaguid]
    if synced:
        return "Synced passkey"
    if {"usb", "nfc", "ble"} & set(transports):
        return "Security key"
    return "Passkey on this device"


@dataclass(frozen=True)
class RelyingParty:
    """This site as WebAuthn names it (L3 §5.1.3 `rp`): its RP ID, name and origins."""

    id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Assertion:
    passkey: Passkey
    user_verified: bool

    @property
    def amr(self) -> list[str]:
        """RFC 8176 methods: the key, plus "mfa" when the authenticator verified the user
        (something held and something known or biometric)."""
        return [self.passkey.amr, "mfa"] if self.user_verified else [self.passkey.amr]

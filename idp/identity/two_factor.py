"""Two-factor sign-in: an authenticator app (TOTP), backup codes, and trusted devices.

TOTP follows RFC 6238 with the parameters every authenticator app expects: SHA-1, six digits,
30-second steps (§4), one step of clock drift either way (§5.2), and no code accepted twice
(§5.2: the newest accepted step is stored). The secret (160 bits, RFC 4226 §4) is encrypted
at rest with a key derived from IDP_SECRET_KEY, bound to its user. This is the only module
that imports pyotp.

Backup codes are random (about 40 bits each), stored as HMAC-SHA256 under the secret key and
used once. A trusted device is a random cookie value whose SHA-256 digest is stored; it skips
the second-factor page until it expires. Functions that change something commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

import pyotp
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.db import db, utcnow
from idp.errors import IdpError
from idp.identity.models import User
from idp.identity.two_factor_models import BackupCode, TotpFactor, TrustedDevice
from idp.keys.sealing import CannotOpen, Sealer
from idp.settings import app_settings

STEP_SECONDS = 30  # RFC 6238 §5.2 recommends 30 s
DIGITS = 6
VALID_WINDOW = 1  # steps of drift accepted either way (RFC 6238 §5.2)
SECRET_LENGTH = 32  # base32 characters: 160 bits, as RFC 4226 §4 recommends
BACKUP_CODE_COUNT = 10
# No 0/o, 1/l/i: a code copied from paper is read back right.
BACKUP_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
TRUSTED_COOKIE = "idp_trusted"


ALREADY_ON = "Two-factor authentication is already on."


class InvalidCode(IdpError):
    code = "invalid_code"


class AlreadyOn(InvalidCode):
    """Two-factor is on already (perhaps turned on by a parallel request)."""

    code = "already_on"


# --- Authenticator app (TOTP) -------------------------------------------------------------


def requires_second_factor(user: User) -> bool:
    """Whether signing in as `user` needs a second factor (two-factor is on)."""
    return totp_factor(user) is not None


# Built once: building a statement and its cache key costs more than the read it makes.
_TOTP_OF = select(TotpFactor).where(TotpFactor.user_id == bindparam("user_id"))


def totp_factor(user: User) -> TotpFactor | None:
    return db.session.scalar(_TOTP_OF, {"user_id": user.id})


def new_secret() -> str:
    return pyotp.random_base32(SECRET_LENGTH)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps read from the QR code (label: issuer and email)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def seal_setup(user: User, secret: str) -> str:
    """The secret being set up, encrypted for the setup form (only this user can send it back)."""
    return _sealer().seal(secret.encode(), label=f"totp-setup:{user.id}")


def open_setup(user: User, sealed: str) -> str:
    try:
        return _sealer().open(sealed, label=f"totp-setup:{user.id}").decode()
    except CannotOpen:
        raise InvalidCode(
            "The setup form has expired. Scan the new QR code and try again.", field="code"
        ) from None


def enable_totp(user: User, secret: str, code: str, *, at: float | None = None) -> list[str]:
    """Turn two-factor on once `code` proves the app has `secret`; returns new backup codes."""
    if totp_factor(user) is not None:
        raise AlreadyOn(ALREADY_ON)
    step = _matching_step(secret, _digits(code), at)
    if step is None:
        raise InvalidCode(
            "That code is not right. Enter the 6-digit code your authenticator app shows now.",
            field="code",
        )
    sealed = _sealer().seal(secret.encode(), label=f"totp:{user.id}")
    db.session.add(TotpFactor(user_id=user.id, secret_sealed=sealed, last_used_step=step))
    try:
        db.session.flush()
    except IntegrityError:  # turned on by a parallel request since the check above
        db.session.rollback()
        raise AlreadyOn(ALREADY_ON) from None
    codes = _replace_backup_codes(user)
    record(Event.TWO_FACTOR_ENABLED, user_id=user.id, subject=user.email, method="totp")
    db.session.commit()
    return codes


def verify_totp(user: User, code: str, *, at: float | None = None) -> None:
    """Accept `code` once, or raise `InvalidCode` saying why not."""
    factor = totp_factor(user)
    if factor is None:
        raise InvalidCode("Two-factor authentication is not on for this account.")
    secret = _sealer().open(factor.secret_sealed, label=f"totp:{user.id}").decode()
    step = _matching_step(secret, _digits(code), at)
    if step is None:
        raise InvalidCode(
            "That code is not right. Enter the 6-digit code your authenticator app shows now.",
            field="code",
        )
    # RFC 6238 §5.2: a code, once accepted, must not be accepted again. The update only
    # succeeds for a newer step, so two requests racing with one code cannot both pass.
    taken = db.session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.id == factor.id,
            (TotpFactor.last_used_step.is_(None)) | (TotpFactor.last_used_step < step),
        )
        .values(last_used_step=step)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise InvalidCode(
            "That code was already used. Wait for the next code in your authenticator app.",
            field="code",
        )
    db.session.commit()


def disable(user: User) -> None:
    """Turn two-factor off: the app, the backup codes and the trusted devices go."""
    for model in (TotpFactor, BackupCode, TrustedDevice):
        db.session.execute(delete(model).where(model.user_id == user.id))
    record(Event.TWO_FACTOR_DISABLED, user_id=user.id, subject=user.email)
    db.session.commit()


def _matching_step(secret: str, code: str, at: float | None) -> int | None:
    """The time step within the window whose code is `code` (RFC 6238 §4: T = unix time / X)."""
    if len(code) != DIGITS:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = int((time.time() if at is None else at) // STEP_SECONDS)
    found = None
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def _digits(code: str) -> str:
    return "".join(code.split()).replace("-", "")


# --- Backup codes ---------------------------------------------------------------------------


def regenerate_backup_codes(user: User) -> list[str]:
    """New backup codes for `user`; the old ones stop working."""
    codes = _replace_backup_codes(user)
    db.session.commit()
    return codes


def backup_codes_left(user: User) -> int:
    rows = db.session.scalars(
        select(BackupCode.id).where(BackupCode.user_id == user.id, BackupCode.used_at.is_(None))
    )
    return len(list(rows))


def use_backup_code(user: User, code: str) -> None:
    """Accept an unused backup code of `user` (it is used up), or raise `InvalidCode`."""
    typed = _backup_mac(_normalise_backup(code))
    match = None
    for row in db.session.scalars(select(BackupCode).where(BackupCode.user_id == user.id)):
        if hmac.compare_digest(row.code_hash, typed):
            match = row
    if match is None:
        raise InvalidCode("That backup code is not right. Check it for typos.", field="code")
    used = db.session.execute(
        update(BackupCode)
        .where(BackupCode.id == match.id, BackupCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise InvalidCode(
            "That backup code has already been used. Each code works once; use another.",
            field="code",
        )
    record(
        Event.BACKUP_CODE_USED,
        user_id=user.id,
        subject=user.email,
        left=backup_codes_left(user),
    )
    db.session.commit()


def _replace_backup_codes(user: User) -> list[str]:
    db.session.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    codes = [_new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    for code in codes:
        db.session.add(BackupCode(user_id=user.id, code_hash=_backup_mac(code)))
    record(Event.BACKUP_CODES_GENERATED, user_id=user.id, subject=user.email, count=len(codes))
    return codes


def _new_backup_code() -> str:
    chars = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def _normalise_backup(code: str) -> str:
    chars = "".join(code.split()).replace("-", "").lower()
    return f"{chars[:4]}-{chars[4:]}"


def _backup_mac(code: str) -> str:
    return hmac.new(_secret_key().encode(), f"backup:{code}".encode(), hashlib.sha256).hexdigest()


# --- Trusted devices ------------------------------------------------------------------------


def trust_device(user: User, *, ttl: int, ip: str | None, user_agent: str | None) -> str:
    """Remember this browser for `ttl` seconds; returns the token for it to keep."""
    token = new_token()
    now = utcnow()
    db.session.add(
        TrustedDevice(
            user_id=user.id,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
            last_used_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:512] or None,
        )
    )
    record(Event.TRUSTED_DEVICE_ADDED, user_id=user.id, subject=user.email, days=ttl // 86400)
    db.session.commit()
    return token


def device_trusted(user: User, token: str | None) -> bool:
    """Whether `token` (the browser's 'trust this device' mark) is live for `user`."""
    device = this_device(user, token)
    if device is None:
        return False
    device.last_used_at = utcnow()
    db.session.commit()
    return True


def this_device(user: User, token: str | None) -> TrustedDevice | None:
    """The live trusted-device row of `user` that `token` names, if any."""
    if not token:
        return None
    return db.session.scalar(
        select(TrustedDevice).where(
            TrustedDevice.user_id == user.id,
            TrustedDevice.token_hash == digest(token),
            TrustedDevice.expires_at > utcnow(),
        )
    )


def trusted_devices(user: User) -> list[TrustedDevice]:
    """The user's live trusted devices, newest first."""
    return list(
        db.session.scalars(
            select(TrustedDevice)
            .where(TrustedDevice.user_id == user.id, TrustedDevice.expires_at > utcnow())
            .order_by(TrustedDevice.created_at.desc(), TrustedDevice.id.desc())
        )
    )


def revoke_trusted_devices(user: User, device_id: int | None = None) -> int:
    """Forget one trusted device of `user` (or all of them); returns how many went."""
    query = delete(TrustedDevice).where(TrustedDevice.user_id == user.id)
    if device_id is not None:
        query = query.where(TrustedDevice.id == device_id)
    removed: int = db.session.execute(query).rowcount  # type: ignore[attr-defined]
    if removed:
        record(
            Event.TRUSTED_DEVICE_REVOKED,
            user_id=user.id,
            subject=user.email,
            device_id=device_id,
            count=removed,
        )
    db.session.commit()
    return removed


def _sealer() -> Sealer:
    return Sealer(_secret_key())


def _secret_key() -> str:
    return str(app_settings().secret_key)

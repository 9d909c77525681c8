"""Proving a second factor, and the mail about two-factor: an authenticator code, a backup
code or an emailed code checked under the lockout, the emailed code sent, the owner told of
changes. The factors themselves (TOTP, backup codes, trusted devices) are in
idp.identity.two_factor; finishing the sign-in is idp.identity.login's.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import IdpError
from idp.identity import lockout, one_time, two_factor
from idp.identity.models import User
from idp.identity.sessions import ActiveSession, app_sessions
from idp.mail import MailError, app_mailer
from idp.settings import app_settings

EMAIL_CODE = "second_factor_code"
# How a second factor is proven, and the lockout credential its failures count in.
CREDENTIALS = {"totp": "totp", "backup": "backup_code", "email": "email_code"}
REFUSED = (two_factor.InvalidCode, one_time.InvalidToken)


def prove(
    user: User,
    method: str,
    code: str,
    *,
    ip: str | None,
    user_agent: str | None = None,
    trust_for: int | None = None,
) -> str | None:
    """Check `code` for `method`; with `trust_for` (seconds) also trust this device and
    return its token. Raises `IdpError` when two-factor is off, else `Locked`, `InvalidCode`
    or `InvalidToken`; a wrong code is counted in the lockout and audited."""
    if not two_factor.requires_second_factor(user):
        raise IdpError("Two-factor authentication is not on for this account.")
    credential = CREDENTIALS[method]
    try:
        lockout.attempt(
            credential, user.email, ip, lambda: _verify(user, method, code), lambda: user, REFUSED
        )
    except REFUSED:
        record(Event.SECOND_FACTOR_FAILED, user_id=user.id, subject=user.email, method=method)
        db.session.commit()
        raise
    if trust_for is None:
        return None
    return two_factor.trust_device(user, ttl=trust_for, ip=ip, user_agent=user_agent)


def _verify(user: User, method: str, code: str) -> None:
    if not code.strip():
        raise two_factor.InvalidCode("Enter the code.", field="code")
    if method == "totp":
        two_factor.verify_totp(user, code)
    elif method == "backup":
        two_factor.use_backup_code(user, code)
    else:
        one_time.redeem_code(EMAIL_CODE, user, code)
        db.session.commit()


def send_email_code(user: User, *, ip: str | None) -> None:
    """Mail a six-digit code now (the user already gave their password, so a `MailError` is
    theirs to see; nothing is kept then)."""
    settings = app_settings()
    code = one_time.issue_code(EMAIL_CODE, user, ttl=settings.email_sign_in_ttl)
    try:
        app_mailer().send(
            user.email,
            f"Your {settings.site_name} verification code",
            "second_factor_code",
            user=user,
            code=code,
            minutes=settings.email_sign_in_ttl // 60,
            ip=ip,
        )
    except MailError:
        db.session.rollback()
        raise
    record(Event.SIGN_IN_CODE_SENT, user_id=user.id, subject=user.email, purpose=EMAIL_CODE)
    db.session.commit()


@dataclass(frozen=True)
class Setup:
    """What the setup page shows for a new secret: the otpauth:// URI, its QR code (inline
    SVG made here by segno, no outside service), the secret in groups of four to type, and
    the secret sealed for the form."""

    uri: str
    qr_svg: str
    grouped_secret: str
    sealed: str


def setup(user: User, secret: str) -> Setup:
    issuer = app_settings().site_name
    uri = two_factor.provisioning_uri(secret, account=user.email, issuer=issuer)
    import segno  # on first use, not at start (about 1 MiB)

    qr = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", title=f"QR code to add {issuer} to an app"
    )
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return Setup(uri, qr, grouped, two_factor.seal_setup(user, secret))


def turn_on(
    user: User,
    sealed: str,
    code: str,
    current: ActiveSession | None,
    *,
    ip: str | None,
    security_url: str,
) -> list[str]:
    """Turn on the authenticator app whose secret the setup form carried sealed, with a code
    from it; returns the first backup codes. Raises `InvalidCode` (nothing changes)."""
    secret = two_factor.open_setup(user, sealed)
    try:
        codes = two_factor.enable_totp(user, secret, code)
    except two_factor.InvalidCode:
        db.session.rollback()
        raise
    if current is not None:  # the code just typed proves the app: this session has both factors
        app_sessions().reauthenticate(current, ["otp"])
    notify_change(user, "turned on", ip=ip, security_url=security_url)
    return codes


def setup_secret(user: User, sealed: str) -> str:
    """The secret to show again after a failed setup: the sealed one, or a new one if it
    cannot be opened any more."""
    try:
        return two_factor.open_setup(user, sealed)
    except two_factor.InvalidCode:
        return two_factor.new_secret()


def new_backup_codes(user: User, *, ip: str | None, security_url: str) -> list[str]:
    codes = two_factor.regenerate_backup_codes(user)
    change = "given new backup codes (the old ones no longer work)"
    notify_change(user, change, ip=ip, security_url=security_url)
    return codes


def turn_off(user: User, *, ip: str | None, security_url: str) -> bool:
    """Turn two-factor off (backup codes and trusted devices go too); False if it was off."""
    if not two_factor.requires_second_factor(user):
        return False
    two_factor.disable(user)
    notify_change(user, "turned off", ip=ip, security_url=security_url)
    return True


def notify_change(user: User, change: str, *, ip: str | None, security_url: str) -> None:
    """Tell the owner two-factor was turned on or off, or given new backup codes."""
    settings = app_settings()
    app_mailer().send_later(
        user.email,
        f"Two-factor authentication on your {settings.site_name} account was changed",
        "two_factor_changed",
        user=user,
        change=change,
        ip=ip,
        security_url=security_url,
    )

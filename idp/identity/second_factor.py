"""Proving a second factor, and the mail about two-factor: an authenticator code, a backup
code or an emailed code checked under the lockout, the emailed code sent, the owner told of
changes. The factors themselves (TOTP, backup codes, trusted devices) are in
idp.identity.two_factor; finishing the sign-in is idp.identity.login's.
"""

from __future__ import annotations

from idp.core.audit import Event, record
from idp.db import db
from idp.identity import lockout, one_time, two_factor
from idp.identity.models import User
from idp.mail import MailError, app_mailer
from idp.settings import app_settings

EMAIL_CODE = "second_factor_code"
# How a second factor is proven, and the lockout credential its failures count in.
CREDENTIALS = {"totp": "totp", "backup": "backup_code", "email": "email_code"}
REFUSED = (two_factor.InvalidCode, one_time.InvalidToken)


def prove(user: User, method: str, code: str, *, ip: str | None) -> None:
    """Check `code` for `method`; raises `Locked`, `InvalidCode` or `InvalidToken`, and a
    wrong code is counted in the lockout and audited."""
    credential = CREDENTIALS[method]
    try:
        lockout.attempt(
            credential, user.email, ip, lambda: _verify(user, method, code), lambda: user, REFUSED
        )
    except REFUSED:
        record(Event.SECOND_FACTOR_FAILED, user_id=user.id, subject=user.email, method=method)
        db.session.commit()
        raise


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

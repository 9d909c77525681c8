"""Password reset by email (OWASP Forgot Password Cheat Sheet).

A request answers the same whether or not an account exists; only an account gets a link.
The link is single use and valid for `IDP_PASSWORD_RESET_TTL` seconds. Using it sets a new
password under the usual policy, ends every session of the account, and counts as proof that
the person receives mail at the address. It does not skip two-factor: the next sign-in still
asks for the second factor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from idp.core.audit import Event, record
from idp.db import db
from idp.identity import lockout, one_time, users
from idp.identity.models import User
from idp.identity.one_time import OneTimeToken
from idp.identity.passwords import hash_password
from idp.identity.sessions import app_sessions
from idp.identity.verification import mark_verified
from idp.mail import MailError, app_mailer
from idp.settings import app_settings

PURPOSE = "password_reset"


def request_reset(email: str, *, ttl: int, **detail: str) -> tuple[User, str] | None:
    """A reset link secret for the account at `email` (normalised), or None without one.

    The request is audited either way; raises `InvalidInput` for an address that is not one.
    """
    email = users.normalise_email(email)
    user = users.find_by_email(email)
    record(
        Event.PASSWORD_RESET_REQUESTED, user_id=user.id if user else None, subject=email, **detail
    )
    if user is None:
        db.session.commit()
        return None
    secret = one_time.issue_link(PURPOSE, user, ttl=ttl)
    db.session.commit()
    return user, secret


def send_reset_link(email: str, link: Callable[[str], str], **detail: str) -> None:
    """Mail a reset link (`link(secret)`) if `email` has an account; run after the answer,
    so neither the page nor its timing tells whether it has one. `detail` goes to the audit
    log (an admin who sent it, say)."""
    ttl = app_settings().password_reset_ttl
    issued = request_reset(email, ttl=ttl, **detail)
    if issued is None:
        return
    user, secret = issued
    # A failure is logged by the mailer; the page only said "if there is an account".
    with contextlib.suppress(MailError):
        app_mailer().send(
            user.email,
            "Reset your password",
            "password_reset",
            user=user,
            link=link(secret),
            minutes=max(1, ttl // 60),
        )


def finish_reset(secret: str, password: str, *, ip: str | None, reset_url: str) -> User:
    """Set the new password, end every session, clear the password lockout, tell the owner.
    Raises as `reset_password` does."""
    user = reset_password(secret, password)
    app_sessions().revoke_all(user, reason="password_reset")
    lockout.succeeded("password", user.email)
    app_mailer().send_later(
        user.email,
        "Your password was changed",
        "password_changed_notice",
        user=user,
        ip=ip,
        reset_url=reset_url,
    )
    return user


def peek(secret: str) -> OneTimeToken | None:
    return one_time.peek_link(PURPOSE, secret)


def reset_password(secret: str, password: str) -> User:
    """Set a new password with a reset link (the caller then ends the account's sessions).

    The policy is checked before the link is used, so a refused password leaves it valid.
    Raises `InvalidInput` (field "password") or `InvalidToken`.
    """
    users.check_new_password(password)
    row = one_time.redeem_link(PURPOSE, secret)
    user = row.user
    if row.email != user.email:
        db.session.rollback()
        raise one_time.InvalidToken("This link is for an address your account no longer uses.")
    user.password_hash = hash_password(password)
    mark_verified(user)  # the link reached the account's address
    record(Event.PASSWORD_RESET, user_id=user.id, subject=user.email)
    db.session.commit()
    return user

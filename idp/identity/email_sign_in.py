"""Passwordless sign-in by email: one message carries a sign-in link and a six-digit code,
both bound to the browser that asked. Either one proves control of the mailbox, the
RFC 8176 §2 method "otp"; using one retires the other, and proves the address.

Accounts are never created here. The pages, the message, the record that lets the asking
browser type the code, rate limits and lockout are in idp.web.email_sign_in.
"""

from __future__ import annotations

from sqlalchemy import update

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.identity import one_time
from idp.identity.models import User
from idp.identity.one_time import InvalidToken, OneTimeToken

LINK = "sign_in_link"
CODE = "sign_in_code"


def issue(user: User, *, browser: str, ttl: int) -> tuple[str, str]:
    """A new link secret and code for `user`; earlier ones stop working."""
    secret = one_time.issue_link(LINK, user, ttl=ttl, browser=browser)
    code = one_time.issue_code(CODE, user, ttl=ttl, browser=browser)
    record(Event.SIGN_IN_LINK_SENT, user_id=user.id, subject=user.email, code=True)
    db.session.commit()
    return secret, code


def link_to_confirm(secret: str) -> OneTimeToken:
    """The live row of a link, unchanged; `InvalidToken` saying why it cannot be used."""
    row = one_time.peek_link(LINK, secret)
    if row is not None:
        return row
    try:
        one_time.redeem_link(LINK, secret)  # only for its message: rolled back below
    finally:
        db.session.rollback()
    raise InvalidToken("This link is not valid. Check that you copied all of it.")


def redeem_link(secret: str) -> User:
    """The user a link signs in; the link and its code are used up."""
    return _signed_in(one_time.redeem_link(LINK, secret))


def redeem_code(user: User, code: str) -> User:
    """`user`, if `code` is their live one; `InvalidToken` otherwise (see one_time)."""
    return _signed_in(one_time.redeem_code(CODE, user, code))


def _signed_in(row: OneTimeToken) -> User:
    """Retire the rest of the message (link or code); the mailbox is now proven."""
    user = row.user
    db.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose.in_((LINK, CODE)),
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if user.email_verified_at is None and row.email == user.email:
        user.email_verified_at = utcnow()
        record(Event.EMAIL_VERIFIED, user_id=user.id, subject=user.email, by="sign_in_email")
    db.session.commit()
    return user

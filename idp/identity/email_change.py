"""Changing the email address: the new address must prove it receives our mail first.

The request stores a single-use link for the new address (`row.email`) and nothing else; the
account keeps its address until the link is used. An address that belongs to another account
is not revealed to the person asking: they see the same answer, and the owner of that address
is told instead. When the change goes through, links sent to the old address stop working.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.errors import IdpError, InvalidInput
from idp.identity import one_time, recovery, users, verification
from idp.identity.models import User
from idp.identity.one_time import InvalidToken, OneTimeToken
from idp.mail import app_mailer
from idp.settings import app_settings

PURPOSE = "email_change"
TAKEN = "That address is now used by another account, so it cannot be yours. Nothing was changed."


def request_change(user: User, new_email: str, *, ttl: int) -> tuple[str, str | None]:
    """The new address (normalised) and a link secret for it, or None when another account
    already uses it. Stages the link in the session: the caller commits once the mail went
    out, or rolls back."""
    email = users.normalise_email(new_email)
    if email == user.email:
        raise InvalidInput("That is already your email address.", field="email")
    taken = users.find_by_email(email) is not None
    record(Event.EMAIL_CHANGE_REQUESTED, user_id=user.id, subject=user.email, new=email)
    if taken:
        return email, None
    return email, one_time.issue_link(PURPOSE, user, ttl=ttl, email=email)


def ask_for_change(
    user: User, new_email: str, link: Callable[[str], str], *, sign_in_url: str, reset_url: str
) -> str:
    """Mail the new address its confirmation link (`link(secret)`), or, when another account
    has it, a note to its owner; returns the new address. Mail goes out now: when it cannot,
    the `MailError` is raised and nothing is kept."""
    ttl = app_settings().verify_email_ttl
    try:
        email, secret = request_change(user, new_email, ttl=ttl)
        mailer = app_mailer()
        if secret is None:
            mailer.send(
                email,
                "Someone tried to move an account to this address",
                "email_change_taken",
                sign_in_url=sign_in_url,
                reset_url=reset_url,
            )
        else:
            mailer.send(
                email,
                "Confirm your new email address",
                "email_change",
                user=user,
                new_email=email,
                link=link(secret),
                hours=max(1, ttl // 3600),
            )
    except IdpError:
        db.session.rollback()
        raise
    db.session.commit()
    return email


def confirm_and_notify(secret: str, *, reset_url: str) -> User:
    """`confirm_change`, then tell the old address it is no longer the account's."""
    user, old = confirm_change(secret)
    app_mailer().send_later(
        old,
        "Your email address was changed",
        "email_changed_notice",
        user=user,
        old_email=old,
        new_email=user.email,
        reset_url=reset_url,
    )
    return user


def peek(secret: str) -> OneTimeToken | None:
    return one_time.peek_link(PURPOSE, secret)


def confirm_change(secret: str) -> tuple[User, str]:
    """Switch the account to the link's address, verified; returns the user and old address.

    Raises `InvalidToken` when the link cannot be used or the address was taken meanwhile
    (then nothing changes and the link stays usable for nothing else).
    """
    row = one_time.redeem_link(PURPOSE, secret)
    user, old = row.user, row.user.email
    if users.find_by_email(row.email) is not None:
        db.session.rollback()
        raise InvalidToken(TAKEN)
    user.email = row.email
    user.email_verified_at = utcnow()
    _retire_links_to_old_address(user)
    record(Event.EMAIL_CHANGED, user_id=user.id, subject=user.email, old=old, new=row.email)
    try:
        db.session.commit()
    except IntegrityError:  # another account took the address between the check and now
        db.session.rollback()
        raise InvalidToken(TAKEN) from None
    return user, old


def _retire_links_to_old_address(user: User) -> None:
    db.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.email != user.email,
            OneTimeToken.purpose.in_([verification.PURPOSE, recovery.PURPOSE]),
        )
        .values(used_at=utcnow())
    )

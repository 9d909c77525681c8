"""Sign-up and email verification: proving that a person receives mail at their address.

Sign-up answers the same whether or not the address already has an account (no user
enumeration): a new address gets an account and a verification link, a known one gets a
notice instead, and both paths hash the password once, so they cost the same time.
Verification links are single use, valid for `IDP_VERIFY_EMAIL_TTL` seconds, and may be
bound to the browser that signed up (the web layer decides what a match allows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.errors import EmailTaken
from idp.identity import one_time, users
from idp.identity.models import User
from idp.identity.one_time import InvalidToken, OneTimeToken
from idp.identity.passwords import hash_password
from idp.mail import app_mailer
from idp.settings import app_settings

PURPOSE = "verify_email"


@dataclass(frozen=True)
class SignUp:
    """The outcome of a sign-up form: the account, and whether this form created it."""

    user: User
    created: bool


def sign_up(email: str, name: str, password: str) -> SignUp:
    """Create an account, or find the one that already has this address.

    Raises `InvalidInput` for bad input (nothing stored). For a known address it audits
    `SIGN_UP_EXISTING_EMAIL` and hashes the password anyway, as `create_user` would.
    """
    email = users.normalise_email(email)
    users.clean_name(name)
    users.check_new_password(password)
    existing = users.find_by_email(email)
    if existing is None:
        try:
            return SignUp(users.create_user(email, name, password), created=True)
        except EmailTaken:  # created by a request running at the same time
            existing = users.find_by_email(email)
            if existing is None:
                raise
    hash_password(password)  # the same work as a new account, so timing reveals nothing
    record(Event.SIGN_UP_EXISTING_EMAIL, user_id=existing.id, subject=email)
    db.session.commit()
    return SignUp(existing, created=False)


def issue_link(user: User, *, ttl: int, browser: str | None = None) -> str:
    """A new verification link secret for the user's current address (committed)."""
    secret = one_time.issue_link(PURPOSE, user, ttl=ttl, browser=browser)
    db.session.commit()
    return secret


def send_link(user: User, link: Callable[[str], str], *, browser: str | None = None) -> None:
    """Mail a new verification link (`link(secret)`), bound to `browser` if given."""
    ttl = app_settings().verify_email_ttl
    secret = issue_link(user, ttl=ttl, browser=browser)
    app_mailer().send_later(
        user.email,
        "Confirm your email address",
        "verify_email",
        user=user,
        link=link(secret),
        hours=max(1, ttl // 3600),
    )


def answer_sign_up(
    result: SignUp, browser: str, link: Callable[[str], str], *, sign_in_url: str, reset_url: str
) -> None:
    """Mail a new account its link (bound to the browser that signed up); mail an existing
    one a notice that someone tried to sign up with its address."""
    user = result.user
    if result.created:
        send_link(user, link, browser=browser)
        return
    app_mailer().send_later(
        user.email,
        f"Your {app_settings().site_name} account",
        "sign_up_existing",
        user=user,
        sign_in_url=sign_in_url,
        reset_url=reset_url,
    )


def resend_if_unverified(email: str, browser: str | None, link: Callable[[str], str]) -> None:
    """A new link for an address that waits for verification (run after the answer, so the
    answer tells nothing). It signs in only the browser that signed up for this account."""
    user = needs_verifying(email)
    if user is None:
        return
    bound = browser is not None and latest_browser(user) == browser
    send_link(user, link, browser=browser if bound else None)


def needs_verifying(email: str) -> User | None:
    """The account at this address if it still has to be verified."""
    user = users.find_by_email(email)
    return user if user is not None and user.email_verified_at is None else None


def latest_browser(user: User) -> str | None:
    """The browser the user's newest verification link was bound to, if any."""
    return db.session.scalar(
        select(OneTimeToken.browser_hash)
        .where(OneTimeToken.purpose == PURPOSE, OneTimeToken.user_id == user.id)
        .order_by(OneTimeToken.id.desc())
        .limit(1)
    )


def peek(secret: str) -> OneTimeToken | None:
    return one_time.peek_link(PURPOSE, secret)


def verify(secret: str) -> OneTimeToken:
    """Use a verification link: the address is verified; raises `InvalidToken` saying why not.

    A link sent before the address changed verifies nothing and is refused.
    """
    row = one_time.redeem_link(PURPOSE, secret)
    user = row.user
    if row.email != user.email:
        db.session.rollback()
        raise InvalidToken("This link is for an address your account no longer uses.")
    mark_verified(user)
    record(Event.EMAIL_VERIFIED, user_id=user.id, subject=user.email)
    db.session.commit()
    return row


def mark_verified(user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()

"""Passwordless sign-in by email: one message carries a sign-in link and a six-digit code,
both bound to the browser that asked. Either one proves control of the mailbox, the
RFC 8176 §2 method "otp"; using one retires the other, and proves the address.

Accounts are never created here. Here too: the *request record* that lets the asking browser
type the code (kept in the store under the digest of the browser's token), mailing the
message, and checking a typed code under the lockout. The pages, the cookie and the rate
limits are in idp.web.email_sign_in.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import update

from idp.core.audit import Event, record
from idp.core.security import digest, new_token, same
from idp.core.store import StoreUnavailable, app_store
from idp.db import db, utcnow
from idp.errors import InvalidInput
from idp.identity import lockout, one_time, users
from idp.identity.bans import active_ban
from idp.identity.models import User
from idp.identity.one_time import CODE_ATTEMPTS, InvalidToken, OneTimeToken
from idp.mail import MailError, app_mailer
from idp.settings import app_settings

LINK = "sign_in_link"
CODE = "sign_in_code"
# The answers of one_time.redeem_code, given for an address without an account too.
NOT_RIGHT = "That code is not right. Check the latest email and try again."
USED_UP = "That code has expired or was already used. Ask for a new one."


@dataclass
class SignInRequest:
    """What one browser asked for, kept in the store under its token's digest until the
    link and code expire: the address (the code form never takes it from the page), where to
    go next, and when and from where it was asked (shown if the link opens elsewhere)."""

    email: str
    next: str
    ip: str | None
    at: float
    # Wrong codes typed for an address without an account (an account's are in its code row).
    attempts: int = 0


def save_request(browser: str, asked: SignInRequest) -> None:
    ttl = round(asked.at + app_settings().email_sign_in_ttl - time.time())
    with contextlib.suppress(StoreUnavailable):  # the link works without it
        app_store().set(_record_key(browser), json.dumps(asdict(asked)).encode(), max(1, ttl))


def load_request(browser: str) -> SignInRequest | None:
    try:
        raw = app_store().get(_record_key(browser))
    except StoreUnavailable:
        return None
    asked = SignInRequest(**json.loads(raw)) if raw else None
    # Its own timestamp decides, not only the store's TTL: every store and process agrees.
    if asked is None or asked.at + app_settings().email_sign_in_ttl <= time.time():
        return None
    return asked


def forget_request(browser: str) -> None:
    if browser:
        with contextlib.suppress(StoreUnavailable):
            app_store().delete(_record_key(browser))


def _record_key(browser: str) -> str:
    return "email-sign-in:" + browser


def send_if_account(email: str, browser: str, ip: str | None, link: Callable[[str], str]) -> None:
    """Mail a link (`link(secret)`) and code to `email` if it has an account; run after the
    answer, so neither the page nor its timing tells whether it has one."""
    try:
        user = users.find_by_email(email)
        if user is None:
            return
        settings = app_settings()
        secret, code = issue(user, browser=browser, ttl=settings.email_sign_in_ttl)
        app_mailer().send(
            email,
            f"Sign in to {settings.site_name}",
            "sign_in",
            name=user.name,
            link=link(secret),
            code=code,
            minutes=settings.email_sign_in_ttl // 60,
            ip=ip,
        )
    except MailError:
        pass  # logged by the mailer; the page already said "if there is an account"


def check_code(browser: str, asked: SignInRequest, typed: str, ip: str | None) -> User:
    """Check the code typed in the asking browser, under lockout; `InvalidInput`, `Locked` or
    `InvalidToken`. An address without an account answers as an account's wrong code would."""
    code = clean_code(typed)
    lockout.check("email_code", asked.email, ip)
    user = users.find_by_email(asked.email)
    if user is None:
        lockout.failed("email_code", asked.email, ip, None)
        asked.attempts += 1
        save_request(browser, asked)
        raise InvalidToken(NOT_RIGHT if asked.attempts <= CODE_ATTEMPTS else USED_UP, field="code")
    try:
        redeem_code(user, code)
    except InvalidToken:
        lockout.failed("email_code", asked.email, ip, user)
        raise
    lockout.succeeded("email_code", asked.email)
    return user


def issue(user: User, *, browser: str, ttl: int) -> tuple[str, str]:
    """A new link secret and code for `user`; earlier ones stop working."""
    secret = one_time.issue_link(LINK, user, ttl=ttl, browser=browser)
    code = one_time.issue_code(CODE, user, ttl=ttl, browser=browser)
    record(Event.SIGN_IN_LINK_SENT, user_id=user.id, subject=user.email, code=True)
    db.session.commit()
    return secret, code


@dataclass(frozen=True)
class OpenedLink:
    """A live link as its confirmation page shows it: whether it is opened in the browser that
    asked, and that browser's request (when and from where)."""

    row: OneTimeToken
    same_browser: bool
    asked: SignInRequest | None

    @property
    def next(self) -> str | None:
        """Only the browser that asked continues what it was doing (an app's sign-in, say)."""
        return self.asked.next if self.same_browser and self.asked else None


def open_link(secret: str, browser: str) -> OpenedLink:
    """The link `secret`, opened in `browser` (its token's digest, or ""); `InvalidToken`."""
    row = link_to_confirm(secret)
    same_browser = bool(browser and row.browser_hash and same(browser, row.browser_hash))
    asked = load_request(row.browser_hash) if row.browser_hash else None
    return OpenedLink(row, same_browser, asked)


def start_request(email: str, next: str, ip: str | None) -> tuple[str, str]:
    """Keep what this browser asked for; returns its new token and the token's digest."""
    token = new_token()
    browser = digest(token)
    save_request(browser, SignInRequest(email, next, ip, time.time()))
    return token, browser


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
    """Retire the rest of the message (link or code); the mailbox is now proven (unless the
    account is banned: then nothing about it changes, and the sign-in is refused)."""
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
    verifies = user.email_verified_at is None and row.email == user.email
    if verifies and active_ban(user.id) is None:
        user.email_verified_at = utcnow()
        record(Event.EMAIL_VERIFIED, user_id=user.id, subject=user.email, by="sign_in_email")
    db.session.commit()
    return user


def clean_code(raw: str) -> str:
    """The six digits typed, spaces and dashes dropped; `InvalidInput` if that is not a code."""
    code = "".join(ch for ch in raw if not ch.isspace() and ch != "-")
    if not code:
        raise InvalidInput("Enter the 6-digit code from the email.", field="code")
    if len(code) != 6 or not code.isdigit():
        raise InvalidInput("The code is 6 digits, like 123456.", field="code")
    return code

"""Deleting an account, for good.

The user row goes, and with it (by `ON DELETE CASCADE` foreign keys) everything that is the
account's: sessions, one-time links and codes, OAuth authorization codes, refresh-token
families and their tokens, consents, and the second factors. Audit rows stay, with the user
set to NULL (`ON DELETE SET NULL`), and the deletion itself is audited by email address.
"""

from __future__ import annotations

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import InvalidInput
from idp.identity import users
from idp.identity.models import User
from idp.identity.sessions import app_sessions
from idp.mail import app_mailer

MISMATCH = "Type your email address exactly as shown above to confirm. Nothing was deleted."


def check_confirmation(user: User, typed: str) -> None:
    """Raise `InvalidInput` unless `typed` is the account's address (any case or spacing)."""
    try:
        email = users.normalise_email(typed)
    except InvalidInput:
        email = ""
    if email != user.email:
        raise InvalidInput(MISMATCH, field="confirm_email")


def delete_account(user: User) -> str:
    """Delete the account and what belongs to it; returns the address it had."""
    email = user.email
    db.session.delete(user)
    db.session.flush()
    record(Event.ACCOUNT_DELETED, user_id=None, subject=email)
    db.session.commit()
    return email


def close_account(user: User, typed: str) -> None:
    """The account page's deletion: `typed` must be the address (`InvalidInput` otherwise);
    every session ends, the account goes, and its last address is told."""
    check_confirmation(user, typed)
    app_sessions().revoke_all(user, reason="account_deleted")
    name = user.name
    email = delete_account(user)
    app_mailer().send_later(email, "Your account was deleted", "account_deleted", name=name)

"""Passkey ceremonies, each in two halves: `begin_*` makes the WebAuthn options and keeps
their challenge in the store (five minutes, single use) under the caller's *browser token*,
so an answer counts only in the browser that asked; `finish_*` takes the challenge back and
verifies the authenticator's answer. Also adding and removing a passkey with the mail that
tells the owner.

The browser token is opaque here (the web layer keeps it in the browser's Flask session);
the checks themselves are idp.identity.passkey_protocol's. Nothing here reads HTTP.
"""

from __future__ import annotations

import json
from typing import Any

from idp.core.security import digest
from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.errors import IdpError
from idp.identity.models import User
from idp.identity.passkeys import (
    Assertion,
    Passkey,
    PasskeyError,
    RelyingParty,
    clean_name,
    remove,
    rename,
)
from idp.mail import app_mailer
from idp.settings import app_settings

CHALLENGE_TTL = 300
EXPIRED = "This passkey request has expired or was already used. Please try again."
UNAVAILABLE = "Passkeys are unavailable just now. Please try again soon."


class CeremonyExpired(PasskeyError):
    code = "passkey_request_expired"


class PasskeysUnavailable(PasskeyError):
    code = "unavailable"
    status = 503


def relying_party() -> RelyingParty:
    settings = app_settings()
    return RelyingParty(settings.webauthn_rp_id, settings.site_name, settings.webauthn_origins)


# Adding a passkey (WebAuthn L3 §7.1)


def begin_registration(user: User, browser: str, name: str) -> str:
    """The creation options (JSON text). A name given now is checked before the
    authenticator makes anything; raises `IdpError`, or `PasskeysUnavailable`."""
    if name.strip():
        clean_name(name)
    from idp.identity import passkey_protocol as protocol  # loads webauthn

    ceremony = protocol.registration_options(relying_party(), user)
    _keep("register", browser, ceremony.challenge, user)  # first: nothing is kept without it
    db.session.commit()  # the user handle, made on first use
    return ceremony.options


def finish_registration(
    user: User,
    browser: str | None,
    credential: object,
    name: str,
    *,
    ip: str | None,
    security_url: str,
) -> Passkey:
    """Verify and store the new passkey, and tell the owner; nothing is kept on `IdpError`."""
    try:
        challenge = _take("register", browser, user)
        from idp.identity import passkey_protocol as protocol  # loads webauthn

        passkey = protocol.register(relying_party(), user, _answer(credential), challenge, name)
    except IdpError:
        db.session.rollback()
        raise
    db.session.commit()
    app_mailer().send_later(
        user.email,
        "A passkey was added to your account",
        "passkey_added",
        user=user,
        passkey=passkey.name,
        ip=ip,
        security_url=security_url,
    )
    return passkey


# Signing in, or a second factor (WebAuthn L3 §7.2)


def begin_authentication(purpose: str, browser: str, user: User | None = None) -> str:
    """The request options (JSON text): for `user`'s passkeys (a second factor), else for any
    discoverable one. `purpose` keeps parallel requests of one browser apart."""
    from idp.identity import passkey_protocol as protocol  # loads webauthn

    ceremony = protocol.authentication_options(relying_party(), user)
    _keep(purpose, browser, ceremony.challenge, user)
    return ceremony.options


def finish_authentication(
    purpose: str, browser: str | None, credential: object, user: User | None = None
) -> Assertion:
    """The verified assertion; on `IdpError` only the PASSKEY_FAILED event is kept."""
    try:
        challenge = _take(purpose, browser, user)
        from idp.identity import passkey_protocol as protocol  # loads webauthn

        assertion = protocol.authenticate(relying_party(), _answer(credential), challenge, user)
    except IdpError:
        db.session.commit()  # the PASSKEY_FAILED event the check recorded
        raise
    db.session.commit()  # the counter, backup state and last use
    return assertion


# Managing


def rename_passkey(user: User, passkey: Passkey, name: str) -> None:
    try:
        rename(user, passkey, name)
    except IdpError:
        db.session.rollback()
        raise
    db.session.commit()


def remove_passkey(user: User, passkey: Passkey, *, ip: str | None, security_url: str) -> str:
    """Remove the passkey and tell the owner; returns its name."""
    name = passkey.name
    remove(user, passkey)
    db.session.commit()
    app_mailer().send_later(
        user.email,
        "A passkey was removed from your account",
        "passkey_removed",
        user=user,
        passkey=name,
        ip=ip,
        security_url=security_url,
    )
    return name


def _answer(credential: object) -> dict[str, Any]:
    if not isinstance(credential, dict):
        raise PasskeyError("No passkey answer was sent. Please try again.")
    return credential


# The challenge store


def _keep(purpose: str, browser: str, challenge: bytes, user: User | None) -> None:
    from idp.identity import passkey_protocol as protocol  # loads webauthn

    text = protocol.encode_challenge(challenge)
    value = {"challenge": text, "user_id": user.id if user else None}
    try:
        app_store().set(_key(purpose, browser), json.dumps(value).encode(), CHALLENGE_TTL)
    except StoreUnavailable as error:
        raise PasskeysUnavailable(UNAVAILABLE, detail=str(error)) from error


def _take(purpose: str, browser: str | None, user: User | None) -> bytes:
    """The challenge this browser was given for `purpose`, once (WebAuthn L3 §13.4.3)."""
    if not browser:
        raise CeremonyExpired(EXPIRED, detail="no ceremony in this browser")
    try:
        return _consume(_key(purpose, browser), user)
    except StoreUnavailable as error:
        raise PasskeysUnavailable(UNAVAILABLE, detail=str(error)) from error


def _consume(key: str, user: User | None) -> bytes:
    store = app_store()
    raw = store.get(key)
    if raw is None:
        raise CeremonyExpired(EXPIRED, detail="no challenge stored")
    store.delete(key)
    value = json.loads(raw)
    # One winner even if two requests read the challenge at the same moment.
    if not store.add("passkey-used:" + digest(value["challenge"]), b"1", CHALLENGE_TTL):
        raise CeremonyExpired(EXPIRED, detail="challenge already used")
    if value["user_id"] != (user.id if user else None):
        raise CeremonyExpired(EXPIRED, detail="challenge was for another user")
    from idp.identity import passkey_protocol as protocol  # loads webauthn

    return protocol.decode_challenge(value["challenge"])


def _key(purpose: str, browser: str) -> str:
    return f"passkey:{purpose}:{digest(browser)}"

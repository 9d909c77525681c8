"""Lockout without denial of service: failures of a credential slow down, then lock, that
credential for one account and for one IP.

Per account (the normalised email typed, so an unknown address behaves like a known one):
after `IDP_LOCKOUT_SLOW_AFTER` failures each new attempt must wait, 1 s then doubling; after
`IDP_LOCKOUT_AFTER` failures the credential is locked for `IDP_LOCKOUT_SECONDS`. Per IP the
lock comes after five times as many failures, without the slowing down (people behind one
NAT share an address), so one address guessing across many accounts is stopped too.

Only this credential is locked: a locked password leaves passkeys, magic links and password
reset working, so an attacker cannot lock the owner out of the account.

Counters live in the store (Redis with several processes) and expire with the window.
The caller passes the client's IP; this module knows nothing of HTTP (the 429 page is the
web layer's). `attempt` wraps one check of a credential in the whole policy.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import TypeVar

from idp.core import metrics
from idp.core.audit import Event, record
from idp.core.store import StoreUnavailable, app_store
from idp.db import db
from idp.errors import IdpError
from idp.identity.models import User
from idp.mail import app_mailer
from idp.settings import app_settings

IP_FACTOR = 5
MAX_WAIT = 60
T = TypeVar("T")

LABELS = {
    "password": "password",
    "totp": "authenticator code",
    "backup_code": "backup code",
    "email_code": "emailed code",
}


class Locked(IdpError):
    code = "locked"
    status = 429


def check(credential: str, account: str, ip: str | None) -> None:
    """Raise `Locked`, with what to do, when this credential may not be tried now."""
    for key, scale in _scopes(credential, account, ip):
        state = _state(key)
        if state is None:
            continue
        failures, last, locked_until = state
        now = time.time()
        if locked_until > now:
            minutes = max(1, round((locked_until - now) / 60))
            raise Locked(
                f"Too many failed attempts with this {_label(credential)}. It is locked for "
                f"{minutes} minute{'s' if minutes != 1 else ''}; you can still sign in "
                "another way or reset your password.",
                detail=key,
            )
        slow_after = app_settings().lockout_slow_after
        if scale == 1 and failures >= slow_after:
            wait = min(MAX_WAIT, 2 ** (failures - slow_after))
            if last + wait > now:
                seconds = max(1, round(last + wait - now))
                raise Locked(
                    f"Too many failed attempts. Wait {seconds} second"
                    f"{'s' if seconds != 1 else ''} and try again.",
                    detail=key,
                )


def failed(credential: str, account: str, ip: str | None, user: User | None = None) -> None:
    """Count a failure; lock (audit, and tell the owner by email) at the threshold."""
    settings = app_settings()
    for key, scale in _scopes(credential, account, ip):
        state = _state(key) or (0, 0.0, 0.0)
        failures = state[0] + 1
        locked_until = state[2]
        just_locked = failures >= settings.lockout_after * scale and locked_until <= time.time()
        if just_locked:
            locked_until = time.time() + settings.lockout_seconds
        _save(key, failures, locked_until)
        if just_locked:
            scope = "account" if scale == 1 else "ip"
            record(
                Event.CREDENTIAL_LOCKED,
                user_id=user.id if user and scope == "account" else None,
                subject=account,
                credential=credential,
                scope=scope,
                failures=failures,
            )
            db.session.commit()
            if user is not None and scope == "account":
                app_mailer().send_later(
                    user.email,
                    f"Sign-in attempts on your {settings.site_name} account were blocked",
                    "credential_locked",
                    user=user,
                    credential=_label(credential),
                    minutes=settings.lockout_seconds // 60,
                    ip=ip,
                )


def succeeded(credential: str, account: str) -> None:
    """The owner got it right: forget the account's failures (not the IP's)."""
    with contextlib.suppress(StoreUnavailable):
        app_store().delete(_key(credential, "account", account))


def attempt(
    credential: str,
    account: str,
    ip: str | None,
    verify: Callable[[], T],
    owner: Callable[[], User | None],
    refused: tuple[type[Exception], ...],
) -> T:
    """`verify()` under the policy: `Locked` before trying when locked; a `refused` error
    counts a failure against `owner()` and is raised again; success clears the account."""
    try:
        check(credential, account, ip)
    except Locked:
        metrics.sign_in("locked")  # locked, or slowed down: asked to wait
        raise
    try:
        result = verify()
    except refused:
        failed(credential, account, ip, owner())
        raise
    succeeded(credential, account)
    return result


def _scopes(credential: str, account: str, ip: str | None) -> list[tuple[str, int]]:
    return [
        (_key(credential, "account", account), 1),
        (_key(credential, "ip", ip or "unknown"), IP_FACTOR),
    ]


def _key(credential: str, scope: str, value: str) -> str:
    return f"lockout:{credential}:{scope}:{value.lower()}"


def _state(key: str) -> tuple[int, float, float] | None:
    try:
        raw = app_store().get(key)
    except StoreUnavailable:
        return None  # fail open: the per-IP rate limits still hold
    if raw is None:
        return None
    data = json.loads(raw)
    return int(data["failures"]), float(data["last"]), float(data["locked_until"])


def _save(key: str, failures: int, locked_until: float) -> None:
    value = json.dumps({"failures": failures, "last": time.time(), "locked_until": locked_until})
    with contextlib.suppress(StoreUnavailable):
        app_store().set(key, value.encode(), app_settings().lockout_seconds)


def _label(credential: str) -> str:
    return LABELS.get(credential, credential)

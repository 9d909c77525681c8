"""Keys rotate by themselves (IDP_KEY_ROTATION_DAYS), with no cron: each process looks, at
most every `CHECK_SECONDS` (or a twentieth of the period, if shorter), before a request; when
the newest key is due, `KeyStore.rotate_if_due` adds its successor under the key folder's
lock, so one process of many does it. The look is a comparison against the key store's cached
view; the folder and the lock are touched only when a rotation is due. The ID tokens' key
line and, with IDP_ACCESS_TOKEN_ALG, the access tokens' own line rotate alike, and so does
the SAML line when it has its own (keys/saml.py). The lean path
(idp.web.lean) looks too, before the protocol requests it serves.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from idp.core.audit import Event, record
from idp.db import db
from idp.keys import KeyStore, KeyStoreError, app_keys
from idp.keys.saml import app_saml_credentials
from idp.oauth.tokens import app_tokens
from idp.settings import app_settings

log = logging.getLogger(__name__)

CHECK_SECONDS = 60.0


class Schedule:
    """When this process next looks; one look at a time."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.every = min(CHECK_SECONDS, period / 20)
        self.next_look = 0.0
        self.lock = threading.Lock()

    def is_due(self) -> bool:
        """Whether it is time to look again (a clock read: no context needed)."""
        return time.monotonic() >= self.next_look

    def look(self) -> None:
        now = time.monotonic()
        if now < self.next_look or not self.lock.acquire(blocking=False):
            return
        try:
            self.next_look = now + self.every
            _rotate(self.period)
        finally:
            self.lock.release()


def _rotate(period: float) -> None:
    lines = [app_keys()]
    access_keys = app_tokens().access_keys
    if access_keys is not lines[0]:
        lines.append(access_keys)
    saml_keys = app_saml_credentials().store  # its own line unless IDP_SIGNING_ALG is RS256
    if all(saml_keys is not line for line in lines):
        lines.append(saml_keys)
    for keys in lines:
        _rotate_line(keys, period)


def _rotate_line(keys: KeyStore, period: float) -> None:
    try:
        info = keys.rotate_if_due(period)
    except KeyStoreError as error:
        log.error("scheduled key rotation failed: %s", error)
        return
    if info is not None:
        log.info("rotated the signing keys: %s signs from %s", info.kid, info.activates_at)
        record(
            Event.KEY_ROTATED,
            subject=info.kid,
            alg=info.alg,
            activates_at=info.activates_at.isoformat(),
            scheduled=True,
        )
        db.session.commit()


def init_app(app: Flask) -> None:
    with app.app_context():
        period = app_settings().key_rotation_seconds
    if period > 0:
        schedule = Schedule(period)
        app.before_request(schedule.look)
        app.extensions["idp.key_schedule"] = schedule

"""Keys rotate by themselves (IDP_KEY_ROTATION_DAYS), with no cron: each process looks, at
most every `CHECK_SECONDS` (or a twentieth of the period, if shorter), before a request; when
the newest key is due, `KeyStore.rotate_if_due` adds its successor under the key folder's
lock, so one process of many does it. The look is a comparison against the key store's cached
view; the folder and the lock are touched only when a rotation is due.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from idp.core.audit import Event, record
from idp.db import db
from idp.keys import KeyStoreError, app_keys
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
    try:
        info = app_keys().rotate_if_due(period)
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
        app.before_request(Schedule(period).look)

"""Probes: /healthz says the process answers; /readyz that its database and Redis do."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from idp import db
from idp.core.store import StoreUnavailable, app_store
from idp.settings import app_settings

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks: dict[str, str] = {}
    try:
        db.ping()
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        log.warning("readiness: database unreachable: %s", error)
        checks["database"] = "unreachable"
        db.db.session.rollback()
    if app_settings().redis_url:
        try:
            app_store().ping()
            checks["redis"] = "ok"
        except StoreUnavailable as error:
            log.warning("readiness: redis unreachable: %s", error)
            checks["redis"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

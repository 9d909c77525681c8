"""The signing keys in the admin console (/admin/keys): each key's kid, algorithm, state,
activation and retirement, and a button that rotates them as `idp keys rotate` does (the same
`KeyStore.rotate`): the new key is published at once and signs after the activation delay."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from idp.core.audit import Event, record
from idp.db import db
from idp.keys import app_keys
from idp.settings import app_settings
from idp.web.admin import admin_required, current_admin

bp = Blueprint("admin_keys", __name__, url_prefix="/admin/keys")


@bp.get("")
@admin_required
def index() -> str:
    return render_template(
        "admin/keys.html",
        keys=list(reversed(app_keys().keys())),
        rotation_days=app_settings().key_rotation_days,
    )


@bp.post("/rotate")
@admin_required
def rotate() -> Response:
    info = app_keys().rotate()
    record(
        Event.KEY_ROTATED,
        subject=info.kid,
        alg=info.alg,
        activates_at=info.activates_at.isoformat(),
        admin=current_admin().email,
    )
    db.session.commit()
    flash(
        f"Key {info.kid} is published now and signs from {info.activates_at:%Y-%m-%d %H:%M:%S} UTC."
    )
    return redirect(url_for("admin_keys.index"), 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

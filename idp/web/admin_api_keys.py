"""Every API key in the admin console (/admin/api-keys): its owner, name, prefix,
permissions, expiry, last use and revocation, filtered by the owner's address; and revoking
one, as its owner can on their account page (the same `idp.api.keys.revoke_key`)."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.api.keys import find_key, list_keys, revoke_key
from idp.core.audit import acting_admin
from idp.db import utcnow
from idp.identity import users
from idp.web.admin import admin_required, current_admin

bp = Blueprint("admin_api_keys", __name__, url_prefix="/admin/api-keys")


@bp.get("")
@admin_required
def index() -> str:
    owner_email = request.args.get("owner", "").strip().lower()
    owner = users.find_by_email(owner_email) if owner_email else None
    unknown = bool(owner_email) and owner is None
    return render_template(
        "admin/api_keys.html",
        keys=[] if unknown else list_keys(owner),
        owner=owner_email,
        unknown=unknown,
        now=utcnow(),
    )


@bp.post("/<int:key_id>/revoke")
@admin_required
def revoke(key_id: int) -> Response:
    key = find_key(key_id) or abort(404)
    admin = current_admin()
    with acting_admin(admin.email):
        revoked = revoke_key(key, by=admin)
    done = "was revoked" if revoked else "was already revoked"
    flash(f"The key {key.name} ({key.prefix}…) of {key.user.email} {done}.")
    return redirect(url_for(".index", owner=request.form.get("owner") or None), 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

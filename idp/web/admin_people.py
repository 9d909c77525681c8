"""The admin console's people: search (/admin/people), a person's page, and what an admin
does to them: ban, unban, set the admin role, end their sessions, send a password reset,
impersonate (idp.web.impersonation).

Every page is behind `admin_required` (a fresh sign-in, the admin role) and every form
carries the CSRF token; the services in `idp.admin` audit each change with the acting admin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.admin import moderation, people
from idp.db import db
from idp.errors import IdpError, InvalidInput
from idp.identity import recovery
from idp.identity.models import User
from idp.web import impersonation
from idp.web.admin import admin_required, current_admin
from idp.web.errors import render_error

bp = Blueprint("admin_people", __name__, url_prefix="/admin/people")


@bp.get("")
@admin_required
def index() -> str | tuple[Any, int]:
    args = request.args
    try:
        search = people.Search.parse(
            args.get("q", ""), args.getlist("filter"), args.get("sort", ""), args.get("page", "1")
        )
    except InvalidInput as error:
        return render_error(400, error.message)
    return render_template(
        "admin/people.html", page=people.find(search), filters=people.FILTERS, sorts=people.SORTS
    )


@bp.get("/<int:user_id>")
@admin_required
def person(user_id: int) -> str:
    return _person_page(_person(user_id))


@bp.post("/<int:user_id>/ban")
@admin_required
def ban(user_id: int) -> Response | tuple[str, int]:
    user = _person(user_id)
    try:
        expires_at = _moment(request.form.get("expires_at", ""))
        moderation.ban(user, request.form.get("reason", ""), expires_at, admin=current_admin())
    except IdpError as error:
        return _person_page(user, ban_error=error.message), 400
    flash(f"{user.email} is banned; their sessions and tokens were ended.")
    return _back(user)


@bp.post("/<int:user_id>/unban")
@admin_required
def unban(user_id: int) -> Response:
    user = _person(user_id)
    if moderation.unban(user, admin=current_admin()):
        flash(f"{user.email} may sign in again.")
    return _back(user)


@bp.post("/<int:user_id>/role")
@admin_required
def role(user_id: int) -> Response | tuple[str, int]:
    user = _person(user_id)
    make_admin = request.form.get("is_admin") == "on"
    try:
        moderation.set_admin(user, make_admin, admin=current_admin())
    except IdpError as error:
        return _person_page(user, role_error=error.message), 400
    flash(f"{user.email} is {'now' if make_admin else 'no longer'} an administrator.")
    return _back(user)


@bp.post("/<int:user_id>/sessions/revoke")
@admin_required
def revoke_sessions(user_id: int) -> Response:
    user = _person(user_id)
    ended = moderation.revoke_sessions(user, admin=current_admin())
    flash(f"{ended} session{'s' if ended != 1 else ''} of {user.email} ended.")
    return _back(user)


@bp.post("/<int:user_id>/password-reset")
@admin_required
def password_reset(user_id: int) -> Response:
    """Mail the person a reset link, as Keycloak and Auth0 do: the admin never knows or sets
    the password."""
    user = _person(user_id)
    link = lambda secret: url_for("recovery.reset_page", secret=secret, _external=True)  # noqa: E731
    recovery.send_reset_link(user.email, link, admin=current_admin().email)
    flash(f"A password reset link was sent to {user.email}.")
    return _back(user)


@bp.post("/<int:user_id>/impersonate")
@admin_required
def impersonate(user_id: int) -> Response | tuple[str, int]:
    user = _person(user_id)
    try:
        return impersonation.begin(current_admin(), user)
    except IdpError as error:
        return _person_page(user, impersonate_error=error.message), 400


def _person(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _back(user: User) -> Response:
    return redirect(url_for("admin_people.person", user_id=user.id), 303)


def _moment(raw: str) -> datetime | None:
    """A `datetime-local` value, read as UTC; empty for none."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(
            "Give the end as a date and time, such as 2027-01-31T18:00.", field="expires_at"
        ) from None


def _person_page(user: User, **errors: str) -> str:
    seen = people.overview(user)
    return render_template(
        "admin/person.html",
        person=user,
        ban=seen.ban,
        sessions=seen.sessions,
        totp=seen.totp,
        backup_codes_left=seen.backup_codes_left,
        passkeys=seen.passkeys,
        apps=seen.apps,
        memberships=seen.memberships,
        trail=seen.trail,
        errors=errors,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

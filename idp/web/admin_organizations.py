"""The admin console's organizations: the list (/admin/organizations, search by name or slug
prefix), an organization's page, and what an admin does there: add a person by address,
change a member's role, remove a member, cancel an invitation, change its settings (name,
slug, logo, two-factor policy), delete the organization.

The services are in `idp.admin.organization_admin`; each view here parses the form, calls one
of them and redirects back, or shows the page again with the refusal (nothing stored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.admin import organization_admin as service
from idp.db import db
from idp.errors import IdpError
from idp.identity import invitations
from idp.identity.models import User
from idp.identity.organization_models import Organization
from idp.identity.organizations import Fields
from idp.web.admin import admin_required, current_admin
from idp.web.errors import render_error

bp = Blueprint("admin_organizations", __name__, url_prefix="/admin/organizations")
Action = Callable[[Organization, int, User], str]


@bp.get("")
@admin_required
def index() -> str | tuple[Any, int]:
    try:
        search = service.Search.parse(request.args.get("q", ""), request.args.get("page", "1"))
    except IdpError as error:
        return render_error(400, error.message)
    return render_template("admin/organizations.html", page=service.find(search))


@bp.get("/<int:organization_id>")
@admin_required
def show(organization_id: int) -> str:
    return _page(_organization(organization_id))


@bp.post("/<int:organization_id>/<action>")
@bp.post("/<int:organization_id>/<action>/<int:item>")
@admin_required
def act(organization_id: int, action: str, item: int = 0) -> Response | tuple[str, int]:
    """Every change on the page: `action` names it, `item` is the member or invitation."""
    run = ACTIONS.get(action) or abort(404)
    organization = _organization(organization_id)
    try:
        done = run(organization, item, current_admin())
    except IdpError as error:
        return _page(_organization(organization_id), error), error.status
    flash(done)
    if action == "delete":
        return redirect(url_for(".index"), 303)
    return redirect(url_for(".show", organization_id=organization_id), 303)


def _field(name: str) -> str:
    return request.form.get(name, "")


def _settings(organization: Organization, _: int, admin: User) -> str:
    fields = Fields(_field("name"), _field("slug"), _field("logo_url"))
    two_factor = _field("require_two_factor") == "on"
    service.update(organization, fields, two_factor, admin=admin)
    return "The organization was saved."


def _add(organization: Organization, _: int, admin: User) -> str:
    row = service.add_member(organization, _field("email"), _field("role"), admin=admin)
    return f"{row.user.email} is now a member ({row.role})."


def _role(organization: Organization, item: int, admin: User) -> str:
    service.change_role(organization, item, _field("role"), admin=admin)
    return "The role was changed."


def _remove(organization: Organization, item: int, admin: User) -> str:
    service.remove_member(organization, item, admin=admin)
    return "The member was removed."


def _cancel(organization: Organization, item: int, admin: User) -> str:
    service.cancel_invitation(organization, item, admin=admin)
    return "The invitation was cancelled."


def _delete(organization: Organization, _: int, admin: User) -> str:
    name = organization.name
    service.delete(organization, _field("confirm"), admin=admin)
    return f"{name} was deleted."


ACTIONS: dict[str, Action] = {
    "settings": _settings,
    "members": _add,
    "role": _role,
    "remove": _remove,
    "cancel": _cancel,
    "delete": _delete,
}


def _organization(organization_id: int) -> Organization:
    return db.session.get(Organization, organization_id) or abort(404)


def _page(organization: Organization, error: IdpError | None = None) -> str:
    return render_template(
        "admin/organization.html",
        view=service.overview(organization, current_admin()),
        state=invitations.state,
        error=error,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

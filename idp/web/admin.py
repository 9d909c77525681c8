"""The admin console's blueprint, its guard and its home (/admin); and the protected
resources (RFC 8707) that tokens may be issued for, with the client that may introspect each
one's tokens (RFC 7662), done by the same service functions as `idp resources`. The console's
other pages live beside this module, one per noun: `admin_people.py`, `admin_keys.py`,
`admin_audit.py`, `admin_clients.py`, `admin_organizations.py`, `admin_api_keys.py`.

Every admin page needs a fresh sign-in (a password typed within IDP_SESSION_FRESH_AGE);
a signed-in user who is not an admin gets 403. Changes are written to the audit log with the
admin who made them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField, TextAreaField

from idp.admin import people
from idp.db import db
from idp.errors import IdpError
from idp.identity.models import User
from idp.keys import app_keys
from idp.oauth.introspection import introspector
from idp.oauth.resources import (
    MAX_NAME_LENGTH,
    MAX_URI_LENGTH,
    Resource,
    create_resource,
    delete_resource,
    list_resources,
    parse_lifetime,
    parse_scope,
    set_introspection_client,
    update_resource,
)
from idp.web.current import current_user, fresh_login_required
from idp.web.errors import render_error
from idp.web.forms import Form

bp = Blueprint("admin", __name__, url_prefix="/admin")

View = TypeVar("View", bound=Callable[..., Any])


class ResourceForm(Form):
    uri = StringField(
        "URI",
        description="The resource indicator clients send (RFC 8707): an absolute URI without "
        "a fragment, such as https://notes.example.com/mcp. It is the audience of its tokens.",
        render_kw={"autocomplete": "off", "required": True, "maxlength": MAX_URI_LENGTH},
    )
    name = StringField(
        "Name",
        description="Shown to people on the consent page.",
        render_kw={"autocomplete": "off", "required": True, "maxlength": MAX_NAME_LENGTH},
    )
    scope = TextAreaField(
        "Scopes",
        description="One per line: the scope, or the scope, “=” and what it allows in plain "
        "words, such as notes:read=Read your notes.",
        render_kw={"required": True, "rows": 4, "spellcheck": "false"},
    )
    access_token_ttl = StringField(
        "Access-token lifetime in seconds (optional)",
        description="Left empty, tokens last as long as the client's do.",
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    introspection_client = StringField(
        "Introspecting client (optional)",
        description="The client_id of a confidential client, such as the resource server's, "
        "that may introspect the access tokens issued for this resource (RFC 7662).",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    next = HiddenField(default="/admin/resources")


class IntrospectionForm(Form):
    """The introspecting client of one listed resource; empty for none."""

    introspection_client = StringField("Introspecting client")


def admin_required(view: View) -> View:
    """Signed out: to sign in. Not an admin: 403. A stale sign-in: confirm the password."""
    fresh_view = fresh_login_required(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is not None and not user.is_admin:
            return render_error(403, "Only administrators can open the admin pages.")
        return fresh_view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.get("")
@admin_required
def home() -> str:
    return render_template("admin/home.html", counts=people.counts(), keys=app_keys().keys())


@bp.get("/resources")
@admin_required
def resources() -> str:
    return _render_list(ResourceForm())


@bp.post("/resources")
@admin_required
def create() -> Response | tuple[str, int]:
    form = ResourceForm()
    try:
        resource = create_resource(
            (form.uri.data or "").strip(),
            form.name.data or "",
            dict(_scopes(form.scope.data)),
            parse_lifetime(form.access_token_ttl.data or ""),
            introspection_client=_introspector(form.introspection_client.data),
            admin=current_admin(),
        )
    except IdpError as error:
        form.fail(error)
        return _render_list(form), 400
    flash(f"The resource {resource.uri} was added.")
    return redirect(url_for("admin.resources"), 303)


@bp.post("/resources/<int:resource_id>/introspection")
@admin_required
def introspection(resource_id: int) -> Response | tuple[str, int]:
    resource = db.session.get(Resource, resource_id) or abort(404)
    form = IntrospectionForm()
    try:
        client_id = _introspector(form.introspection_client.data)
        set_introspection_client(resource, client_id, admin=current_admin())
    except IdpError as error:
        return _render_list(ResourceForm(formdata=None), failed=(resource.id, error.message)), 400
    who = f"The client {client_id}" if client_id else "No other client"
    flash(f"{who} may introspect the tokens of {resource.uri}.")
    return redirect(url_for("admin.resources"), 303)


@bp.route("/resources/<int:resource_id>", methods=["GET", "POST"])
@admin_required
def edit(resource_id: int) -> str | Response | tuple[str, int]:
    """Change a resource's name, scopes, lifetime or introspecting client; not its URI."""
    resource = db.session.get(Resource, resource_id) or abort(404)
    form = ResourceForm()
    if request.method == "GET":
        form.name.data, form.scope.data = resource.name, _scope_lines(resource)
        form.access_token_ttl.data = str(resource.access_token_ttl or "")
        form.introspection_client.data = resource.introspection_client_id or ""
        return render_template("admin/resource.html", resource=resource, form=form)
    try:
        update_resource(
            resource,
            form.name.data or "",
            dict(_scopes(form.scope.data)),
            parse_lifetime(form.access_token_ttl.data or ""),
            introspection_client=_introspector(form.introspection_client.data),
            admin=current_admin(),
        )
    except IdpError as error:
        db.session.rollback()
        form.fail(error)
        resource = db.session.get(Resource, resource_id) or abort(404)
        return render_template("admin/resource.html", resource=resource, form=form), 400
    flash(f"The resource {resource.uri} was saved.")
    return redirect(url_for("admin.resources"), 303)


def _scopes(text: str | None) -> list[tuple[str, str]]:
    return [parse_scope(line) for line in (text or "").splitlines() if line.strip()]


def _scope_lines(resource: Resource) -> str:
    return "\n".join(f"{s}={d}" if d else s for s, d in resource.scopes.items())


@bp.route("/resources/<int:resource_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(resource_id: int) -> str | Response:
    resource = db.session.get(Resource, resource_id) or abort(404)
    if request.method == "GET":
        return render_template("admin/delete_resource.html", resource=resource)
    delete_resource(resource.uri, admin=current_admin())
    flash(f"The resource {resource.uri} was deleted.")
    return redirect(url_for("admin.resources"), 303)


def _render_list(form: ResourceForm, failed: tuple[int, str] | None = None) -> str:
    """The page; `failed` is a resource whose introspecting client was refused, and why."""
    return render_template(
        "admin/resources.html", resources=list_resources(), form=form, failed=failed
    )


def _introspector(client_id: str | None) -> str | None:
    client_id = (client_id or "").strip()
    return introspector(client_id) if client_id else None


def current_admin() -> User:
    """The admin signed in (on a page behind `admin_required`)."""
    user = current_user()
    assert user is not None and user.is_admin
    return user


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""The admin pages for OAuth clients (/admin/clients): list, register, edit redirect URIs and
settings, rotate the secret (shown once), disable and enable, delete. The service functions of
idp.oauth.clients do the work, as for `idp clients` and the management API.

On the `admin` blueprint of idp.web.admin, behind its `admin_required` guard (a fresh sign-in,
admins only); every change is audited with the admin who made it.
"""

from __future__ import annotations

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from idp.db import db
from idp.errors import IdpError, InvalidInput
from idp.oauth import organizations
from idp.oauth.client_auth import AUTH_METHODS
from idp.oauth.clients import (
    GRANT_TYPES,
    ClientSpec,
    create_client,
    delete_client,
    list_clients,
    rotate_secret,
    set_disabled,
    update_client,
)
from idp.oauth.limits import MAX_LIFETIME
from idp.oauth.models import Client
from idp.web.admin import admin_required, bp, current_admin
from idp.web.forms import Form


class ClientForm(Form):
    name = StringField("Name", description="Shown to people on the consent page.")
    redirect_uris = TextAreaField(
        "Redirect URIs",
        description="One per line, matched exactly (RFC 6749 §3.1.2; loopback ports excepted, "
        "RFC 8252 §7.3).",
        render_kw={"rows": 3, "spellcheck": "false"},
    )
    post_logout_redirect_uris = TextAreaField(
        "Post-logout redirect URIs",
        description="One per line: where RP-initiated logout may return.",
        render_kw={"rows": 2, "spellcheck": "false"},
    )
    grant_types = SelectMultipleField(
        "Grant types",
        choices=list(GRANT_TYPES),
        default=["authorization_code", "refresh_token"],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    scope = TextAreaField(
        "Scopes",
        description="Separated by spaces or lines. Left empty: every OpenID Connect scope.",
        render_kw={"rows": 2, "spellcheck": "false"},
    )
    auth_method = SelectField(
        "Client authentication",
        description="none: a public client (native or browser app using PKCE).",
        choices=list(AUTH_METHODS),
        default="client_secret_basic",
    )
    first_party = BooleanField("First party: its users are not asked to consent")
    access_token_ttl = StringField("Access-token lifetime (seconds)", default="3600")
    id_token_ttl = StringField("ID-token lifetime (seconds)", default="3600")
    refresh_token_ttl = StringField("Refresh-token lifetime (seconds)", default=str(30 * 86400))

    def spec(self, client: Client | None = None) -> ClientSpec:
        """What the form asks for, or InvalidInput on a lifetime that is not a number."""
        scopes = (self.scope.data or "").split()
        return ClientSpec(
            name=self.name.data or "",
            redirect_uris=_lines(self.redirect_uris.data),
            post_logout_redirect_uris=_lines(self.post_logout_redirect_uris.data),
            grant_types=list(self.grant_types.data or []),
            scopes=scopes or ClientSpec(name="", redirect_uris=[]).scopes,
            auth_method=self.auth_method.data,
            first_party=bool(self.first_party.data),
            logo_uri=client.logo_uri if client else None,
            client_uri=client.client_uri if client else None,
            jwks=client.jwks if client else None,
            access_token_ttl=_seconds(self.access_token_ttl.data, "access_token_ttl"),
            id_token_ttl=_seconds(self.id_token_ttl.data, "id_token_ttl"),
            refresh_token_ttl=_seconds(self.refresh_token_ttl.data, "refresh_token_ttl"),
        )

    def fill(self, client: Client) -> None:
        self.name.data = client.name
        self.redirect_uris.data = "\n".join(client.redirect_uris)
        self.post_logout_redirect_uris.data = "\n".join(client.post_logout_redirect_uris)
        self.grant_types.data = list(client.grant_types)
        self.scope.data = client.scope
        self.auth_method.data = client.auth_method
        self.first_party.data = client.first_party
        self.access_token_ttl.data = str(client.access_token_ttl)
        self.id_token_ttl.data = str(client.id_token_ttl)
        self.refresh_token_ttl.data = str(client.refresh_token_ttl)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _seconds(text: str | None, field: str) -> int:
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise InvalidInput(f"{field} must be 1 to {MAX_LIFETIME} seconds.", field=field)
    return int(text)


@bp.get("/clients")
@admin_required
def clients() -> str:
    return _render_list(ClientForm())


@bp.post("/clients")
@admin_required
def create_client_view() -> str | tuple[str, int]:
    form = ClientForm()
    try:
        client, secret = create_client(form.spec(), admin=current_admin())
    except IdpError as error:
        form.fail(error)
        return _render_list(form), 400
    return _render_secret(client, secret, "registered")


@bp.route("/clients/<int:client_pk>", methods=["GET", "POST"])
@admin_required
def edit_client(client_pk: int) -> str | Response | tuple[str, int]:
    client = _client(client_pk)
    form = ClientForm()
    if request.method == "GET":
        form.fill(client)
        return _render_client(client, form)
    try:
        secret = update_client(client, form.spec(client), admin=current_admin())
    except IdpError as error:
        db.session.rollback()
        form.fail(error)
        return _render_client(_client(client_pk), form), 400
    if secret:
        return _render_secret(client, secret, "now confidential")
    flash(f"The client {client.name} was saved.")
    return redirect(url_for("admin.edit_client", client_pk=client.id), 303)


@bp.post("/clients/<int:client_pk>/secret")
@admin_required
def rotate_client_secret(client_pk: int) -> str | tuple[str, int]:
    client = _client(client_pk)
    try:
        secret = rotate_secret(client, admin=current_admin())
    except IdpError as error:
        return _render_client(client, refused=error.message), 400
    return _render_secret(client, secret, "given a new secret")


@bp.post("/clients/<int:client_pk>/organizations")
@admin_required
def restrict_client(client_pk: int) -> str | Response | tuple[str, int]:
    """Keep the client for members of the organizations typed (slugs; none: everyone)."""
    client = _client(client_pk)
    slugs = (request.form.get("organizations") or "").replace(",", " ").split()
    try:
        organizations.restrict(client, slugs, admin=current_admin())
    except IdpError as error:
        db.session.rollback()
        return _render_client(_client(client_pk), refused=error.message), 400
    kept = ", ".join(slugs) if slugs else "everyone"
    flash(f"The client {client.name} is now for {kept}.")
    return redirect(url_for("admin.edit_client", client_pk=client.id), 303)


@bp.post("/clients/<int:client_pk>/disable")
@admin_required
def disable_client(client_pk: int) -> Response:
    client = _client(client_pk)
    set_disabled(client, True, admin=current_admin())
    flash(f"The client {client.name} is disabled; its tokens were revoked.")
    return redirect(url_for("admin.edit_client", client_pk=client.id), 303)


@bp.post("/clients/<int:client_pk>/enable")
@admin_required
def enable_client(client_pk: int) -> Response:
    client = _client(client_pk)
    set_disabled(client, False, admin=current_admin())
    flash(f"The client {client.name} is enabled.")
    return redirect(url_for("admin.edit_client", client_pk=client.id), 303)


@bp.route("/clients/<int:client_pk>/delete", methods=["GET", "POST"])
@admin_required
def delete_client_view(client_pk: int) -> str | Response:
    client = _client(client_pk)
    if request.method == "GET":
        return render_template("admin/delete_client.html", client=client)
    delete_client(client.client_id, admin=current_admin())
    flash(f"The client {client.name} was deleted.")
    return redirect(url_for("admin.clients"), 303)


def _client(client_pk: int) -> Client:
    client: Client = db.session.get(Client, client_pk) or abort(404)
    return client


def _render_client(client: Client, form: ClientForm | None = None, refused: str = "") -> str:
    """The client's page: its settings form (`form`, else filled from the client)."""
    if form is None:
        form = ClientForm(formdata=None)
        form.fill(client)
    return render_template(
        "admin/client.html",
        client=client,
        form=form,
        refused=refused or None,
        organizations=organizations.restricted_slugs(client),
    )


def _render_list(form: ClientForm) -> str:
    return render_template("admin/clients.html", clients=list_clients(), form=form)


def _render_secret(client: Client, secret: str | None, what: str) -> str:
    """The page that shows a new secret, once: it is stored only as a digest."""
    return render_template("admin/client_secret.html", client=client, secret=secret, what=what)


def init_app(app: Flask) -> None:
    """The routes above are on `bp`; idp.web.admin registers the blueprint after this."""

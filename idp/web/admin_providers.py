"""Upstream sign-in providers in the admin console (/admin/providers): list, add, edit,
delete, with the service functions `idp providers` uses (idp.federation.upstream.providers).
The client secret is written, never shown; left empty on edit, it is kept. Behind the
console's `admin_required` guard; every change is audited with the admin who made it."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms import BooleanField, PasswordField, SelectField, StringField

from idp.db import db
from idp.errors import IdpError
from idp.federation.upstream.models import UpstreamProvider
from idp.federation.upstream.presets import KINDS
from idp.federation.upstream.providers import (
    ProviderSpec,
    create_provider,
    delete_provider,
    list_providers,
    update_provider,
)
from idp.settings import app_settings
from idp.web.admin import admin_required, current_admin
from idp.web.forms import Form

bp = Blueprint("admin_providers", __name__, url_prefix="/admin/providers")


class ProviderForm(Form):
    slug = StringField(
        "Slug",
        description="In the sign-in URL (/sign-in/with/slug); lowercase letters, digits and "
        "dashes. It cannot change later.",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    display_name = StringField("Name", description="On the button: Continue with <name>.")
    kind = SelectField("Kind", choices=KINDS, default="oidc")
    issuer = StringField(
        "Issuer",
        description="OpenID Connect: the issuer or discovery URL. GitLab, GitHub Enterprise: "
        "the base URL. Microsoft: the tenant (common by default). Empty: the preset's.",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    client_id = StringField("Client ID", render_kw={"autocomplete": "off", "spellcheck": "false"})
    client_secret = PasswordField(
        "Client secret",
        description="Stored sealed. Left empty when editing, the current one is kept.",
        render_kw={"autocomplete": "new-password"},
    )
    scopes = StringField("Scopes", description="Separated by spaces. Empty: the preset's.")
    name_claim = StringField("Claim with the person's name", default="name")
    trusted_for_linking = BooleanField(
        "Trusted for linking: a verified email signs in to the account that has it"
    )
    keep_tokens = BooleanField("Keep the provider's tokens (sealed)")
    enabled = BooleanField("Enabled: shown on the sign-in page", default=True)

    def spec(self) -> ProviderSpec:
        name_claim = (self.name_claim.data or "").strip()
        return ProviderSpec(
            slug=(self.slug.data or "").strip(),
            display_name=self.display_name.data or "",
            kind=self.kind.data or "",
            client_id=self.client_id.data or "",
            client_secret=self.client_secret.data or None,
            issuer=self.issuer.data or None,
            scopes=(self.scopes.data or "").split(),
            trusted_for_linking=bool(self.trusted_for_linking.data),
            keep_tokens=bool(self.keep_tokens.data),
            enabled=bool(self.enabled.data),
            attribute_mapping={"name": name_claim} if name_claim not in ("", "name") else {},
        )

    def fill(self, provider: UpstreamProvider) -> None:
        self.slug.data = provider.slug
        self.display_name.data = provider.display_name
        self.kind.data = provider.kind
        self.issuer.data = provider.issuer or ""
        self.client_id.data = provider.client_id
        self.scopes.data = " ".join(provider.scopes)
        self.name_claim.data = (provider.attribute_mapping or {}).get("name", "name")
        self.trusted_for_linking.data = provider.trusted_for_linking
        self.keep_tokens.data = provider.keep_tokens
        self.enabled.data = provider.enabled


@bp.get("")
@admin_required
def index() -> str:
    return _render_list(ProviderForm(formdata=None))


@bp.post("")
@admin_required
def create() -> str | Response | tuple[str, int]:
    form = ProviderForm()
    try:
        provider = create_provider(form.spec(), app_settings(), admin=current_admin())
    except IdpError as error:
        form.fail(error)
        return _render_list(form), 400
    flash(f"The provider {provider.display_name} was added.")
    return redirect(url_for(".index"), 303)


@bp.route("/<int:provider_id>", methods=["GET", "POST"])
@admin_required
def edit(provider_id: int) -> str | Response | tuple[str, int]:
    provider = _provider(provider_id)
    form = ProviderForm()
    if request.method == "GET":
        form.fill(provider)
        return render_template("admin/provider.html", provider=provider, form=form)
    try:
        update_provider(provider, form.spec(), app_settings(), admin=current_admin())
    except IdpError as error:
        db.session.rollback()
        form.fail(error)
        provider = _provider(provider_id)
        return render_template("admin/provider.html", provider=provider, form=form), 400
    flash(f"The provider {provider.display_name} was saved.")
    return redirect(url_for(".edit", provider_id=provider.id), 303)


@bp.route("/<int:provider_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(provider_id: int) -> str | Response:
    provider = _provider(provider_id)
    if request.method == "GET":
        return render_template("admin/delete_provider.html", provider=provider)
    delete_provider(provider, admin=current_admin())
    flash(f"The provider {provider.display_name} was deleted.")
    return redirect(url_for(".index"), 303)


def _provider(provider_id: int) -> UpstreamProvider:
    provider: UpstreamProvider = db.session.get(UpstreamProvider, provider_id) or abort(404)
    return provider


def _render_list(form: ProviderForm) -> str:
    return render_template("admin/providers.html", providers=list_providers(), form=form)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

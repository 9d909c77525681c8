"""The SAML service providers in the admin console (/admin/saml-sps): list, register from
metadata (pasted XML or a URL), change what each gets, delete. The services of
idp.federation.saml_idp.registry do the work, as for `idp saml-sps`; every change is audited
with the admin who made it. Behind `admin_required` (a fresh sign-in, admins only).
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from idp.core.audit import acting_admin
from idp.db import db
from idp.errors import IdpError
from idp.federation.saml_idp import registry
from idp.federation.saml_idp.attributes import ATTRIBUTES
from idp.federation.saml_idp.metadata import entity_id
from idp.federation.saml_idp.models import SamlServiceProvider
from idp.settings import app_settings
from idp.web.admin import admin_required, current_admin
from idp.web.forms import Form

bp = Blueprint("admin_saml", __name__, url_prefix="/admin/saml-sps")


class SpForm(Form):
    metadata = TextAreaField(
        "SP metadata",
        description="The service provider's SAML metadata XML, or the https URL it is "
        "published at.",
        render_kw={"rows": 6, "spellcheck": "false"},
    )
    name = StringField("Name", description="Left empty: the name in the metadata.")
    name_id_format = SelectField(
        "NameID format",
        choices=[
            SelectChoice("email", "Email address"),
            SelectChoice("persistent", "Persistent: an opaque value per person and app"),
        ],
    )
    attributes = SelectMultipleField(
        "Attributes released",
        choices=list(ATTRIBUTES),
        default=["email", "name"],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    allow_idp_initiated = BooleanField("Allow sign-ins started here (IdP-initiated)")
    enabled = BooleanField("Enabled", default=True)

    def choices(self) -> registry.Choices:
        return registry.Choices(
            name=self.name.data or "",
            name_id_format=self.name_id_format.data or "",
            attributes=list(self.attributes.data or []),
            allow_idp_initiated=bool(self.allow_idp_initiated.data),
            enabled=bool(self.enabled.data),
        )


@bp.route("", methods=["GET", "POST"])
@admin_required
def index() -> str | Response | tuple[str, int]:
    form = SpForm()
    if not form.is_submitted():
        return _list(form)
    try:
        xml, url = registry.metadata_from(form.metadata.data or "")
        with acting_admin(current_admin().email):
            provider = registry.register(xml, form.choices(), url=url)
    except IdpError as error:
        form.fail(error)
        return _list(form), 400
    flash(f"Registered {provider.name}.")
    return redirect(url_for("admin_saml.index"), 303)


@bp.route("/<int:sp_id>", methods=["GET", "POST"])
@admin_required
def edit(sp_id: int) -> str | Response | tuple[str, int]:
    provider = _provider(sp_id)
    form = SpForm()
    if not form.is_submitted():
        form = SpForm(data=_choices_of(provider))
        return render_template("admin/saml_sp.html", provider=provider, form=form)
    try:
        new = (form.metadata.data or "").strip()
        xml = registry.metadata_from(new)[0] if new else None
        with acting_admin(current_admin().email):
            registry.update(provider, form.choices(), xml)
    except IdpError as error:
        db.session.rollback()
        form.fail(error)
        return render_template("admin/saml_sp.html", provider=provider, form=form), 400
    flash(f"Saved {provider.name}.")
    return redirect(url_for("admin_saml.index"), 303)


@bp.route("/<int:sp_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(sp_id: int) -> str | Response:
    provider = _provider(sp_id)
    if not Form().is_submitted():
        return render_template("admin/saml_sp_delete.html", provider=provider)
    name = provider.name
    with acting_admin(current_admin().email):
        registry.delete(provider)
    flash(f"Deleted {name}.")
    return redirect(url_for("admin_saml.index"), 303)


def _list(form: SpForm) -> str:
    return render_template(
        "admin/saml_sps.html",
        providers=registry.listed(),
        form=form,
        idp_entity_id=entity_id(app_settings().issuer),
    )


def _choices_of(provider: SamlServiceProvider) -> dict[str, object]:
    return {
        "name": provider.name,
        "name_id_format": provider.name_id_format,
        "attributes": provider.attributes,
        "allow_idp_initiated": provider.allow_idp_initiated,
        "enabled": provider.enabled,
    }


def _provider(sp_id: int) -> SamlServiceProvider:
    provider = db.session.get(SamlServiceProvider, sp_id)
    if provider is None:
        abort(404)
    return provider


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

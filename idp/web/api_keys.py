"""API keys on the account page (/account/api-keys): a person lists, creates and revokes
their keys. A new key is shown once; only its digest is kept (idp.api.keys). Creating one needs
a fresh sign-in, as any new credential does. An administrator's key may hold management-API
permissions; another person's holds none.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from idp.api.keys import MAX_NAME_LENGTH, create_key, find_key, list_keys, revoke_key
from idp.errors import IdpError, InvalidInput
from idp.oauth.management import SCOPES
from idp.web.current import fresh_login_required, login_required, signed_in_user
from idp.web.forms import Form

bp = Blueprint("api_keys", __name__, url_prefix="/account/api-keys")


class ApiKeyForm(Form):
    name = StringField(
        "Name",
        description="What the key is for, such as “deploy script”.",
        render_kw={"autocomplete": "off", "required": True, "maxlength": MAX_NAME_LENGTH},
    )
    expires = StringField(
        "Expires after (days)",
        description="Left empty, the key never expires.",
        default="90",
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    rate_limit = StringField(
        "Rate limit (requests a minute)",
        default="600",
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    permissions = SelectMultipleField(
        "Permissions",
        description="What the key may do in the management API (/api).",
        choices=list(SCOPES),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    next = HiddenField(default="/account/api-keys")


def whole_number(text: str | None, field: str, *, empty: int | None = None) -> int | None:
    """A number typed in a form; `empty` when nothing was typed."""
    text = (text or "").strip()
    if not text:
        return empty
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise InvalidInput("Type a whole number.", field=field)
    return int(text)


@bp.get("")
@login_required
def index() -> str:
    return _render(ApiKeyForm())


@bp.post("")
@fresh_login_required
def create() -> str | tuple[str, int]:
    form = ApiKeyForm()
    user = signed_in_user()
    try:
        key, secret = create_key(
            user,
            form.name.data or "",
            list(form.permissions.data or []),
            expires_in_days=whole_number(form.expires.data, "expires"),
            rate_limit=whole_number(form.rate_limit.data, "rate_limit", empty=600) or 0,
        )
    except IdpError as error:
        form.fail(error)
        return _render(form), 400
    return render_template("account/api_key_created.html", key=key, secret=secret)


@bp.post("/<int:key_id>/revoke")
@login_required
def revoke(key_id: int) -> Response:
    user = signed_in_user()
    key = find_key(key_id, owner=user) or abort(404)
    revoke_key(key, by=user)
    flash(f"The key {key.name} ({key.prefix}…) was revoked.")
    return redirect(url_for("api_keys.index"), 303)


def _render(form: ApiKeyForm) -> str:
    user = signed_in_user()
    if not user.is_admin:  # no permissions to offer; a refusal of them shows above the form
        form.form_errors.extend(form.permissions.errors)
        del form.permissions
    return render_template("account/api_keys.html", keys=list_keys(user), form=form)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

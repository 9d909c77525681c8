"""The device authorization grant in HTTP (RFC 8628): the endpoint devices call (§3.1) and
the page where a person enters the code and answers (§3.3).

The person opens /device on a phone or computer, signs in, types the code the device shows
(or arrives with it filled in from `verification_uri_complete`), then sees the app, what it
asks for and the code again, and allows or denies. A filled-in code never approves by itself
(§5.4: remote phishing). Code entries are rate limited per IP (§5.1: brute force).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, render_template, request, url_for
from flask_limiter import Limiter
from wtforms import StringField

from idp.errors import IdpError
from idp.oauth import device
from idp.oauth.device import DeviceAuthorization, DeviceRefused, UnknownUserCode
from idp.oauth.scopes import DESCRIPTIONS
from idp.oauth.server import Server, app_server
from idp.settings import app_settings
from idp.web.current import current_login, current_user, login_required
from idp.web.forms import Form

bp = Blueprint("device", __name__)
MAX_TYPED = 32  # a code as typed, with dashes and spaces


class UserCodeForm(Form):
    user_code = StringField(
        "Code",
        description="The code your device shows, such as BCDF-GHJK.",
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "maxlength": MAX_TYPED,
            "required": True,
        },
    )


def server() -> Server:
    value: Server = app_server()
    return value


@bp.post("/device_authorization")
def device_authorization() -> Response:
    response: Response = server().create_endpoint_response("device_authorization")
    return response


@bp.route("/device", methods=["GET", "POST"])
@login_required
def enter() -> str | tuple[str, int]:
    """Enter (or check the filled-in) code; a right one shows the approval page."""
    form = UserCodeForm()
    if request.method == "GET":
        form.user_code.data = request.args.get("user_code", "")[:MAX_TYPED]
        return render_template("device/enter.html", form=form)
    try:
        row = device.find_waiting(
            (form.user_code.data or "")[:MAX_TYPED], app_settings().secret_key
        )
    except UnknownUserCode as error:
        form.fail(error)
        return render_template("device/enter.html", form=form), 400
    return _approval_page(row, form.user_code.data or "")


@bp.post("/device/answer")
@login_required
def answer() -> str | tuple[str, int]:
    user, login = current_user(), current_login()
    assert user is not None and login is not None
    typed = request.form.get("user_code", "")[:MAX_TYPED]
    chosen = request.form.get("organization", "")
    try:
        row = device.find_waiting(typed, app_settings().secret_key)
        allowed = request.form.get("decision") == "allow"
        if allowed:
            device.approve(row, user, login, int(chosen) if chosen.isdigit() else None)
        else:
            device.deny(row, user)
    except DeviceRefused as error:
        return _approval_page(row, typed, error), 400
    except UnknownUserCode as error:
        form = UserCodeForm(formdata=None, user_code=typed)
        form.fail(error)
        return render_template("device/enter.html", form=form), 400
    return render_template("device/done.html", client=row.client, allowed=allowed)


def _approval_page(row: DeviceAuthorization, typed: str, error: IdpError | None = None) -> str:
    """What the app asks for, the organizations it may know (when it asks for the
    `organization` scope) and, after a refusal, why."""
    user, login = current_user(), current_login()
    assert user is not None and login is not None
    code = device.normalise_user_code(typed)
    user_code = f"{code[:4]}-{code[4:]}"
    try:
        choice = device.organization_choice(row, user, login)
    except DeviceRefused as refused:  # only for members of other organizations
        error, choice = refused, None
    return render_template(
        "device/approve.html",
        client=row.client,
        user=user,
        user_code=user_code,
        scopes=[DESCRIPTIONS.get(scope, scope) for scope in row.scopes],
        organizations=[(m.organization_id, m.organization.name) for m in choice.choices]
        if choice and choice.asked
        else [],
        organization_id=choice.chosen.organization_id if choice and choice.chosen else None,
        may_allow=choice is not None,
        error=error,
        come_back=url_for(".enter", user_code=user_code),
    )


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    # Devices post here from their own programs; they authenticate instead (RFC 6749 §2.3).
    app.extensions["csrf"].exempt(device_authorization)
    # Both pages tell whether a code exists, so entries on either count against one limit.
    per_ip = limiter.shared_limit(
        lambda: str(app_settings().device_user_code_limit),
        scope="device-user-code",
        methods=["POST"],
    )
    # Flask-Limiter checks decorated limits when the view runs, so wrap the registered views.
    views: dict[str, Any] = app.view_functions
    for endpoint in ("device.enter", "device.answer"):
        views[endpoint] = per_ip(views[endpoint])

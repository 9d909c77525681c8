"""Two-factor pages: the second-factor page of sign-in (and of step-up), and the two-factor
section of the security page (set up, backup codes, turn off, trusted devices).

- GET/POST /sign-in/second-factor: with a pending sign-in (idp.web.authn) or, for step-up, a
  signed-in user. `?method=` picks the authenticator code (default), a backup code or an
  emailed code, proven by idp.identity.second_factor (failures count in the lockout).
  "Trust this device" sets the `idp_trusted` cookie (`__Host-` over HTTPS).
- POST /sign-in/second-factor/email: emails a six-digit code (the user already gave their
  password, so a mail failure is shown). POST /sign-in/second-factor/cancel ends the pending
  sign-in.
- /account/security/two-factor...: setting up needs a fresh sign-in (the QR code is rendered
  as inline SVG by idp.identity.second_factor), as do new backup codes and turning off.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_limiter import Limiter
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, StringField

from idp.errors import IdpError
from idp.identity import devices, two_factor
from idp.identity import second_factor as proof
from idp.identity.models import User
from idp.mail import MailError
from idp.settings import app_settings
from idp.web import authn
from idp.web.current import (
    current_login,
    delete_private_cookie,
    fresh_login_required,
    login_required,
    safe_next,
    set_private_cookie,
    signed_in_user,
)
from idp.web.forms import Form

bp = Blueprint("two_factor", __name__)

# ?method= on the second-factor page, and what is typed.
METHODS = {
    "totp": "Code from your authenticator app",
    "backup": "Backup code",
    "email": "Code from the email",
}


class SecondFactorForm(Form):
    code = StringField(
        "Code",
        render_kw={"autocomplete": "one-time-code", "required": True, "maxlength": 20},
    )
    trust = BooleanField("Trust this device")
    method = HiddenField()
    next = HiddenField()


class SetupForm(Form):
    code = StringField(
        "6-digit code from the app",
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "required": True,
            "maxlength": 12,
        },
    )
    setup = HiddenField()
    next = HiddenField()


# --- The second-factor page -----------------------------------------------------------------


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
def second_factor() -> str | Response | tuple[str, int]:
    user = authn.second_factor_user()
    if user is None:
        authn.end_pending()
        return redirect(url_for("auth.sign_in"), 303)
    form, method = SecondFactorForm(), request.values.get("method", "totp")
    method = method if method in METHODS else "totp"
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), default="")
        return _second_factor_page(user, form, method)
    client = authn.client()
    try:
        token = proof.prove(
            user,
            method,
            form.code.data or "",
            ip=client.ip,
            user_agent=client.user_agent,
            trust_for=_ttl() if form.trust.data else None,
        )
    except IdpError as error:
        g.credential_failed = isinstance(error, proof.REFUSED)
        form.fail(error)
        return _second_factor_page(user, form, method), error.status
    # RFC 8176 §2: "otp" for a code from an app, an email or a list of backup codes.
    response = authn.complete_second_factor(["otp"], next_url=form.next.data)
    if token:
        _set_trusted_cookie(response, token)
    return response


@bp.post("/sign-in/second-factor/email")
def email_code() -> str | Response | tuple[str, int]:
    user = authn.second_factor_user()
    if user is None:
        return redirect(url_for("auth.sign_in"), 303)
    next_url = safe_next(request.form.get("next"), default="")
    if not two_factor.requires_second_factor(user):
        return redirect(url_for(".second_factor", next=next_url or None), 303)
    try:
        proof.send_email_code(user, ip=request.remote_addr)
    except MailError as error:
        form = SecondFactorForm(formdata=None, data={"next": next_url})
        form.fail(error)
        return _second_factor_page(user, form, "email"), error.status
    minutes = app_settings().email_sign_in_ttl // 60
    flash(f"We emailed a 6-digit code to {user.email}. It works for {minutes} minutes.")
    return redirect(url_for(".second_factor", method="email", next=next_url or None), 303)


@bp.post("/sign-in/second-factor/cancel")
def cancel() -> Response:
    """End the pending sign-in (to sign in as someone else); on step-up, just go back."""
    if authn.has_pending():
        authn.end_pending()
        return redirect(url_for("auth.sign_in"), 303)
    return redirect(safe_next(request.form.get("next")), 303)


def _second_factor_page(user: User, form: SecondFactorForm, method: str) -> str:
    label = METHODS[method]
    form.code.label.text = label
    form.method.data = method
    if method != "backup":
        form.code.render_kw = {**(form.code.render_kw or {}), "inputmode": "numeric"}
    days = _ttl() // 86400
    form.trust.label.text = f"Trust this device for {days} day{'s' if days != 1 else ''}"
    return render_template(
        "auth/second_factor.html",
        form=form,
        user=user,
        method=method,
        pending=authn.has_pending(),
        has_two_factor=two_factor.requires_second_factor(user),
        backup_codes_left=two_factor.backup_codes_left(user),
    )


# --- The security page: set up, backup codes, turn off, trusted devices ---------------------


def security_context(user: User) -> dict[str, Any]:
    """What templates/account/_two_factor.html needs."""
    factor = two_factor.totp_factor(user)
    return {
        "two_factor_on": factor is not None,
        "two_factor_since": factor.created_at if factor else None,
        "two_factor_backup_codes_left": two_factor.backup_codes_left(user),
        "two_factor_backup_codes_total": two_factor.BACKUP_CODE_COUNT,
        "two_factor_devices": devices.trusted_devices_listed(user, authn.trusted_token()),
        "two_factor_next": safe_next(request.args.get("next"), default=""),
    }


@bp.route("/account/security/two-factor", methods=["GET", "POST"])
@fresh_login_required
def setup() -> str | Response | tuple[str, int]:
    user = signed_in_user()
    if two_factor.requires_second_factor(user):
        return _already_on()
    form = SetupForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), default="")
        return _setup_page(user, form, two_factor.new_secret())
    try:
        codes = proof.turn_on(
            user, form.setup.data or "", form.code.data or "", current_login(), **_about()
        )
    except two_factor.AlreadyOn:  # a parallel request turned it on: answer as if it came first
        return _already_on()
    except two_factor.InvalidCode as error:
        form.fail(error)
        return _setup_page(user, form, proof.setup_secret(user, form.setup.data or "")), 400
    return _backup_codes_page(codes, form.next.data, first_time=True)


@bp.post("/account/security/two-factor/backup-codes")
@fresh_login_required
def backup_codes() -> str | Response:
    user = signed_in_user()
    if not two_factor.requires_second_factor(user):
        flash("Turn on two-factor authentication first.")
        return redirect(url_for("security.index"), 303)
    codes = proof.new_backup_codes(user, **_about())
    return _backup_codes_page(codes, "", first_time=False)


@bp.post("/account/security/two-factor/disable")
@fresh_login_required
def disable() -> Response:
    user = signed_in_user()
    if proof.turn_off(user, **_about()):
        flash(
            "Two-factor authentication is off. Your backup codes and trusted devices were removed."
        )
    response = redirect(url_for("security.index"), 303)
    _clear_trusted_cookie(response)
    return response


@bp.post("/account/security/trusted-devices/<int:device_id>/revoke")
@login_required
def revoke_device(device_id: int) -> Response:
    if two_factor.revoke_trusted_devices(signed_in_user(), device_id):
        flash("That device will be asked for a second factor again.")
    else:
        flash("That device was no longer trusted.")
    return redirect(url_for("security.index"), 303)


@bp.post("/account/security/trusted-devices/revoke")
@login_required
def revoke_all_devices() -> Response:
    removed = two_factor.revoke_trusted_devices(signed_in_user())
    flash(f"{removed} device{'s' if removed != 1 else ''} will be asked for a second factor again.")
    response = redirect(url_for("security.index"), 303)
    _clear_trusted_cookie(response)
    return response


def _already_on() -> Response:
    flash(two_factor.ALREADY_ON)
    return redirect(url_for("security.index"), 303)


def _setup_page(user: User, form: SetupForm, secret: str) -> str:
    shown = proof.setup(user, secret)
    form.setup.data = shown.sealed
    return render_template(
        "account/two_factor_setup.html",
        form=form,
        user=user,
        qr=Markup(shown.qr_svg),  # noqa: S704 (segno's SVG, built from our own URI)
        uri=shown.uri,
        grouped_secret=shown.grouped_secret,
    )


def _backup_codes_page(codes: list[str], next_url: str | None, *, first_time: bool) -> str:
    return render_template(
        "account/two_factor_backup_codes.html",
        codes=codes,
        first_time=first_time,
        next_url=safe_next(next_url, default=url_for("security.index")),
    )


def _about() -> dict[str, Any]:
    """Where a change comes from and where to review it, for the mail to the owner."""
    return {"ip": request.remote_addr, "security_url": url_for("security.index", _external=True)}


# --- The trusted-device cookie --------------------------------------------------------------


def _ttl() -> int:
    return app_settings().trusted_device_ttl


def _set_trusted_cookie(response: Response, token: str) -> None:
    set_private_cookie(response, two_factor.TRUSTED_COOKIE, token, _ttl())


def _clear_trusted_cookie(response: Response) -> None:
    delete_private_cookie(response, two_factor.TRUSTED_COOKIE)


def _user_key() -> str:
    user = authn.second_factor_user()
    return "second-factor-email:" + (user.email if user else "nobody")


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    post_only = ["POST"]
    checks = limiter.limit(lambda: app_settings().sign_in_ip_limit, methods=post_only)
    sends_per_ip = limiter.limit(lambda: app_settings().email_send_limit, methods=post_only)
    sends_per_user = limiter.limit(
        lambda: app_settings().email_send_limit, key_func=_user_key, methods=post_only
    )
    # Flask-Limiter checks decorated limits when the view runs, so wrap the registered views.
    views: dict[str, Any] = app.view_functions
    views["two_factor.second_factor"] = checks(views["two_factor.second_factor"])
    views["two_factor.email_code"] = sends_per_user(sends_per_ip(views["two_factor.email_code"]))

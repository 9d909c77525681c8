"""The account page: profile, email address, password, sessions, the apps that have access,
and deleting the account.

Changing the address mails a confirmation link to the new one (synchronously: when the mail
cannot go out the person is told and nothing is stored); the account keeps its address until
the link is used (`verification.confirm_change`). Deleting the account needs a fresh sign-in
and the address typed out.
"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms import EmailField, HiddenField

from idp.errors import IdpError
from idp.identity import deletion, devices, email_change, users
from idp.identity import login as sign_in
from idp.identity.lockout import Locked
from idp.identity.sessions import app_sessions
from idp.oauth import consent
from idp.oauth.scopes import DESCRIPTIONS
from idp.settings import app_settings
from idp.web.current import (
    clear_session_cookie,
    current_login,
    fresh_login_required,
    login_required,
    signed_in_user,
)
from idp.web.forms import Form, PasswordForm, ProfileForm

bp = Blueprint("account", __name__, url_prefix="/account")


class ChangeEmailForm(Form):
    email = EmailField("New email address", render_kw={"autocomplete": "email", "required": True})
    next = HiddenField(default="/account")


class DeleteAccountForm(Form):
    confirm_email = EmailField(
        "Your email address", render_kw={"autocomplete": "off", "required": True}
    )
    next = HiddenField(default="/account/delete")


@bp.get("")
@login_required
def index() -> str:
    return _render()


@bp.post("/profile")
@login_required
def profile() -> str | Response | tuple[str, int]:
    form = ProfileForm()
    try:
        users.update_profile(signed_in_user(), form.name.data or "")
    except IdpError as error:
        form.fail(error)
        return _render(profile_form=form), 400
    flash("Your profile was saved.")
    return redirect(url_for("account.index"), 303)


@bp.post("/password")
@login_required
def password() -> str | Response | tuple[str, int]:
    form = PasswordForm()
    try:
        sign_in.change_password(
            signed_in_user(),
            form.current_password.data or "",
            form.new_password.data or "",
            request.remote_addr,
        )
    except IdpError as error:  # InvalidInput, InvalidCredentials, or Locked
        form.fail(error)
        return _render(password_form=form), 429 if isinstance(error, Locked) else 400
    login = current_login()
    ended = app_sessions().revoke_all(
        signed_in_user(), keep=login.id if login else None, reason="password_changed"
    )
    flash(
        "Your password was changed."
        + (f" {ended} other session(s) were signed out." if ended else "")
    )
    return redirect(url_for("account.index"), 303)


@bp.post("/email")
@fresh_login_required
def change_email() -> str | Response | tuple[str, int]:
    """Mail a confirmation link to the new address; if that fails, store nothing."""
    form, user = ChangeEmailForm(), signed_in_user()
    try:
        new_email = email_change.ask_for_change(
            user,
            form.email.data or "",
            lambda secret: url_for(
                "verification.confirm_change_page", secret=secret, _external=True
            ),
            sign_in_url=url_for("auth.sign_in", _external=True),
            reset_url=url_for("recovery.request_reset", _external=True),
        )
    except IdpError as error:
        form.fail(error)
        return _render(email_form=form), error.status
    flash(
        f"We sent a link to {new_email}. Open it to finish the change; until then your "
        f"address stays {user.email}."
    )
    return redirect(url_for("account.index"), 303)


@bp.route("/delete", methods=["GET", "POST"])
@fresh_login_required
def delete() -> str | Response | tuple[str, int]:
    form, user = DeleteAccountForm(), signed_in_user()
    if request.method == "GET":
        return render_template("account/delete.html", form=form, user=user)
    try:
        deletion.close_account(user, form.confirm_email.data or "")
    except IdpError as error:
        form.fail(error)
        return render_template("account/delete.html", form=form, user=user), 400
    clear_session_cookie()
    flash("Your account and everything in it were deleted.")
    return redirect(url_for("auth.sign_in"), 303)


@bp.post("/sessions/<int:session_id>/revoke")
@fresh_login_required
def revoke_session(session_id: int) -> Response:
    login = current_login()
    if login is not None and login.id == session_id:
        app_sessions().revoke(signed_in_user(), session_id)
        clear_session_cookie()
        return redirect(url_for("auth.sign_in"), 303)
    if app_sessions().revoke(signed_in_user(), session_id):
        flash("The session was signed out.")
    else:
        flash("That session had already ended.")
    return redirect(url_for("account.index"), 303)


@bp.post("/sessions/revoke-others")
@fresh_login_required
def revoke_other_sessions() -> Response:
    login = current_login()
    ended = app_sessions().revoke_all(signed_in_user(), keep=login.id if login else None)
    flash(f"Signed out {ended} other session(s)." if ended else "There were no other sessions.")
    return redirect(url_for("account.index"), 303)


@bp.post("/sessions/revoke-all")
@fresh_login_required
def revoke_all_sessions() -> Response:
    app_sessions().revoke_all(signed_in_user())
    clear_session_cookie()
    return redirect(url_for("auth.sign_in"), 303)


@bp.post("/apps/<int:client_id>/revoke")
@login_required
def revoke_app(client_id: int) -> Response:
    """Remove an app's access: forget the consent and revoke every token it holds for the user."""
    user = signed_in_user()
    granted = next(
        (row for row in consent.apps_with_access(user) if row.client_id == client_id), None
    )
    if granted is None:
        flash("That app had no access to your account.")
    else:
        name = granted.client.name
        consent.revoke(user, client_id)
        flash(f"{name} no longer has access to your account.")
    return redirect(url_for("account.index"), 303)


def _render(
    profile_form: ProfileForm | None = None,
    password_form: PasswordForm | None = None,
    email_form: ChangeEmailForm | None = None,
) -> str:
    user = signed_in_user()
    if profile_form is None:
        profile_form = ProfileForm(formdata=None, name=user.name)
    login = current_login()
    apps = [
        {
            "id": row.client_id,
            "name": row.client.name,
            "uri": row.client.client_uri,
            "scopes": [DESCRIPTIONS.get(scope, scope) for scope in _in_usual_order(row.scopes)],
            "since": row.created_at,
        }
        for row in consent.apps_with_access(user)
    ]
    return render_template(
        "account/index.html",
        user=user,
        profile_form=profile_form,
        password_form=password_form or PasswordForm(formdata=None),
        email_form=email_form or ChangeEmailForm(formdata=None),
        sessions=devices.sessions_listed(user, login.id if login else None),
        apps=apps,
        fresh=login is not None and login.is_fresh(app_settings().session_fresh_age),
        request_path=request.path,
    )


def _in_usual_order(scopes: list[str]) -> list[str]:
    """Scopes in a steady order: who you are first, then what else the app may see."""
    known = list(DESCRIPTIONS)
    return sorted(scopes, key=lambda s: known.index(s) if s in known else len(known))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

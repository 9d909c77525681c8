"""Sign-in, sign-up, sign-out and password confirmation pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from flask_limiter import Limiter
from werkzeug.wrappers import Response

from idp.errors import IdpError, InvalidCredentials
from idp.identity import users
from idp.identity.models import User
from idp.identity.passwords import verify_password
from idp.services import services
from idp.web.current import (
    clear_session_cookie,
    current_login,
    current_user,
    login_required,
    safe_next,
    set_session_cookie,
)
from idp.web.forms import ConfirmForm, SignInForm, SignUpForm

bp = Blueprint("auth", __name__)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> str | Response | tuple[str, int]:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        # OpenID Connect Core §3.1.2.1: login_hint pre-fills the identifier.
        form.email.data = request.args.get("login_hint", "")[:320]
        return render_template("auth/sign_in.html", form=form)
    try:
        user = users.authenticate(form.email.data or "", form.password.data or "")
    except InvalidCredentials as error:
        g.credential_failed = True
        form.fail(error)
        return render_template("auth/sign_in.html", form=form), 400
    _start_session(user, remember=bool(form.remember.data))
    return redirect(safe_next(form.next.data), 303)


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up() -> str | Response | tuple[str, int]:
    form = SignUpForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("auth/sign_up.html", form=form)
    try:
        user = users.create_user(
            form.email.data or "", form.name.data or "", form.password.data or ""
        )
    except IdpError as error:
        form.fail(error)
        return render_template("auth/sign_up.html", form=form), 400
    _start_session(user, remember=False)
    return redirect(safe_next(form.next.data), 303)


@bp.post("/sign-out")
def sign_out() -> Response:
    login, user = current_login(), current_user()
    if login is not None and user is not None:
        services().sessions.sign_out(login, user)
    clear_session_cookie()
    return redirect(url_for("auth.sign_in"), 303)


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def confirm() -> str | Response | tuple[str, int]:
    """Type the password again before a sensitive action (the session becomes fresh)."""
    form = ConfirmForm()
    user, login = current_user(), current_login()
    assert user is not None and login is not None
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        return render_template("auth/confirm.html", form=form, user=user)
    if not verify_password(user.password_hash, form.password.data or ""):
        g.credential_failed = True
        form.fail(InvalidCredentials("The password is incorrect.", field="password"))
        return render_template("auth/confirm.html", form=form, user=user), 400
    services().sessions.reauthenticate(login)
    return redirect(safe_next(form.next.data), 303)


def _start_session(user: User, *, remember: bool) -> None:
    previous, previous_user = current_login(), current_user()
    if previous is not None and previous_user is not None:
        # A new sign-in replaces the browser's old session (no fixation, no orphan).
        services().sessions.revoke(previous_user, previous.id, reason="replaced")
    token, _ = services().sessions.start(
        user, remember=remember, ip=request.remote_addr, user_agent=request.user_agent.string
    )
    set_session_cookie(token, remember)


def _account_key() -> str:
    user = current_user()
    if request.endpoint == "auth.confirm" and user is not None:
        return "account:" + user.email
    try:
        email = users.normalise_email(request.form.get("email", ""))
    except IdpError:
        email = request.form.get("email", "").strip().lower()
    return "account:" + email


def _setting(name: str) -> str:
    value: str = getattr(services().settings, name)
    return value


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    post_only = ["POST"]
    per_ip = limiter.limit(lambda: _setting("sign_in_ip_limit"), methods=post_only)
    # Per account, only failures count, so the owner is not slowed by their own successes.
    per_account = limiter.limit(
        lambda: _setting("sign_in_account_limit"),
        key_func=_account_key,
        methods=post_only,
        deduct_when=lambda _response: bool(g.get("credential_failed")),
    )
    sign_ups = limiter.limit(lambda: _setting("sign_up_ip_limit"), methods=post_only)
    # Flask-Limiter checks decorated limits when the view runs, so wrap the registered views.
    views: dict[str, Any] = app.view_functions
    for endpoint in ("auth.sign_in", "auth.confirm"):
        views[endpoint] = per_account(per_ip(views[endpoint]))
    views["auth.sign_up"] = sign_ups(views["auth.sign_up"])

"""Sign-in, sign-up, sign-out and password confirmation pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from flask_limiter import Limiter
from werkzeug.wrappers import Response

from idp.errors import IdpError, InvalidCredentials
from idp.federation.sso.domains import SSO_REQUIRED, connection_for_email
from idp.identity import login, verification
from idp.identity.lockout import Locked
from idp.identity.sessions import app_sessions
from idp.settings import app_settings
from idp.web import saml_idp
from idp.web import verification as verification_pages
from idp.web.authn import complete_first_factor
from idp.web.current import (
    clear_session_cookie,
    current_login,
    current_user,
    login_required,
    safe_next,
)
from idp.web.forms import ConfirmForm, SignInForm, SignUpForm
from idp.web.linked_accounts import sign_in_again

bp = Blueprint("auth", __name__)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> str | Response | tuple[str, int]:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        # OpenID Connect Core §3.1.2.1: login_hint pre-fills the identifier.
        form.email.data = request.args.get("login_hint", "")[:320]
        return render_template("auth/sign_in.html", form=form)
    single_sign_on = _single_sign_on(form)
    if single_sign_on is not None:
        return single_sign_on
    try:
        user = login.check_password(form.email.data or "", form.password.data or "", _ip())
    except Locked as error:
        form.fail(error)
        return render_template("auth/sign_in.html", form=form), 429
    except InvalidCredentials as error:
        g.credential_failed = True
        form.fail(error)
        return render_template("auth/sign_in.html", form=form), 400
    return complete_first_factor(
        user, ["pwd"], remember=bool(form.remember.data), next_url=form.next.data
    )


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up() -> str | Response | tuple[str, int]:
    """Create an account; the answer is "check your inbox" whether or not the address already
    had one (the mail tells which), so the form reveals no accounts."""
    form = SignUpForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("auth/sign_up.html", form=form)
    try:
        result = verification.sign_up(
            form.email.data or "", form.name.data or "", form.password.data or ""
        )
    except IdpError as error:
        form.fail(error)
        return render_template("auth/sign_up.html", form=form), 400
    return verification_pages.after_sign_up(result, safe_next(form.next.data))


@bp.post("/sign-out")
def sign_out() -> Response:
    active, user = current_login(), current_user()
    walk = None
    if active is not None and user is not None:
        app_sessions().sign_out(active, user)
        # SAML single logout: the apps that got an assertion in this session are told next.
        walk = saml_idp.start_logout_walk(active.id)
    clear_session_cookie()
    return walk or redirect(url_for("auth.sign_in"), 303)


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def confirm() -> str | Response | tuple[str, int]:
    """Type the password again before a sensitive action (the session becomes fresh), or sign
    in again with a provider or SSO linked to the account (the way back for an account
    that has no password)."""
    form = ConfirmForm()
    user, active = current_user(), current_login()
    assert user is not None and active is not None
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))

    def page() -> str:
        again = sign_in_again(user, safe_next(form.next.data))
        return render_template("auth/confirm.html", form=form, user=user, again=again)

    if request.method == "GET":
        return page()
    try:
        login.confirm_password(user, active, form.password.data or "", _ip())
    except Locked as error:
        form.fail(error)
        return page(), 429
    except InvalidCredentials as error:
        g.credential_failed = True
        form.fail(error)
        return page(), 400
    return redirect(safe_next(form.next.data), 303)


def _single_sign_on(form: SignInForm) -> Response | tuple[str, int] | None:
    """Home-realm discovery: an address of a domain verified for an organization's SSO goes
    to its identity provider when no password is typed; when the organization requires SSO,
    a typed password is refused (before it is checked) with the way to SSO."""
    typed = login.typed_account(form.email.data or "")
    connection = connection_for_email(typed)
    if connection is None:
        return None
    hint = typed if connection.kind == "oidc" else None  # OIDC Core §3.1.2.1 login_hint
    target = url_for(
        "sso.start", connection_id=connection.id, next=form.next.data or None, login_hint=hint
    )
    if not form.password.data:
        return redirect(target, 303)
    if not connection.required:
        return None
    form.fail(IdpError(SSO_REQUIRED))
    return render_template("auth/sign_in.html", form=form, sso_url=target), 403


def _ip() -> str | None:
    return request.remote_addr


def _account_key() -> str:
    user = current_user()
    if request.endpoint == "auth.confirm" and user is not None:
        return "account:" + user.email
    return "account:" + login.typed_account(request.form.get("email", ""))


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    post_only = ["POST"]
    per_ip = limiter.limit(lambda: app_settings().sign_in_ip_limit, methods=post_only)
    # Per account, only failures count, so the owner is not slowed by their own successes.
    per_account = limiter.limit(
        lambda: app_settings().sign_in_account_limit,
        key_func=_account_key,
        methods=post_only,
        deduct_when=lambda _response: bool(g.get("credential_failed")),
    )
    sign_ups = limiter.limit(lambda: app_settings().sign_up_ip_limit, methods=post_only)
    # Flask-Limiter checks decorated limits when the view runs, so wrap the registered views.
    views: dict[str, Any] = app.view_functions
    for endpoint in ("auth.sign_in", "auth.confirm"):
        views[endpoint] = per_account(per_ip(views[endpoint]))
    views["auth.sign_up"] = sign_ups(views["auth.sign_up"])

"""Password reset pages: ask for a link, open it, choose a new password.

The request page answers the same whether or not an account exists (OWASP Forgot Password
Cheat Sheet), mails only real accounts, and is limited by `IDP_EMAIL_SEND_LIMIT` per address
and per client IP. The link's page is shown with GET and used with POST, so mail scanners that
fetch links do not use it up; its URL carries the secret, so it sends no Referer.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField

from idp.errors import IdpError
from idp.identity import recovery, users
from idp.identity.one_time import InvalidToken
from idp.web.background import after_answering
from idp.web.current import clear_session_cookie, current_user
from idp.web.forms import PASSWORD_HINT, Form
from idp.web.verification import limit_mail

bp = Blueprint("recovery", __name__)


class ResetRequestForm(Form):
    email = EmailField("Email", render_kw={"autocomplete": "email", "required": True})


class NewPasswordForm(Form):
    password = PasswordField(
        "New password",
        description=PASSWORD_HINT,
        render_kw={"autocomplete": "new-password", "required": True},
    )


@bp.route("/reset-password", methods=["GET", "POST"])
def request_reset() -> str | tuple[str, int]:
    form = ResetRequestForm()
    if request.method == "GET":
        form.email.data = request.args.get("email", "")[:320]
        return render_template("auth/reset_request.html", form=form)
    try:
        email = users.normalise_email(form.email.data or "")
    except IdpError as error:
        form.fail(error)
        return render_template("auth/reset_request.html", form=form), 400
    # The same answer, at the same speed, whether or not the address has an account.
    link = lambda secret: url_for("recovery.reset_page", secret=secret, _external=True)  # noqa: E731
    after_answering(recovery.send_reset_link, email, link)
    return render_template("auth/reset_sent.html", email=email)


@bp.get("/reset-password/<secret>")
def reset_page(secret: str) -> Response:
    row = recovery.peek(secret)
    if row is None:
        return _page("auth/link_invalid.html", 400, message=_LINK_GONE, retry=True)
    return _page("auth/reset_password.html", 200, form=NewPasswordForm(formdata=None), row=row)


@bp.post("/reset-password/<secret>")
def reset(secret: str) -> Response:
    form = NewPasswordForm()
    row = recovery.peek(secret)
    if row is None:
        return _page("auth/link_invalid.html", 400, message=_LINK_GONE, retry=True)
    try:
        reset_url = url_for("recovery.request_reset", _external=True)
        password = form.password.data or ""
        user = recovery.finish_reset(secret, password, ip=request.remote_addr, reset_url=reset_url)
    except InvalidToken as error:
        return _page("auth/link_invalid.html", 400, message=error.message, retry=True)
    except IdpError as error:
        form.fail(error)
        return _page("auth/reset_password.html", 400, form=form, row=row)
    signed_in = current_user()
    if signed_in is not None and signed_in.id == user.id:
        clear_session_cookie()
    flash("Your password was changed and every session was signed out. Sign in with it now.")
    return redirect(url_for("auth.sign_in", login_hint=user.email), 303)


_LINK_GONE = (
    "This password reset link cannot be used: it has expired, was already used, or was not "
    "copied in full. Ask for a new one."
)


def _page(template: str, status: int, **context: object) -> Response:
    response = make_response(render_template(template, **context), status)
    # The URL carries the secret: the page must not pass it on.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    limit_mail(app, limiter, "recovery.request_reset")

"""Sign-in by email: ask for a message, then open its link or type its code.

- GET/POST /sign-in/email: the address. The answer is the same whether or not an account
  exists ("check your inbox"); the lookup, the new link and code and the mail happen on a
  thread after it for every address, so neither the page nor its timing tells them apart.
- POST /sign-in/email/code: the six-digit code, typed in the browser that asked (its cookie
  names the request record; the address is never taken from the form).
- GET /sign-in/email/<secret>: a confirmation page, because mail scanners open links; opened in
  another browser it says so, with when and from where it was asked. POST signs in.

Rate limits: IDP_EMAIL_SEND_LIMIT per address and per IP on asking; the code and link checks
share the sign-in IP limit, and codes also have their lockout (idp.identity.email_sign_in).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from werkzeug.wrappers import Response
from wtforms import EmailField, HiddenField, StringField

from idp.core.security import digest
from idp.errors import IdpError
from idp.federation.sso.domains import SSO_REQUIRED, connection_for_email
from idp.identity import email_sign_in as service
from idp.identity import login, users
from idp.identity.models import User
from idp.identity.one_time import InvalidToken
from idp.settings import app_settings
from idp.web.authn import complete_first_factor
from idp.web.background import after_answering
from idp.web.current import (
    delete_private_cookie,
    private_cookie_name,
    safe_next,
    set_private_cookie,
)
from idp.web.forms import Form, SignInForm

bp = Blueprint("email_sign_in", __name__)
# Names this browser's request for a link and code (its digest binds them to the browser).
COOKIE = "idp_email_sign_in"

EXPIRED = "This sign-in request has expired, or was made in another browser. Ask for a new code."


class EmailForm(Form):
    email = EmailField("Email", render_kw={"autocomplete": "email", "required": True})
    next = HiddenField()


class CodeForm(Form):
    code = StringField(
        "Code from the email",
        description="6 digits",
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "required": True,
            "maxlength": 12,
            "class": "one-time-code",
        },
    )


class ConfirmLinkForm(Form):
    pass


@bp.route("/sign-in/email", methods=["GET", "POST"])
def ask() -> str | Response | tuple[str, int]:
    form = EmailForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), default="")
        return render_template("auth/email_sign_in.html", form=form)
    try:
        email = users.normalise_email(form.email.data or "")
    except IdpError as error:
        form.fail(error)
        return render_template("auth/email_sign_in.html", form=form), 400
    ip, next_url = request.remote_addr, safe_next(form.next.data, default="")
    cookie, browser = service.start_request(email, next_url, ip)
    # Whether the address has an account must not show in the answer, nor in its timing:
    # the lookup, the new link and code, and the mail happen after it, for every address.
    link = lambda secret: url_for(".open_link", secret=secret, _external=True)  # noqa: E731
    after_answering(service.send_if_account, email, browser, ip, link)
    response = _check_inbox(email, CodeForm(formdata=None))
    _set_cookie(response, cookie)
    return response


@bp.route("/sign-in/email/code", methods=["GET", "POST"])
def enter_code() -> str | Response | tuple[str | Response, int]:
    browser = _browser()
    asked = service.load_request(browser) if browser else None
    form = CodeForm()
    if request.method == "GET" or asked is None:
        if asked is not None:
            return _check_inbox(asked.email, form)
        if request.method == "GET":
            return redirect(url_for(".ask"))
        email_form = EmailForm(formdata=None)
        email_form.fail(InvalidToken(EXPIRED))
        return render_template("auth/email_sign_in.html", form=email_form), 400
    try:
        user = service.check_code(browser, asked, form.code.data or "", request.remote_addr)
    except IdpError as error:  # InvalidInput, InvalidToken, or Locked (429)
        form.fail(error)
        return _check_inbox(asked.email, form), error.status
    return _signed_in(user, asked.next, browser)


@bp.route("/sign-in/email/<secret>", methods=["GET", "POST"])
def open_link(secret: str) -> str | Response | tuple[str, int]:
    browser = _browser()
    try:
        link = service.open_link(secret, browser)
        if request.method == "POST":
            return _signed_in(service.redeem_link(secret), link.next, browser)
    except InvalidToken as error:
        return render_template("auth/email_sign_in_invalid.html", message=error.message), 400
    return render_template(
        "auth/email_sign_in_confirm.html",
        form=ConfirmLinkForm(),
        email=link.row.email,
        same_browser=link.same_browser,
        asked_at=link.row.created_at,
        asked_ip=link.asked.ip if link.asked else None,
    )


def _signed_in(user: User, next_url: str | None, browser: str) -> Response:
    service.forget_request(browser)
    connection = connection_for_email(user.email)
    if connection is not None and connection.required:
        # The organization requires its SSO for this address: no email sign-in.
        start = url_for("sso.start", connection_id=connection.id, next=next_url or None)
        form = SignInForm(formdata=None, email=user.email)
        form.fail(IdpError(SSO_REQUIRED))
        return make_response(render_template("auth/sign_in.html", form=form, sso_url=start), 403)
    response = complete_first_factor(user, ["otp"], remember=False, next_url=next_url)
    delete_private_cookie(response, COOKIE)
    return response


def _check_inbox(email: str, form: CodeForm) -> Response:
    resend = EmailForm(formdata=None, data={"email": email})
    page = render_template(
        "auth/email_sign_in_check.html",
        email=email,
        form=form,
        resend=resend,
        minutes=app_settings().email_sign_in_ttl // 60,
    )
    return Response(page, mimetype="text/html")


def _browser() -> str:
    """The digest of this browser's sign-in-by-email cookie, or ""."""
    cookie = request.cookies.get(private_cookie_name(COOKIE))
    return digest(cookie) if cookie else ""


def _set_cookie(response: Response, value: str) -> None:
    set_private_cookie(response, COOKIE, value, app_settings().email_sign_in_ttl)


def _address_key() -> str:
    return "email-send:" + login.typed_account(request.form.get("email", ""))


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    post_only = ["POST"]
    per_ip = limiter.limit(lambda: app_settings().email_send_limit, methods=post_only)
    per_address = limiter.limit(
        lambda: app_settings().email_send_limit, key_func=_address_key, methods=post_only
    )
    checks = limiter.limit(lambda: app_settings().sign_in_ip_limit, methods=post_only)
    # Flask-Limiter checks decorated limits when the view runs, so wrap the registered views.
    views: dict[str, Any] = app.view_functions
    views["email_sign_in.ask"] = per_address(per_ip(views["email_sign_in.ask"]))
    for endpoint in ("email_sign_in.enter_code", "email_sign_in.open_link"):
        views[endpoint] = checks(views[endpoint])

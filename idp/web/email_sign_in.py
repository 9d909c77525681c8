"""Sign-in by email: ask for a message, then open its link or type its code.

- GET/POST /sign-in/email: the address. The answer is the same whether or not an account
  exists ("check your inbox"); the lookup, the new link and code and the mail happen on a
  thread after it for every address, so neither the page nor its timing tells them apart.
- POST /sign-in/email/code: the six-digit code, typed in the browser that asked (its cookie
  names the request record; the address is never taken from the form).
- GET /sign-in/email/<secret>: a confirmation page, because mail scanners open links; opened in
  another browser it says so, with when and from where it was asked. POST signs in.

Rate limits: IDP_EMAIL_SEND_LIMIT per address and per IP on asking; the code and link checks
share the sign-in IP limit, and codes also have their lockout (idp.identity.lockout).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from werkzeug.wrappers import Response
from wtforms import EmailField, HiddenField, StringField

from idp.core.security import digest, new_token, same
from idp.core.store import StoreUnavailable, app_store
from idp.errors import IdpError, InvalidInput
from idp.identity import email_sign_in as service
from idp.identity import users
from idp.identity.models import User
from idp.identity.one_time import CODE_ATTEMPTS, InvalidToken
from idp.mail import MailError, app_mailer
from idp.settings import app_settings
from idp.web import lockout
from idp.web.authn import complete_first_factor
from idp.web.background import after_answering
from idp.web.current import (
    delete_private_cookie,
    private_cookie_name,
    safe_next,
    set_private_cookie,
)
from idp.web.forms import Form
from idp.web.lockout import Locked

log = logging.getLogger(__name__)

bp = Blueprint("email_sign_in", __name__)
# Names this browser's request for a link and code (its digest binds them to the browser).
COOKIE = "idp_email_sign_in"

EXPIRED = "This sign-in request has expired, or was made in another browser. Ask for a new code."
# The answers of one_time.redeem_code, given for an address without an account too.
NOT_RIGHT = "That code is not right. Check the latest email and try again."
USED_UP = "That code has expired or was already used. Ask for a new one."


@dataclass
class SignInRequest:
    """What one browser asked for, kept in the store under its cookie's digest until the
    link and code expire: the address (the code form never takes it from the page), where to
    go next, and when and from where it was asked (shown if the link opens elsewhere)."""

    email: str
    next: str
    ip: str | None
    at: float
    # Wrong codes typed for an address without an account (an account's are in its code row).
    attempts: int = 0


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
    cookie = new_token()
    browser = digest(cookie)
    # Whether the address has an account must not show in the answer, nor in its timing:
    # the lookup, the new link and code, and the mail happen after it, for every address.
    after_answering(_send_if_account, email, browser)
    next_url = safe_next(form.next.data, default="")
    _save_request(browser, SignInRequest(email, next_url, request.remote_addr, time.time()))
    response = _check_inbox(email, CodeForm(formdata=None))
    _set_cookie(response, cookie)
    return response


def _send_if_account(email: str, browser: str) -> None:
    """Mail a link and code to `email` if it has an account (on a thread of its own)."""
    try:
        user = users.find_by_email(email)
        if user is None:
            return
        settings = app_settings()
        secret, code = service.issue(user, browser=browser, ttl=settings.email_sign_in_ttl)
        app_mailer().send(
            email,
            f"Sign in to {settings.site_name}",
            "sign_in",
            name=user.name,
            link=url_for(".open_link", secret=secret, _external=True),
            code=code,
            minutes=settings.email_sign_in_ttl // 60,
            ip=request.remote_addr,
        )
    except MailError:
        pass  # logged by the mailer; the page already said "if there is an account"


@bp.route("/sign-in/email/code", methods=["GET", "POST"])
def enter_code() -> str | Response | tuple[str | Response, int]:
    browser = _browser()
    asked = _load_request(browser) if browser else None
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
        code = _typed_code(form.code.data or "")
        user = _redeem_code(browser, asked, code)
    except Locked as error:
        form.fail(error)
        return _check_inbox(asked.email, form), 429
    except (InvalidInput, InvalidToken) as error:
        form.fail(error)
        return _check_inbox(asked.email, form), 400
    return _signed_in(user, asked.next, browser)


@bp.route("/sign-in/email/<secret>", methods=["GET", "POST"])
def open_link(secret: str) -> str | Response | tuple[str, int]:
    try:
        row = service.link_to_confirm(secret)
    except InvalidToken as error:
        return render_template("auth/email_sign_in_invalid.html", message=error.message), 400
    browser = _browser()
    same_browser = bool(browser and row.browser_hash and same(browser, row.browser_hash))
    asked = _load_request(row.browser_hash) if row.browser_hash else None
    form = ConfirmLinkForm()
    if request.method == "GET":
        return render_template(
            "auth/email_sign_in_confirm.html",
            form=form,
            email=row.email,
            same_browser=same_browser,
            asked_at=row.created_at,
            asked_ip=asked.ip if asked else None,
        )
    try:
        user = service.redeem_link(secret)
    except InvalidToken as error:
        return render_template("auth/email_sign_in_invalid.html", message=error.message), 400
    # Only the browser that asked continues what it was doing (an app's sign-in, say).
    return _signed_in(user, asked.next if same_browser and asked else None, browser)


def _redeem_code(browser: str, asked: SignInRequest, code: str) -> User:
    """Check the code typed in the asking browser, under lockout; `Locked` or `InvalidToken`.
    An address without an account answers as an account's wrong code would."""
    lockout.check("email_code", asked.email)
    user = users.find_by_email(asked.email)
    if user is None:
        lockout.failed("email_code", asked.email, None)
        asked.attempts += 1
        _save_request(browser, asked)
        raise InvalidToken(NOT_RIGHT if asked.attempts <= CODE_ATTEMPTS else USED_UP, field="code")
    try:
        service.redeem_code(user, code)
    except InvalidToken:
        lockout.failed("email_code", asked.email, user)
        raise
    lockout.succeeded("email_code", asked.email)
    return user


def _signed_in(user: User, next_url: str | None, browser: str) -> Response:
    if browser:
        with contextlib.suppress(StoreUnavailable):
            app_store().delete(_record_key(browser))
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


def _typed_code(raw: str) -> str:
    code = "".join(ch for ch in raw if not ch.isspace() and ch != "-")
    if not code:
        raise InvalidInput("Enter the 6-digit code from the email.", field="code")
    if len(code) != 6 or not code.isdigit():
        raise InvalidInput("The code is 6 digits, like 123456.", field="code")
    return code


def _browser() -> str:
    """The digest of this browser's sign-in-by-email cookie, or ""."""
    cookie = request.cookies.get(private_cookie_name(COOKIE))
    return digest(cookie) if cookie else ""


def _set_cookie(response: Response, value: str) -> None:
    set_private_cookie(response, COOKIE, value, app_settings().email_sign_in_ttl)


def _save_request(browser: str, asked: SignInRequest) -> None:
    ttl = round(asked.at + app_settings().email_sign_in_ttl - time.time())
    with contextlib.suppress(StoreUnavailable):  # the link works without it
        app_store().set(_record_key(browser), json.dumps(asdict(asked)).encode(), max(1, ttl))


def _load_request(browser: str) -> SignInRequest | None:
    try:
        raw = app_store().get(_record_key(browser))
    except StoreUnavailable:
        return None
    return SignInRequest(**json.loads(raw)) if raw else None


def _record_key(browser: str) -> str:
    return "email-sign-in:" + browser


def _address_key() -> str:
    typed = request.form.get("email", "")
    try:
        return "email-send:" + users.normalise_email(typed)
    except IdpError:
        return "email-send:" + typed.strip().lower()


def _setting(name: str) -> str:
    value: str = getattr(app_settings(), name)
    return value


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    post_only = ["POST"]
    per_ip = limiter.limit(lambda: _setting("email_send_limit"), methods=post_only)
    per_address = limiter.limit(
        lambda: _setting("email_send_limit"), key_func=_address_key, methods=post_only
    )
    checks = limiter.limit(lambda: _setting("sign_in_ip_limit"), methods=post_only)
    # Flask-Limiter checks decorated limits when the view runs, so wrap the registered views.
    views: dict[str, Any] = app.view_functions
    views["email_sign_in.ask"] = per_address(per_ip(views["email_sign_in.ask"]))
    for endpoint in ("email_sign_in.enter_code", "email_sign_in.open_link"):
        views[endpoint] = checks(views[endpoint])

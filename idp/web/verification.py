"""Email verification pages: the "check your inbox" answer to sign-up, the verification link,
sending it again, and the confirmation link of an email change.

A link in an email is opened with GET and used with POST (a button on the page), because mail
scanners fetch links to look for malware and must not use them up. Pages that carry a link
secret in their URL send `Referrer-Policy: no-referrer`.

The browser that signs up gets a random cookie whose digest the verification link is bound
to: opened there, the link signs the person in and they continue where they were going (an
OAuth authorization, say); opened anywhere else it only verifies the address.

Every view here that sends mail to a typed address is limited by `IDP_EMAIL_SEND_LIMIT`, per
address and per client IP, and answers the same whether or not an account exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from werkzeug.wrappers import Response
from wtforms import EmailField, HiddenField

from idp.core.security import digest, new_token, same
from idp.errors import IdpError
from idp.identity import email_change, users, verification
from idp.identity.one_time import InvalidToken
from idp.settings import app_settings
from idp.web.authn import complete_first_factor
from idp.web.background import after_answering
from idp.web.current import (
    current_user,
    delete_private_cookie,
    login_required,
    private_cookie_name,
    safe_next,
    set_private_cookie,
    signed_in_user,
)
from idp.web.forms import Form

bp = Blueprint("verification", __name__)


class ResendForm(Form):
    email = EmailField("Email", render_kw={"autocomplete": "email", "required": True})
    next = HiddenField()


# Pages


@bp.get("/verify-email")
def pending() -> str:
    """Where signing in leads while the address is unverified (IDP_REQUIRE_VERIFIED_EMAIL)."""
    form = ResendForm(formdata=None, next=safe_next(request.args.get("next")))
    return render_template("auth/verify_pending.html", form=form)


@bp.post("/verify-email/resend")
def resend() -> Response | tuple[str, int]:
    """Send a new link to an address that waits for verification; the same answer for any
    address (only one whose account is unverified gets mail)."""
    form = ResendForm()
    try:
        email = users.normalise_email(form.email.data or "")
    except IdpError as error:
        form.fail(error)
        return render_template("auth/verify_pending.html", form=form), 400
    next_url = safe_next(form.next.data)
    # The same answer, at the same speed, whether or not the address waits for verification.
    link = _verify_link(next_url)
    after_answering(verification.resend_if_unverified, email, _browser_digest(), link)
    return check_inbox(email, next_url, resent=True)


@bp.post("/account/email/verify")
@login_required
def resend_for_account() -> Response:
    """The account page's "send the link again"."""
    user = signed_in_user()
    if user.email_verified_at is not None:
        flash("Your email address is already verified.")
    else:
        verification.send_link(user, _verify_link("/account"))
        flash(f"We sent a new verification link to {user.email}.")
    return redirect(url_for("account.index"), 303)


@bp.get("/verify-email/<secret>")
def verify_page(secret: str) -> Response:
    row = verification.peek(secret)
    if row is None:
        return _invalid_link(_LINK_GONE, status=400)
    return _no_referrer(render_template("auth/verify_email.html", email=row.email))


@bp.post("/verify-email/<secret>")
def verify(secret: str) -> Response:
    try:
        row = verification.verify(secret)
    except InvalidToken as error:
        return _invalid_link(error.message, status=400)
    user, next_url = row.user, safe_next(request.args.get("next"))
    signed_in = current_user()
    if signed_in is not None and signed_in.id == user.id:
        flash("Your email address is verified.")
        return redirect(next_url, 303)
    browser = _browser_digest()
    if row.browser_hash and browser and same(row.browser_hash, browser):
        g.sign_up_cookie = ""
        flash("Your email address is verified. Welcome!")
        return complete_first_factor(user, ["pwd"], remember=False, next_url=next_url)
    flash("Your email address is verified. Sign in to continue.")
    return redirect(_sign_in_url(user.email, next_url), 303)


@bp.get("/account/email/confirm/<secret>")
def confirm_change_page(secret: str) -> Response:
    row = email_change.peek(secret)
    if row is None:
        return _invalid_link(_LINK_GONE, status=400)
    page = render_template(
        "auth/confirm_email_change.html", old_email=row.user.email, new_email=row.email
    )
    return _no_referrer(page)


@bp.post("/account/email/confirm/<secret>")
def confirm_change(secret: str) -> Response:
    try:
        reset_url = url_for("recovery.request_reset", _external=True)
        user = email_change.confirm_and_notify(secret, reset_url=reset_url)
    except InvalidToken as error:
        return _invalid_link(error.message, status=400)
    flash(f"Your email address is now {user.email}.")
    signed_in = current_user()
    if signed_in is not None and signed_in.id == user.id:
        return redirect(url_for("account.index"), 303)
    return redirect(_sign_in_url(user.email, "/account"), 303)


# Used by the sign-up page


def after_sign_up(result: verification.SignUp, next_url: str) -> Response:
    """The answer to a valid sign-up form: the same page whether or not the account is new.

    A new account gets a verification link bound to this browser; an existing one gets a
    notice (someone tried to sign up with this address). The binding cookie is set either
    way, so not even the headers differ.
    """
    token = new_token()
    g.sign_up_cookie = token
    verification.answer_sign_up(
        result,
        digest(token),
        _verify_link(next_url),
        sign_in_url=url_for("auth.sign_in", _external=True),
        reset_url=url_for("recovery.request_reset", _external=True),
    )
    return check_inbox(result.user.email, next_url, resent=False)


def check_inbox(email: str, next_url: str, *, resent: bool) -> Response:
    form = ResendForm(formdata=None, email=email, next=next_url)
    return make_response(
        render_template("auth/check_inbox.html", email=email, form=form, resent=resent)
    )


def _verify_link(next_url: str) -> Callable[[str], str]:
    """How a verification link's URL is made, carrying where to go next."""
    query = {"next": next_url} if next_url != "/account" else {}
    return lambda secret: url_for(
        "verification.verify_page", secret=secret, _external=True, **query
    )


# Helpers


_LINK_GONE = (
    "This link cannot be used: it has expired, was already used, or was not copied in full. "
    "Ask for a new one."
)


def _invalid_link(message: str, *, status: int) -> Response:
    response = make_response(render_template("auth/link_invalid.html", message=message), status)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _no_referrer(page: str) -> Response:
    response = make_response(page)
    # The URL carries the secret: the page must not pass it on.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _sign_in_url(email: str, next_url: str) -> str:
    # OpenID Connect Core §3.1.2.1 login_hint: the sign-in page pre-fills the address.
    if next_url == "/account":
        return url_for("auth.sign_in", login_hint=email)
    return url_for("auth.sign_in", login_hint=email, next=next_url)


SIGN_UP_COOKIE = "idp_sign_up"


def sign_up_cookie_name() -> str:
    return private_cookie_name(SIGN_UP_COOKIE)


def _browser_digest() -> str | None:
    token = request.cookies.get(sign_up_cookie_name())
    return digest(token) if token else None


def _write_sign_up_cookie(response: Response) -> Response:
    token = g.get("sign_up_cookie")
    if token is None:
        return response
    if token:
        set_private_cookie(response, SIGN_UP_COOKIE, token, app_settings().verify_email_ttl)
    else:
        delete_private_cookie(response, SIGN_UP_COOKIE)
    return response


# Rate limits


def mail_address_key() -> str:
    """The address a request asks us to write to: the typed one, else the signed-in user's."""
    typed = request.form.get("email")
    user = current_user()
    if typed is None and user is not None:
        typed = user.email
    try:
        return "mail-to:" + users.normalise_email(typed or "")
    except IdpError:
        return "mail-to:" + (typed or "").strip().lower()[:320]


def _sent(response: Response) -> bool:
    """Only answers that (may) have sent mail count; a form refused for bad input does not."""
    return response.status_code < 400


def limit_mail(app: Flask, limiter: Limiter, *endpoints: str, per_ip: bool = True) -> None:
    """Limit POSTs to views that mail a typed address, per address and per client IP; the
    counts are shared by every such view."""
    limit = lambda: app_settings().email_send_limit  # noqa: E731
    address_limit = limiter.shared_limit(
        limit,
        scope="mail-to-address",
        key_func=mail_address_key,
        methods=["POST"],
        deduct_when=_sent,
    )
    ip_limit = limiter.shared_limit(
        limit, scope="mail-from-ip", methods=["POST"], deduct_when=_sent
    )
    # Flask-Limiter checks decorated limits when the view runs, so wrap the registered views.
    views: dict[str, Any] = app.view_functions
    for endpoint in endpoints:
        view = address_limit(views[endpoint])
        views[endpoint] = ip_limit(view) if per_ip else view


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    app.after_request(_write_sign_up_cookie)
    limit_mail(app, limiter, "verification.resend", "verification.resend_for_account")
    # Views registered before this module that mail a typed address: the account page's email
    # change, and sign-up (which has its own per-IP limit, IDP_SIGN_UP_IP_LIMIT).
    limit_mail(app, limiter, "account.change_email")
    limit_mail(app, limiter, "auth.sign_up", per_ip=False)

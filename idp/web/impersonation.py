"""Impersonating over HTTP: while an admin impersonates a person, the browser's session cookie
is the person's (an `imp` session, idp.admin.impersonation) and the admin's own session token
waits in the `idp_impersonator` cookie (HttpOnly, like the session's). Every page shows a
banner with a Stop button; stopping, or the time running out, ends the person's session and
puts the admin's back. So does the person's session ending any other way (a ban, say): a
request with the admin's token waiting and no session of its own returns to the admin's."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    after_this_request,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from idp.admin import impersonation
from idp.identity.models import User
from idp.web.current import (
    current_login,
    delete_private_cookie,
    private_cookie_name,
    set_private_cookie,
    set_session_cookie,
)
from idp.web.errors import render_error

bp = Blueprint("impersonation", __name__)

COOKIE = "idp_impersonator"


def begin(admin: User, person: User) -> Response:
    """Start impersonating `person`: their session in the cookie, the admin's put aside."""
    token = impersonation.start(
        admin, person, ip=request.remote_addr, user_agent=request.user_agent.string
    )
    own = request.cookies.get(private_cookie_name("idp_session"), "")

    @after_this_request
    def keep_own(response: Response) -> Response:
        set_private_cookie(response, COOKIE, own, None)
        return response

    set_session_cookie(token, remember=False)
    flash(f"You are now signed in as {person.email}.")
    return redirect(url_for("account.index"), 303)


@bp.post("/impersonation/end")
def stop() -> Response | tuple[Any, int]:
    login, row = current_login(), g.get("impersonation")
    if login is None or row is None:
        return render_error(400, "You are not impersonating anyone.")
    user_id = row.user_id
    impersonation.end(login, row, reason="stopped")
    return _back_to_admin(url_for("admin_people.person", user_id=user_id))


def _check() -> Response | None:
    """Before each request: note an impersonation; end one whose time is up. Static files
    carry no session (idp.web.current skips it), so they neither see nor end one."""
    g.impersonation = None
    if request.endpoint == "static":
        return None
    login = current_login()
    if login is None and request.cookies.get(private_cookie_name(COOKIE)):
        flash("The impersonation ended; you are back in your own session.")
        return _back_to_admin(url_for("admin.home"))
    if login is None or impersonation.METHOD not in login.amr:
        return None
    row = impersonation.of(login)
    if not impersonation.is_over(row):
        g.impersonation = row
        return None
    impersonation.end(login, row, reason="expired")
    flash("The impersonation's time is up; you are back in your own session.")
    return _back_to_admin(url_for("admin.home"))


def _back_to_admin(target: str) -> Response:
    own = request.cookies.get(private_cookie_name(COOKIE), "")
    set_session_cookie(own, remember=False)
    response = redirect(target, 303)
    delete_private_cookie(response, COOKIE)
    return response


def impersonating() -> impersonation.Impersonation | None:
    """For templates: the impersonation this request runs under, if any."""
    row: impersonation.Impersonation | None = g.get("impersonation")
    return row


def init_app(app: Flask) -> None:
    """After `current.init_app`: the session must be loaded first."""
    app.before_request(_check)
    app.register_blueprint(bp)
    app.jinja_env.globals["impersonating"] = impersonating

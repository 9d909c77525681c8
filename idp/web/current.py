"""The signed-in user of this request, from the session cookie; and the guards on views.

The cookie carries only the opaque session token: HttpOnly, SameSite=Lax, and over HTTPS
`Secure` with the `__Host-` prefix (RFC 6265bis §4.1.3.2). A token that is unknown, expired or
revoked clears the cookie.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Flask, g, redirect, request, url_for
from werkzeug.wrappers import Response

from idp.db import db
from idp.identity.models import User
from idp.identity.sessions import ActiveSession, app_sessions
from idp.settings import app_settings

View = TypeVar("View", bound=Callable[..., Any])


def private_cookie_name(base: str) -> str:
    """`base`, or `__Host-base` over HTTPS (RFC 6265bis §4.1.3.2: Secure, no Domain, Path=/)."""
    return "__Host-" + base if app_settings().is_https else base


def set_private_cookie(response: Response, base: str, value: str, max_age: int | None) -> None:
    """A cookie only this site's HTTP requests carry: HttpOnly, SameSite=Lax, Secure over
    HTTPS; `max_age` None makes it end with the browser."""
    response.set_cookie(
        private_cookie_name(base),
        value,
        max_age=max_age,
        path="/",
        secure=app_settings().is_https,
        httponly=True,
        samesite="Lax",
    )


def delete_private_cookie(response: Response, base: str) -> None:
    response.delete_cookie(
        private_cookie_name(base),
        path="/",
        secure=app_settings().is_https,
        httponly=True,
        samesite="Lax",
    )


def cookie_name() -> str:
    return private_cookie_name("idp_session")


def init_app(app: Flask) -> None:
    app.before_request(_load_session)
    app.after_request(_write_cookie)


def _load_session() -> None:
    g.login = None
    g.user = None
    if request.endpoint == "static":
        return
    token = request.cookies.get(cookie_name())
    if not token:
        return
    active, slid = app_sessions().resolve(token)
    user = db.session.get(User, active.user_id) if active else None
    if active is None or user is None:
        g.cookie = ("", 0)
        return
    g.login, g.user = active, user
    if slid and active.remember:
        g.cookie = (token, app_settings().remember_ttl)


def _write_cookie(response: Response) -> Response:
    cookie = g.get("cookie")
    if cookie is None:
        return response
    token, max_age = cookie
    if token:
        set_private_cookie(response, "idp_session", token, max_age)
    else:
        delete_private_cookie(response, "idp_session")
    return response


def set_session_cookie(token: str, remember: bool) -> None:
    """Send the cookie for a new session: persistent only when the user asked to be remembered."""
    g.cookie = (token, app_settings().remember_ttl if remember else None)


def clear_session_cookie() -> None:
    """Drop the cookie; for the rest of this request, too, nobody is signed in."""
    g.cookie = ("", 0)
    g.login = g.user = None


def current_user() -> User | None:
    user: User | None = g.get("user")
    return user


def signed_in_user() -> User:
    """The user of a view behind `login_required`."""
    user = current_user()
    assert user is not None
    return user


def current_login() -> ActiveSession | None:
    login: ActiveSession | None = g.get("login")
    return login


def safe_next(target: str | None, default: str = "/account") -> str:
    """A same-site path to return to after signing in; anything else becomes `default`.

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so "/", tab,
    "/evil.example" would lead off-site: control characters, spaces and backslashes are refused.
    """
    if not target or _UNSAFE.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def login_required(view: View) -> View:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _to_sign_in()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def fresh_login_required(view: View) -> View:
    """Sensitive actions: the user must have typed their password within the freshness age."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        login = current_login()
        if login is None or current_user() is None:
            return _to_sign_in()
        if not login.is_fresh(app_settings().session_fresh_age):
            # After a POST the user comes back to the page the form lives on, and submits again.
            back = (
                request.form.get("next")
                if request.method == "POST"
                else request.full_path.rstrip("?")
            )
            return redirect(url_for("auth.confirm") + "?" + urlencode({"next": safe_next(back)}))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _to_sign_in() -> Response:
    target = request.full_path.rstrip("?") if request.method == "GET" else "/account"
    return redirect(url_for("auth.sign_in") + "?" + urlencode({"next": target}))

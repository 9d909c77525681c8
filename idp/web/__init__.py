"""HTTP adapters: parse the request, call one service, render or redirect.

`init_app` lists every web feature in one place.
"""

from __future__ import annotations

from flask import Flask, redirect
from flask_limiter import Limiter
from werkzeug import Response

from idp.web import (
    account,
    admin,
    auth,
    authn,
    csrf,
    current,
    device,
    email_sign_in,
    errors,
    headers,
    health,
    inputs,
    invitations,
    logout,
    metrics,
    oauth,
    organizations,
    outbox,
    passkeys,
    recovery,
    registration,
    security,
    tokens,
    two_factor,
    verification,
)
from idp.web.current import current_user


def init_app(app: Flask, limiter: Limiter) -> None:
    inputs.init_app(app)  # first: nothing else sees a request it refuses
    csrf.Csrf(app)
    headers.init_app(app)
    errors.init_app(app)
    current.init_app(app)
    limiter.exempt(health.bp)
    health.init_app(app)
    metrics.init_app(app, limiter)
    app.after_request(authn.write_pending_cookie)
    auth.init_app(app, limiter)
    account.init_app(app)
    security.init_app(app)
    verification.init_app(app, limiter)
    recovery.init_app(app, limiter)
    email_sign_in.init_app(app, limiter)
    two_factor.init_app(app, limiter)
    passkeys.init_app(app, limiter)
    outbox.init_app(app)
    device.init_app(app, limiter)
    oauth.init_app(app)
    tokens.init_app(app)
    logout.init_app(app)
    registration.init_app(app, limiter)
    admin.init_app(app)
    organizations.init_app(app)
    invitations.init_app(app)
    app.add_url_rule("/", "home", _home)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["site_name"] = app.extensions["idp.settings"].site_name


def _home() -> Response:
    return redirect("/account" if current_user() else "/sign-in")

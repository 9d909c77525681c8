"""HTTP adapters: parse the request, call one service, render or redirect.

`init_app` lists every web feature in one place.
"""

from __future__ import annotations

from flask import Flask, redirect
from flask_limiter import Limiter
from werkzeug import Response

from idp.api import endpoints as api
from idp.web import (
    account,
    admin,
    admin_api_keys,
    admin_audit,
    admin_clients,
    admin_keys,
    admin_organizations,
    admin_people,
    admin_providers,
    admin_saml,
    admin_sso,
    api_keys,
    auth,
    authn,
    csrf,
    current,
    device,
    email_sign_in,
    errors,
    headers,
    health,
    impersonation,
    inputs,
    invitations,
    key_schedule,
    linked_accounts,
    logout,
    metrics,
    oauth,
    organization_sso,
    organizations,
    outbox,
    passkeys,
    recovery,
    registration,
    saml_idp,
    security,
    sso,
    tokens,
    two_factor,
    upstream,
    verification,
)
from idp.web.current import current_user


def init_app(app: Flask, limiter: Limiter) -> None:
    inputs.init_app(app)  # first: nothing else sees a request it refuses
    csrf.Csrf(app)
    headers.init_app(app)
    errors.init_app(app)
    current.init_app(app)
    impersonation.init_app(app)
    limiter.exempt(health.bp)
    health.init_app(app)
    metrics.init_app(app, limiter)
    app.after_request(authn.write_pending_cookie)
    auth.init_app(app, limiter)
    account.init_app(app)
    api_keys.init_app(app)
    security.init_app(app)
    verification.init_app(app, limiter)
    recovery.init_app(app, limiter)
    email_sign_in.init_app(app, limiter)
    two_factor.init_app(app, limiter)
    passkeys.init_app(app, limiter)
    upstream.init_app(app, limiter)
    linked_accounts.init_app(app)
    outbox.init_app(app)
    device.init_app(app, limiter)
    oauth.init_app(app)
    tokens.init_app(app)
    logout.init_app(app)
    saml_idp.init_app(app)
    registration.init_app(app, limiter)
    admin_clients.init_app(app)  # its routes on the admin blueprint, before it registers
    admin_sso.init_app(app)  # likewise
    admin.init_app(app)
    api.init_app(app)
    admin_people.init_app(app)
    admin_keys.init_app(app)
    admin_audit.init_app(app)
    admin_organizations.init_app(app)
    admin_api_keys.init_app(app)
    admin_saml.init_app(app)
    admin_providers.init_app(app)
    key_schedule.init_app(app)
    organizations.init_app(app)
    organization_sso.init_app(app)
    sso.init_app(app, limiter)
    invitations.init_app(app)
    app.add_url_rule("/", "home", _home)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["site_name"] = app.extensions["idp.settings"].site_name


def _home() -> Response:
    return redirect("/account" if current_user() else "/sign-in")

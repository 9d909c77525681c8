"""Signing in with an upstream provider ("Continue with ..."): the start, the callback, and
the pages that prove an existing account before it is linked.

- GET /sign-in/with/<slug>: send the browser to the provider (keeps `next`, so an OpenID
  Connect authorize request in progress resumes afterwards; `prompt=login`, from the confirm
  page, asks the provider to check the person again);
- GET /sign-in/with/<slug>/callback: the provider's answer; a sign-in goes through the normal
  first-factor completion with amr `fed` (RFC 8176 §2);
- GET /sign-in/with/<slug>/continue: sign in to (or create) an account here to link it;
- GET, POST /sign-in/with/<slug>/link: signed in, confirm the link.

The services are idp.federation.upstream.sign_in's; this module maps them onto cookies,
redirects and pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_limiter import Limiter
from werkzeug.wrappers import Response

from idp.core.security import new_token
from idp.core.store import app_store
from idp.federation.accounts import FederationRefused
from idp.federation.upstream import sign_in as service
from idp.federation.upstream.errors import UpstreamError
from idp.federation.upstream.flow import PENDING_TTL, PROOF_TTL
from idp.federation.upstream.models import UpstreamProvider
from idp.federation.upstream.providers import list_providers
from idp.settings import app_settings
from idp.web.authn import complete_first_factor
from idp.web.current import (
    current_user,
    delete_private_cookie,
    login_required,
    private_cookie_name,
    safe_next,
    set_private_cookie,
    signed_in_user,
)
from idp.web.errors import render_error

bp = Blueprint("upstream", __name__, url_prefix="/sign-in/with")
BINDING_COOKIE = "idp_upstream"
PROOF_COOKIE = "idp_upstream_proof"


def redirect_uri(slug: str) -> str:
    return url_for("upstream.callback", slug=slug, _external=True)


def begin(
    provider: UpstreamProvider,
    next_url: str,
    linking_user_id: int | None = None,
    reauthenticate: bool = False,
) -> Response | tuple[str | Response, int]:
    """Redirect to the provider, with a fresh browser binding in a cookie."""
    binding = new_token()
    try:
        url = service.start(
            provider,
            app_settings(),
            app_store(),
            redirect_uri=redirect_uri(provider.slug),
            next=next_url,
            binding=binding,
            linking_user_id=linking_user_id,
            reauthenticate=reauthenticate,
        )
    except UpstreamError as error:
        return _refused(error, 502)
    response = redirect(url, 303)
    set_private_cookie(response, BINDING_COOKIE, binding, PENDING_TTL)
    return response


@bp.get("/<slug>")
def start(slug: str) -> Response | tuple[str | Response, int]:
    provider = service.enabled_provider(slug) or abort(404)
    again = request.args.get("prompt") == "login"  # from the confirm page
    return begin(provider, safe_next(request.args.get("next")), reauthenticate=again)


@bp.get("/<slug>/callback")
def callback(slug: str) -> Response | tuple[str | Response, int]:
    params = {k: v for k, v in request.args.items() if isinstance(v, str)}
    binding = request.cookies.get(private_cookie_name(BINDING_COOKIE))
    try:
        outcome = service.callback(
            slug,
            params,
            binding=binding,
            settings=app_settings(),
            store=app_store(),
            current_user=current_user(),
        )
    except UpstreamError as error:
        return _refused(error, 400)
    if isinstance(outcome, service.SignIn):
        response = complete_first_factor(
            outcome.user, ["fed"], remember=False, next_url=outcome.next
        )
    elif isinstance(outcome, service.Linked):
        flash(f"{outcome.provider.display_name} is now linked to your account.")
        response = redirect(url_for("linked_accounts.index"), 303)
    else:
        response = redirect(url_for("upstream.prove", slug=slug), 303)
        set_private_cookie(response, PROOF_COOKIE, outcome.token, PROOF_TTL)
    delete_private_cookie(response, BINDING_COOKIE)
    return response


@bp.get("/<slug>/continue")
def prove(slug: str) -> str:
    """The same page whether or not an account has the provider's email address."""
    provider = service.enabled_provider(slug) or abort(404)
    link = url_for("upstream.link", slug=slug)
    return render_template(
        "auth/upstream_prove.html",
        provider=provider,
        sign_in_url=url_for("auth.sign_in") + "?" + urlencode({"next": link}),
        sign_up_url=url_for("auth.sign_up") + "?" + urlencode({"next": link}),
    )


@bp.route("/<slug>/link", methods=["GET", "POST"])
@login_required
def link(slug: str) -> str | Response | tuple[str | Response, int]:
    provider = service.enabled_provider(slug) or abort(404)
    user = signed_in_user()
    if request.method == "GET":
        return render_template("auth/upstream_link.html", provider=provider, user=user)
    token = request.cookies.get(private_cookie_name(PROOF_COOKIE))
    try:
        provider, next_url = service.finish_proof(user, app_store(), token)
    except FederationRefused as error:
        return render_error(400, error.message)
    flash(f"{provider.display_name} is now linked to your account.")
    response = redirect(safe_next(next_url), 303)
    delete_private_cookie(response, PROOF_COOKIE)
    return response


def _refused(error: UpstreamError | FederationRefused, status: int) -> tuple[str | Response, int]:
    return render_error(status, error.message)


def init_app(app: Flask, limiter: Limiter) -> None:
    app.register_blueprint(bp)
    # Each start keeps a pending sign-in and each callback may call the provider: both are
    # counted per IP like sign-in attempts.
    per_ip = limiter.limit(lambda: app_settings().sign_in_ip_limit)
    views: dict[str, Any] = app.view_functions
    for endpoint in ("upstream.start", "upstream.callback"):
        views[endpoint] = per_ip(views[endpoint])
    app.jinja_env.globals["upstream_providers"] = lambda: list_providers(enabled_only=True)

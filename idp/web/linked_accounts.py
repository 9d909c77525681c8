"""Linked accounts (/account/linked-accounts): the upstream providers linked to the account,
linking another (the provider's sign-in, started while signed in), and unlinking one, never
the last way to sign in (idp.federation.accounts.unlink refuses it)."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from idp.federation import accounts
from idp.federation.sso import flow as sso_flow
from idp.federation.upstream import sign_in as service
from idp.federation.upstream.providers import find_provider, list_providers
from idp.identity.models import User
from idp.web.current import login_required, signed_in_user
from idp.web.upstream import begin

bp = Blueprint("linked_accounts", __name__, url_prefix="/account/linked-accounts")


@bp.get("")
@login_required
def index() -> str:
    return _render()


@bp.post("/link/<slug>")
@login_required
def link(slug: str) -> Response | tuple[str | Response, int]:
    provider = service.enabled_provider(slug) or abort(404)
    user = signed_in_user()
    return begin(provider, url_for("linked_accounts.index"), linking_user_id=user.id)


@bp.post("/<int:link_id>/unlink")
@login_required
def unlink(link_id: int) -> str | Response | tuple[str, int]:
    try:
        removed = accounts.unlink(signed_in_user(), link_id)
    except accounts.FederationRefused as error:
        return _render(refused=error.message), 400
    flash(f"{_name(removed.source)} was unlinked from your account.")
    return redirect(url_for("linked_accounts.index"), 303)


def sign_in_again(user: User, next_url: str) -> list[tuple[str, str]]:
    """The confirm page's other ways to make the session fresh, as (name, URL): every enabled
    provider and SSO connection linked to the account, asked to check the person again
    (`prompt=login`, OIDC Core §3.1.2.1; ForceAuthn, SAML core §3.4.1). The sign-in that
    comes back replaces the session with a fresh one."""
    ways = []
    for link in accounts.links_of(user):
        kind, _, key = link.source.partition(":")
        if kind == "sso" and key.isdigit():
            connection = sso_flow.find(int(key))
            if connection is not None:
                url = url_for(
                    "sso.start", connection_id=connection.id, prompt="login", next=next_url
                )
                ways.append((connection.name, url))
        elif (provider := service.enabled_provider(link.source)) is not None:
            url = url_for("upstream.start", slug=provider.slug, prompt="login", next=next_url)
            ways.append((provider.display_name, url))
    return ways


def _name(slug: str) -> str:
    provider = find_provider(slug)
    return provider.display_name if provider is not None else slug


def _render(refused: str | None = None) -> str:
    user = signed_in_user()
    links = accounts.links_of(user)
    linked = {link.source for link in links}
    names = {p.slug: p.display_name for p in list_providers()}
    return render_template(
        "account/linked_accounts.html",
        user=user,
        links=links,
        names=names,
        available=[p for p in list_providers(enabled_only=True) if p.slug not in linked],
        refused=refused,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""An organization's single sign-on page (its admins: `organization:update`): connections,
claimed domains and their verification, with the URLs to give the identity provider.

- GET  /organizations/<slug>/sso: the page;
- POST /organizations/<slug>/sso/connections[/<id>[/delete]]: add, change, delete a connection;
- POST /organizations/<slug>/sso/domains[/<id>/verify|/<id>/delete]: claim, verify, remove.

The operator's approval of a claimed domain is on the console (`web/admin_sso.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.errors import IdpError
from idp.federation.sso import connections, domains, flow, oidc_flow
from idp.federation.sso.connections import ConnectionFields
from idp.federation.sso.sign_in import SsoRequired
from idp.identity import organizations, permissions
from idp.identity.organization_models import Membership
from idp.identity.permissions import require
from idp.web.current import login_required, signed_in_user
from idp.web.organizations import session_membership, sign_in_again

bp = Blueprint("organization_sso", __name__, url_prefix="/organizations/<slug>/sso")
Page = str | Response | tuple[str, int]


@bp.get("")
@login_required
def show(slug: str) -> Page:
    try:
        membership = _admin(slug)
    except SsoRequired as error:
        return sign_in_again(error, url_for(".show", slug=slug))
    except IdpError as error:
        return render_template("organizations/_refused.html", error=error.message), error.status
    return _page(membership)


@bp.post("/connections", defaults={"item": 0, "action": "create"})
@bp.post("/connections/<int:item>", defaults={"action": "update"})
@bp.post("/connections/<int:item>/delete", defaults={"action": "delete"})
@bp.post("/domains", defaults={"item": 0, "action": "claim"})
@bp.post("/domains/<int:item>/verify", defaults={"action": "verify"})
@bp.post("/domains/<int:item>/delete", defaults={"action": "remove"})
@login_required
def act(slug: str, item: int, action: str) -> Page:
    try:
        membership = session_membership(slug, sso_settings=True)
        flash(ACTIONS[action](membership, item))
    except SsoRequired as error:
        return sign_in_again(error, url_for(".show", slug=slug))
    except IdpError as error:
        found = _membership_or_none(slug)
        if found is None:
            return render_template("organizations/_refused.html", error=error.message), error.status
        return _page(found, error), error.status
    return redirect(url_for(".show", slug=slug), 303)


def _fields() -> ConnectionFields:
    form = request.form
    return ConnectionFields(
        kind=form.get("kind", "saml"),
        name=form.get("name", ""),
        enabled=form.get("enabled") == "on",
        metadata_xml=form.get("metadata_xml", ""),
        metadata_url=form.get("metadata_url", ""),
        idp_entity_id=form.get("idp_entity_id", ""),
        sso_url=form.get("sso_url", ""),
        certificate=form.get("certificate", ""),
        issuer=form.get("issuer", ""),
        client_id=form.get("client_id", ""),
        client_secret=form.get("client_secret", ""),
        scopes=form.get("scopes", ""),
        default_role=form.get("default_role", "member"),
        role_attribute=form.get("role_attribute", ""),
        role_map=_role_map(form.get("role_map", "")),
        required=form.get("required") == "on",
        allow_idp_initiated=form.get("allow_idp_initiated") == "on",
        sign_requests=form.get("sign_requests") == "on",
    )


def _role_map(text: str) -> dict[str, str]:
    """Lines `upstream value = role`."""
    pairs = (line.rpartition("=") for line in text.splitlines() if "=" in line)
    return {value.strip(): role.strip() for value, _, role in pairs if value.strip()}


def _create(m: Membership, _: int) -> str:
    row = connections.create(signed_in_user(), m, _fields())
    return f"The connection {row.name} was created."


def _update(m: Membership, item: int) -> str:
    row = connections.update(signed_in_user(), m, item, _fields())
    return f"The connection {row.name} was saved."


def _delete(m: Membership, item: int) -> str:
    connections.delete(signed_in_user(), m, item)
    return "The connection was deleted."


def _claim(m: Membership, _: int) -> str:
    raw = request.form.get("connection_id", "")
    row = domains.claim(
        signed_in_user(), m, request.form.get("domain", ""), int(raw) if raw.isdigit() else 0
    )
    return f"{row.domain} was claimed. Publish its TXT record, then verify it."


def _verify(m: Membership, item: int) -> str:
    row = domains.verify_by_dns(signed_in_user(), m, item)
    return f"{row.domain} is verified."


def _remove(m: Membership, item: int) -> str:
    domains.remove(signed_in_user(), m, item)
    return "The domain was removed."


ACTIONS: dict[str, Callable[[Membership, int], str]] = {
    "create": _create,
    "update": _update,
    "delete": _delete,
    "claim": _claim,
    "verify": _verify,
    "remove": _remove,
}


def _admin(slug: str) -> Membership:
    membership = session_membership(slug, sso_settings=True)
    require(membership, "organization", "update")
    return membership


def _membership_or_none(slug: str) -> Membership | None:
    organization = organizations.find_by_slug(slug)
    if organization is None:
        return None
    found = organizations.membership_of(signed_in_user(), organization.id)
    return (
        found
        if found is not None and permissions.has_permission(found, "organization", "update")
        else None
    )


def _page(membership: Membership, error: IdpError | None = None) -> str:
    organization = membership.organization
    return render_template(
        "organizations/sso.html",
        organization=organization,
        connections=connections.of_organization(organization.id),
        domains=domains.of_organization(organization.id),
        roles=[r for r in permissions.roles_of(organization) if r != permissions.OWNER],
        challenge=domains.CHALLENGE,
        sp_entity_id=flow.sp_entity_id,
        acs_url=flow.acs_url,
        redirect_uri=oidc_flow.redirect_uri,
        default_scopes=connections.DEFAULT_SCOPES,
        error=error.message if error else None,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""Organization pages: the list of mine (with my invitations and the form to create one), an
organization's page (settings, policy, members, invitations, teams, roles), the active
organization and team, and every form those pages post.

Each view resolves the signed-in person's membership from the slug, calls one service and
redirects back; a refusal re-renders the page with its message and status. Invitation links
(the mailed page) live in `web/invitations.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.errors import IdpError
from idp.federation.sso import sign_in as sso_sign_in
from idp.federation.sso.sign_in import SsoRequired
from idp.identity import invitations, members, organizations, permissions, teams
from idp.identity.organization_models import Membership
from idp.identity.organizations import Fields, TwoFactorRequired
from idp.identity.permissions import STATEMENTS, has_permission
from idp.web.current import current_login, login_required, signed_in_user

bp = Blueprint("organizations", __name__, url_prefix="/organizations")
Page = str | Response | tuple[str, int]


@bp.get("")
@login_required
def index() -> str:
    return _index_page()


@bp.post("")
@login_required
def create() -> Page:
    form = request.form
    try:
        organization = organizations.create(
            signed_in_user(),
            Fields(form.get("name", ""), form.get("slug", ""), form.get("logo_url", "")),
        )
    except IdpError as error:
        return _index_page(error), error.status
    flash(f"{organization.name} was created. You are its owner.")
    return redirect(url_for(".show", slug=organization.slug), 303)


@bp.post("/active")
@login_required
def set_active() -> Page:
    """Make an organization active on this session; its two-factor policy applies here."""
    raw = request.form.get("organization_id", "")
    login = current_login()
    assert login is not None
    try:
        if raw.isdigit() and organizations.membership_of(signed_in_user(), int(raw)):
            sso_sign_in.check_organization(login.id, int(raw))
        organizations.set_active(signed_in_user(), login.id, int(raw) if raw.isdigit() else None)
    except SsoRequired as error:
        return sign_in_again(error, url_for(".index"))
    except TwoFactorRequired as error:
        flash(error.message)
        return redirect(url_for("two_factor.setup", next=url_for(".index")), 303)
    except IdpError as error:
        return _index_page(error), error.status
    return redirect(url_for(".index"), 303)


@bp.get("/<slug>")
@login_required
def show(slug: str) -> Page:
    try:
        membership = session_membership(slug)
    except SsoRequired as error:
        return sign_in_again(error, url_for(".show", slug=slug))
    except IdpError as error:
        return _index_page(error), 404
    return _page(membership)


@bp.post("/<slug>/<action>")
@bp.post("/<slug>/<action>/<int:item>")
@login_required
def act(slug: str, action: str, item: int = 0) -> Page:
    """Every change on an organization's page: `action` names the service."""
    run = ACTIONS.get(action)
    if run is None:
        return _index_page(IdpError("There is no such action.")), 404
    user = signed_in_user()
    try:
        membership = session_membership(slug)
        done = run(user, membership, item)
    except SsoRequired as error:
        return sign_in_again(error, url_for(".show", slug=slug))
    except IdpError as error:
        return _refused(user, slug, error)
    flash(done)
    gone = action in {"delete", "leave"}
    target = url_for(".index") if gone else url_for(".show", slug=membership.organization.slug)
    return redirect(target, 303)


def session_membership(slug: str, *, sso_settings: bool = False) -> Membership:
    """The signed-in person's membership at `slug`, when this session may act for it.
    `SsoRequired` when the session came through another organization's single sign-on, or
    the organization requires its own (`organizations.sso_refusal`): its pages are then
    closed to this session as its apps are. On the SSO settings (`sso_settings`) the owners
    are let in without the required sign-on, so a broken connection can still be repaired."""
    membership = organizations.member_by_slug(signed_in_user(), slug)
    login = current_login()
    assert login is not None
    owner_repair = sso_settings and membership.role == permissions.OWNER
    sso_sign_in.check_organization(
        login.id, membership.organization_id, enforce_required=not owner_repair
    )
    return membership


def sign_in_again(error: SsoRequired, next_url: str) -> Response:
    """Say why, and send the person to sign in again: through the organization's required
    connection when it has one, else to the sign-in page."""
    flash(error.message)
    if error.connection_id:
        return redirect(url_for("sso.start", connection_id=error.connection_id, next=next_url), 303)
    return redirect(url_for("auth.sign_in", next=next_url), 303)


def _field(name: str) -> str:
    return request.form.get(name, "")


def _invite_link(secret: str) -> str:
    return url_for("invitations.show", secret=secret, _external=True)


def _statements() -> dict[str, list[str]]:
    """Checkboxes named `resource:action`."""
    chosen: dict[str, list[str]] = {}
    for value in request.form.getlist("permission"):
        resource, _, action = value.partition(":")
        chosen.setdefault(resource, []).append(action)
    return chosen


def _update(user: Any, m: Membership, _: int) -> str:
    fields = Fields(_field("name"), _field("slug"), _field("logo_url"))
    organizations.update(user, m, fields, require_two_factor=_field("require_two_factor") == "on")
    return "The organization was saved."


def _delete(user: Any, m: Membership, _: int) -> str:
    name = m.organization.name
    organizations.delete_organization(user, m, _field("confirm"))
    return f"{name} was deleted."


def _invite(user: Any, m: Membership, _: int) -> str:
    row = invitations.invite(user, m, _field("email"), _field("role") or "member", _invite_link)
    return f"We sent an invitation to {row.email}."


def _resend(user: Any, m: Membership, item: int) -> str:
    invitations.resend(user, m, item, _invite_link)
    return "The invitation was sent again with a new link."


def _cancel(user: Any, m: Membership, item: int) -> str:
    invitations.cancel(user, m, item)
    return "The invitation was cancelled."


def _role(user: Any, m: Membership, item: int) -> str:
    members.change_role(user, m, item, _field("role"))
    return "The role was changed."


def _remove(user: Any, m: Membership, item: int) -> str:
    members.remove(user, m, item)
    return "The member was removed."


def _leave(user: Any, m: Membership, _: int) -> str:
    name = m.organization.name
    members.leave(user, m)
    return f"You left {name}."


def _team(user: Any, m: Membership, _: int) -> str:
    team = teams.create(user, m, _field("name"))
    return f"The team {team.name} was created."


def _rename_team(user: Any, m: Membership, item: int) -> str:
    team = teams.rename(user, m, item, _field("name"))
    return f"The team is now called {team.name}."


def _delete_team(user: Any, m: Membership, item: int) -> str:
    teams.remove(user, m, item)
    return "The team was removed."


def _team_member(user: Any, m: Membership, item: int) -> str:
    raw = _field("member_id")
    teams.add_member(user, m, item, int(raw) if raw.isdigit() else 0)
    return "The member joined the team."


def _team_member_remove(user: Any, m: Membership, item: int) -> str:
    raw = _field("user_id")
    teams.remove_member(user, m, item, int(raw) if raw.isdigit() else 0)
    return "The member left the team."


def _active_team(user: Any, m: Membership, _: int) -> str:
    login = current_login()
    assert login is not None
    raw = _field("team_id")
    teams.set_active_team(user, login.id, int(raw) if raw.isdigit() else None)
    return "Your active team was changed."


def _custom_role(user: Any, m: Membership, _: int) -> str:
    permissions.create_role(user, m, _field("name"), _statements())
    return "The role was created."


def _edit_role(user: Any, m: Membership, _: int) -> str:
    role = permissions.update_role(user, m, _field("name"), _statements())
    return f"The role {role.name} was saved."


def _delete_role(user: Any, m: Membership, _: int) -> str:
    permissions.delete_role(user, m, _field("name"))
    return "The role was deleted."


ACTIONS: dict[str, Callable[[Any, Membership, int], str]] = {
    "settings": _update,
    "delete": _delete,
    "invitations": _invite,
    "resend": _resend,
    "cancel": _cancel,
    "role": _role,
    "remove": _remove,
    "leave": _leave,
    "teams": _team,
    "rename-team": _rename_team,
    "delete-team": _delete_team,
    "team-members": _team_member,
    "team-members-remove": _team_member_remove,
    "active-team": _active_team,
    "roles": _custom_role,
    "edit-role": _edit_role,
    "delete-role": _delete_role,
}


def _refused(user: Any, slug: str, error: IdpError) -> tuple[str, int]:
    """The page again, with why the change was refused (the organization's, while a member)."""
    organization = organizations.find_by_slug(slug)
    found = organizations.membership_of(user, organization.id) if organization else None
    return (_page(found, error) if found else _index_page(error)), error.status


def _index_page(error: IdpError | None = None) -> str:
    user = signed_in_user()
    login = current_login()
    active = organizations.active_of(user, login.id) if login else None
    return render_template(
        "organizations/index.html",
        memberships=organizations.mine(user),
        invitations=invitations.of_person(user),
        active_id=active.organization_id if active else None,
        error=error.message if error else None,
    )


def _page(membership: Membership, error: IdpError | None = None) -> str:
    user = signed_in_user()
    login = current_login()
    active = organizations.active_of(user, login.id) if login else None
    can = {
        f"{resource}:{action}": has_permission(membership, resource, action)
        for resource, actions in STATEMENTS.items()
        for action in actions
    }
    organization = membership.organization
    return render_template(
        "organizations/show.html",
        membership=membership,
        organization=organization,
        members=members.members_of(organization.id),
        invitations=invitations.of_organization(membership) if can["invitation:create"] else [],
        teams=[(t, teams.team_members(t.id)) for t in teams.teams_of(organization.id)],
        roles=permissions.roles_of(organization),
        custom_roles=permissions.custom_roles(organization.id),
        statements=STATEMENTS,
        can=can,
        active=active if active and active.organization_id == organization.id else None,
        state=invitations.state,
        error=error.message if error else None,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""Organizations in OAuth: the `organization` scope, which organization an app gets, apps
restricted to members of given organizations, consent per organization, and the claims.

At consent a person in several organizations chooses one; with one it is preselected; with
none the scope is granted and no organization claims are released. Only organizations the
sign-in session may act for are offered: a session started through one organization's single
sign-on acts for that one alone, and one that requires its single sign-on needs a session
started through it (idp.identity.organizations `sso_refusal`). The chosen organization
travels with the code and the token family, so a refreshed token names the same one. A person
removed from it can no longer refresh: the grant answers invalid_grant and its family is
revoked (`still_member`, checked by idp.oauth.grants). Userinfo reads the membership live and
drops the claims once the person left; access tokens already issued keep theirs until they
expire, like any other claim of a JWT.

Claims (ID token, access token, userinfo): `org_id`, `org_slug`, `org_name`, `org_role` and
`org_permissions` ("resource:action" strings of the role).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oidc.core.errors import InteractionRequiredError
from sqlalchemy import ForeignKey, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.audit import Event, record
from idp.db import Model, db, insert_if_absent
from idp.errors import InvalidInput
from idp.identity import organizations
from idp.identity.models import User
from idp.identity.organization_models import Membership, Organization
from idp.identity.permissions import permission_list
from idp.oauth import clients
from idp.oauth.errors import AccessDenied

SCOPE = "organization"


class ClientOrganization(Model):
    """A client restricted to members of these organizations (no row: open to everyone)."""

    __tablename__ = "oauth_client_organization"

    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )


class OrganizationConsent(Model):
    """That a person let a client know their membership of one organization."""

    __tablename__ = "oauth_organization_consent"
    __table_args__ = (UniqueConstraint("user_id", "client_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )


@dataclass(frozen=True)
class Choice:
    """The organizations a person may give an app, and the one given (if decided)."""

    asked: bool  # the request asks for the `organization` scope
    choices: list[Membership]
    chosen: Membership | None
    consented: bool  # the chosen one was allowed for this client before

    @property
    def pending(self) -> bool:
        """The person must choose, or allow the chosen organization: ask at consent."""
        return self.asked and bool(self.choices) and (self.chosen is None or not self.consented)


def choose(
    user: User, client: Any, scopes: list[str], picked: int | None, session_id: int | None
) -> Choice:
    """What the person may and did choose. `AccessDenied` when the client is restricted to
    organizations the person is not a member of. Without a pick: the session's active
    organization, else the only one."""
    allowed = restricted_to(client)
    mine = [m for m in organizations.mine(user) if not allowed or m.organization_id in allowed]
    # Only those this sign-in may act for: not another organization's than the one whose
    # single sign-on started it, nor one that requires its own (organizations.sso_refusal).
    refusals = [organizations.sso_refusal(session_id, m.organization) for m in mine]
    choices = [m for m, refusal in zip(mine, refusals, strict=True) if refusal is None]
    if allowed and not choices:
        raise AccessDenied(
            description=next(
                (refusal for refusal in refusals if refusal is not None),
                "This app is only for members of certain organizations, "
                "and you are not a member of any of them.",
            )
        )
    asked = SCOPE in scopes
    chosen = _default(choices, picked, user, session_id) if asked else None
    consented = chosen is not None and remembered(user, client, chosen.organization_id)
    return Choice(asked, choices, chosen, consented)


def _default(
    choices: list[Membership], picked: int | None, user: User, session_id: int | None
) -> Membership | None:
    by_id = {m.organization_id: m for m in choices}
    if picked is not None:
        return by_id.get(picked)
    active = organizations.active_of(user, session_id) if session_id is not None else None
    if active is not None and active.organization_id in by_id:
        return by_id[active.organization_id]
    return choices[0] if len(choices) == 1 else None


def second_factor_missing(choice: Choice, issuing: bool, prompts: set[str]) -> str:
    """Why the person must set up a second factor before the app gets a code: the chosen
    organization requires one they lack ("" when nothing is missing). With `prompt=none`
    nobody can be asked: interaction_required (OpenID Connect Core §3.1.2.6)."""
    if not issuing or choice.chosen is None:
        return ""
    organization = choice.chosen.organization
    if not organization.require_two_factor or organizations.has_second_factor(choice.chosen.user):
        return ""
    if "none" in prompts:
        raise InteractionRequiredError(
            description=f"{organization.name} requires a second factor the user must set up."
        )
    return f"{organization.name} requires two-factor authentication or a passkey. Set one up."


def organization_ids(slugs: list[str]) -> list[int]:
    """The ids of the organizations at `slugs`; `InvalidInput` naming an unknown one."""
    ids = []
    for slug in dict.fromkeys(slugs):
        organization = organizations.find_by_slug(slug)
        if organization is None:
            raise InvalidInput(f"There is no organization {slug!r}.", field="organization")
        ids.append(organization.id)
    return ids


def restricted_slugs(client: Any) -> list[str]:
    """The slugs of the organizations the client is kept for, sorted (none: open to all)."""
    return sorted(
        db.session.scalars(
            select(Organization.slug)
            .join(ClientOrganization, ClientOrganization.organization_id == Organization.id)
            .where(ClientOrganization.client_id == client.id)
        )
    )


def restricted_to(client: Any) -> set[int]:
    return set(
        db.session.scalars(
            select(ClientOrganization.organization_id).where(
                ClientOrganization.client_id == client.id
            )
        )
    )


def restrict(client: Any, slugs: list[str], *, admin: User | None = None) -> list[int]:
    """Let only members of the organizations at these slugs sign in to the client (none:
    everyone). `InvalidInput` naming an unknown slug, with nothing changed."""
    ids = organization_ids(slugs)
    db.session.execute(delete(ClientOrganization).where(ClientOrganization.client_id == client.id))
    for organization_id in ids:
        db.session.add(ClientOrganization(client_id=client.id, organization_id=organization_id))
    record(
        Event.CLIENT_UPDATED,
        subject=client.client_id,
        organizations=list(dict.fromkeys(slugs)),
        **clients.by(admin),
    )
    db.session.commit()
    return ids


def remembered(user: User, client: Any, organization_id: int) -> bool:
    return (
        db.session.scalar(
            select(OrganizationConsent.id).where(
                OrganizationConsent.user_id == user.id,
                OrganizationConsent.client_id == client.id,
                OrganizationConsent.organization_id == organization_id,
            )
        )
        is not None
    )


def remember(user: User, client: Any, organization_id: int) -> None:
    """Consent for this organization (the caller's consent commit stores it)."""
    insert_if_absent(
        OrganizationConsent,
        user_id=user.id,
        client_id=client.id,
        organization_id=organization_id,
    )


def claims(user_id: int | None, organization_id: int | None, scope: str) -> dict[str, Any]:
    """The organization claims for a grant with the `organization` scope: {} without the
    scope, without an organization, or once the person is no longer a member."""
    if user_id is None or organization_id is None or SCOPE not in scope.split():
        return {}
    membership = db.session.scalar(
        select(Membership).where(
            Membership.user_id == user_id, Membership.organization_id == organization_id
        )
    )
    if membership is None:
        return {}
    organization: Organization = membership.organization
    return {
        "org_id": str(organization.id),
        "org_slug": organization.slug,
        "org_name": organization.name,
        "org_role": membership.role,
        "org_permissions": permission_list(organization.id, membership.role),
    }


def still_member(user_id: int | None, organization_id: int | None) -> bool:
    """Whether a grant made for an organization may go on: the person is still a member."""
    if user_id is None or organization_id is None:
        return True
    member = db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.organization_id == organization_id
        )
    )
    return member is not None

"""Organizations: create, update, delete, list a person's, look up a membership, and the
organization (and team) a sign-in session has made active.

Every function takes the acting person first and raises an `IdpError` with a message for
them; each change is audited in the same transaction. Who may do what inside an organization
is `permissions.has_permission`; members and invitations live in `members.py` and
`invitations.py`, teams in `teams.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db
from idp.errors import IdpError, InvalidInput
from idp.identity.actors import Actor
from idp.identity.models import User
from idp.identity.organization_models import (
    ActiveOrganization,
    Membership,
    Organization,
    SsoSession,
)
from idp.identity.passkeys import passkeys_of
from idp.identity.permissions import OWNER, Acting, NotAllowed, require
from idp.identity.two_factor import totp_factor
from idp.settings import app_settings
from idp.settings.organizations import ADMINS

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$")
MAX_NAME = 200
MAX_LOGO_URL = 2000


class SlugTaken(InvalidInput):
    code = "slug_taken"


class TwoFactorRequired(IdpError):
    """The organization requires a second factor the person has not set up."""

    code = "two_factor_required"
    status = 403


@dataclass(frozen=True)
class Fields:
    """What a person types for an organization."""

    name: str
    slug: str
    logo_url: str = ""


def create(actor: User, fields: Fields) -> Organization:
    """A new organization with `actor` as its owner. A slug taken by a request running at the
    same time is refused like one taken before (the unique index decides)."""
    checked = _checked(fields)
    _check_may_create(actor)
    return _insert(actor, checked, owner=actor)


def create_for(actor: Actor, owner: User, fields: Fields) -> Organization:
    """A new organization owned by `owner`, made by `actor`, an administrator (the management
    API): the site's limits on who creates organizations, and how many, are for people."""
    return _insert(actor, _checked(fields), owner=owner)


def _insert(actor: Actor, checked: tuple[str, str, str | None], *, owner: User) -> Organization:
    name, slug, logo_url = checked
    if find_by_slug(slug) is not None:
        raise _taken(slug)
    organization = Organization(name=name, slug=slug, logo_url=logo_url, created_by=actor.id)
    db.session.add(organization)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _taken(slug) from None
    db.session.add(Membership(organization_id=organization.id, user_id=owner.id, role=OWNER))
    detail = {} if owner.id == actor.id else {"owner": owner.email}
    record(
        Event.ORGANIZATION_CREATED,
        user_id=actor.id,
        organization=organization.id,
        slug=slug,
        **detail,
    )
    db.session.commit()
    return organization


def update(
    actor: Actor, membership: Acting | None, fields: Fields, *, require_two_factor: bool
) -> Organization:
    """Rename, change the slug, logo or the two-factor policy."""
    member = require(membership, "organization", "update")
    name, slug, logo_url = _checked(fields)
    organization = member.organization
    other = find_by_slug(slug)
    if other is not None and other.id != organization.id:
        raise _taken(slug)
    organization.name, organization.slug, organization.logo_url = name, slug, logo_url
    organization.require_two_factor = require_two_factor
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _taken(slug) from None
    record(
        Event.ORGANIZATION_UPDATED,
        user_id=actor.id,
        organization=organization.id,
        slug=slug,
        require_two_factor=require_two_factor,
    )
    db.session.commit()
    return organization


def delete_organization(actor: Actor, membership: Acting | None, confirm_slug: str) -> None:
    """Delete the organization, its members, invitations, roles and teams. The owner confirms
    by typing the slug."""
    member = require(membership, "organization", "delete")
    organization = member.organization
    if confirm_slug.strip() != organization.slug:
        raise InvalidInput(
            f"Type the organization's slug, {organization.slug}, to confirm.", field="confirm"
        )
    record(
        Event.ORGANIZATION_DELETED,
        user_id=actor.id,
        organization=organization.id,
        slug=organization.slug,
    )
    db.session.delete(organization)
    db.session.commit()


def mine(user: User) -> list[Membership]:
    """The person's memberships, by organization name."""
    return list(
        db.session.scalars(
            select(Membership)
            .join(Organization)
            .where(Membership.user_id == user.id)
            .order_by(Organization.name, Organization.id)
        )
    )


def membership_of(user: User, organization_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organization_id == organization_id
        )
    )


def find_by_slug(slug: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def member_by_slug(user: User, slug: str) -> Membership:
    """The person's membership in the organization at `slug`; the same answer for an unknown
    slug and one they do not belong to, so nobody learns which organizations exist."""
    organization = find_by_slug(slug)
    membership = membership_of(user, organization.id) if organization else None
    if membership is None:
        raise NotAllowed("There is no such organization, or you are not a member of it.")
    return membership


def has_second_factor(user: User) -> bool:
    """Two-factor (an authenticator app) or a passkey: what `require_two_factor` asks for."""
    return totp_factor(user) is not None or bool(passkeys_of(user))


def check_policy(user: User, organization: Organization) -> None:
    """`TwoFactorRequired` when the organization requires a second factor the person lacks."""
    if organization.require_two_factor and not has_second_factor(user):
        raise TwoFactorRequired(
            f"{organization.name} requires two-factor authentication or a passkey. "
            "Set one up to continue."
        )


def sso_refusal(
    session_id: int | None, organization: Organization, *, enforce_required: bool = True
) -> str | None:
    """Why this sign-in session may not act for `organization` (None: it may). A session
    started through an organization's single sign-on acts for that organization only; an
    organization that requires its single sign-on is reached only by a session started
    through it (unless `enforce_required` is off: its owners' way back to the SSO settings).
    Consent, the device flow, the active organization and its pages all ask this."""
    came = db.session.get(SsoSession, session_id) if session_id is not None else None
    required = organization.sso_required and enforce_required
    if required and (came is None or came.organization_id != organization.id):
        return f"{organization.name} requires signing in with its single sign-on."
    if came is not None and came.organization_id != organization.id:
        return (
            "You signed in through another organization's single sign-on. "
            f"Sign in again to use {organization.name}."
        )
    return None


def set_active(user: User, session_id: int, organization_id: int | None) -> None:
    """Make an organization (or none) active on the session; its policy must be met."""
    db.session.execute(
        delete(ActiveOrganization).where(ActiveOrganization.session_id == session_id)
    )
    if organization_id is not None:
        membership = membership_of(user, organization_id)
        if membership is None:
            db.session.rollback()
            raise NotAllowed("You are not a member of this organization.")
        check_policy(user, membership.organization)
        refusal = sso_refusal(session_id, membership.organization)
        if refusal is not None:
            db.session.rollback()
            raise NotAllowed(refusal)
        db.session.add(ActiveOrganization(session_id=session_id, organization_id=organization_id))
    db.session.commit()


def active_of(user: User, session_id: int) -> ActiveOrganization | None:
    """The session's active organization, while the person is still a member of it."""
    row = db.session.get(ActiveOrganization, session_id)
    if row is None or membership_of(user, row.organization_id) is None:
        return None
    return row


def _check_may_create(actor: User) -> None:
    settings = app_settings()
    if settings.organization_creators == ADMINS and not actor.is_admin:
        raise NotAllowed("Only administrators may create organizations here.")
    limit = settings.organization_limit
    made = db.session.scalar(
        select(func.count()).select_from(Organization).where(Organization.created_by == actor.id)
    )
    if limit and (made or 0) >= limit:
        raise NotAllowed(f"You have created {limit} organizations, the most allowed here.")


def _checked(fields: Fields) -> tuple[str, str, str | None]:
    name = " ".join(fields.name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"Give a name of 1 to {MAX_NAME} characters.", field="name")
    slug = fields.slug.strip().lower()
    if not SLUG.match(slug):
        raise InvalidInput(
            "A slug is 1 to 48 lowercase letters, digits and hyphens, not starting or ending "
            "with a hyphen.",
            field="slug",
        )
    logo_url = fields.logo_url.strip()
    if logo_url and (not logo_url.startswith("https://") or len(logo_url) > MAX_LOGO_URL):
        raise InvalidInput("The logo URL must be an https:// address.", field="logo_url")
    return name, slug, logo_url or None


def _taken(slug: str) -> SlugTaken:
    return SlugTaken(f"The slug “{slug}” is taken. Choose another.", field="slug")

"""Organizations as a site administrator sees them (the management API; the console's pages
use `operator` too, from organization_admin.py): find them by the start of their name or
slug, count their members, and act on one from outside it.

An administrator is not a member: `operator` gives the identity services
(idp.identity.organizations, members, invitations, permissions, teams) an `Operator`, who may
do what an owner may. Every rule beyond permissions (a free slug, the last owner stays, a
built-in role is fixed) stays in those services, and each change is audited there with the
administrator.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from idp.db import db
from idp.identity.actors import Actor
from idp.identity.organization_models import Membership, Organization
from idp.identity.organizations import delete_organization
from idp.identity.permissions import Operator

MAX_PREFIX = 200


def search(prefix: str, limit: int, after: int | None = None) -> list[Organization]:
    """Organizations whose name or slug starts with `prefix` (any case), by id; `after`: the
    last id of the previous page."""
    query = select(Organization).order_by(Organization.id).limit(limit)
    prefix = prefix.strip().lower()[:MAX_PREFIX]
    if prefix:
        query = query.where(
            or_(
                Organization.slug.startswith(prefix, autoescape=True),
                func.lower(Organization.name).startswith(prefix, autoescape=True),
            )
        )
    if after is not None:
        query = query.where(Organization.id > after)
    return list(db.session.scalars(query))


def member_counts(organization_ids: list[int]) -> dict[int, int]:
    """How many members each organization has."""
    if not organization_ids:
        return {}
    rows = db.session.execute(
        select(Membership.organization_id, func.count())
        .where(Membership.organization_id.in_(organization_ids))
        .group_by(Membership.organization_id)
    )
    counts = {int(organization_id): int(count) for organization_id, count in rows}
    return {organization_id: counts.get(organization_id, 0) for organization_id in organization_ids}


def operator(organization: Organization) -> Operator:
    """The administrator acting on `organization` with an owner's permissions."""
    return Operator(organization)


def delete(admin: Actor, organization: Organization) -> None:
    """Delete the organization and all that hangs on it; the API call itself confirms."""
    delete_organization(admin, operator(organization), organization.slug)

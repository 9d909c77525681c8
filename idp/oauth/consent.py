"""Consent: what a user let a client see, remembered per user, client and resource
(RFC 8707: an allowed resource does not stand for another one) as a set of scopes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from idp.core.audit import Event, record
from idp.db import db, insert_if_absent, utcnow
from idp.identity.models import User
from idp.oauth.models import Client, Consent, TokenFamily


def remembered(user: User, client: Client, resource: str = "") -> set[str]:
    row = _find(user, client, resource)
    return set(row.scopes) if row else set()


def needs_consent(
    user: User, client: Client, scopes: list[str], resources: list[str] | None = None
) -> bool:
    """Whether the user must be asked: consent is remembered per client and per resource, so
    an allowed resource A does not cover a resource B (RFC 8707)."""
    if client.first_party:
        return False
    return any(not set(scopes) <= remembered(user, client, r) for r in resources or [""])


def grant(
    user: User, client: Client, scopes: list[str], resources: list[str] | None = None
) -> None:
    """Remember `scopes` for each resource. Parallel grants (two tabs) add up: the row is
    inserted if absent, then read locked, so each adds its scopes to what the other saved."""
    for resource in resources or [""]:
        insert_if_absent(
            Consent, user_id=user.id, client_id=client.id, resource=resource, scopes=[]
        )
        row = _find(user, client, resource, lock=True)
        assert row is not None
        row.scopes = sorted(set(row.scopes) | set(scopes))
    record(
        Event.CONSENT_GRANTED,
        user_id=user.id,
        subject=client.client_id,
        scopes=sorted(scopes),
        **({"resources": list(resources)} if resources else {}),
    )
    db.session.commit()


@dataclass
class AppAccess:
    """What one client may do for the user, over all the resources it was allowed."""

    client_id: int
    client: Client
    scopes: list[str]
    created_at: datetime


def apps_with_access(user: User) -> list[AppAccess]:
    """One entry per client, newest first, with the scopes of all its consents."""
    rows = db.session.scalars(
        select(Consent).where(Consent.user_id == user.id).order_by(Consent.updated_at.desc())
    )
    apps: dict[int, AppAccess] = {}
    for row in rows:
        app = apps.setdefault(
            row.client_id, AppAccess(row.client_id, row.client, [], row.created_at)
        )
        app.scopes = sorted(set(app.scopes) | set(row.scopes))
        app.created_at = min(app.created_at, row.created_at)
    return list(apps.values())


def revoke(user: User, client_id: int) -> bool:
    """Forget the consent and revoke every token the client holds for this user."""
    rows = list(
        db.session.scalars(
            select(Consent).where(Consent.user_id == user.id, Consent.client_id == client_id)
        )
    )
    if not rows:
        return False
    db.session.execute(
        update(TokenFamily)
        .where(
            TokenFamily.user_id == user.id,
            TokenFamily.client_id == client_id,
            TokenFamily.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    record(Event.CONSENT_REVOKED, user_id=user.id, subject=rows[0].client.client_id)
    for row in rows:
        db.session.delete(row)
    db.session.commit()
    return True


def _find(user: User, client: Client, resource: str, *, lock: bool = False) -> Consent | None:
    query = select(Consent).where(
        Consent.user_id == user.id,
        Consent.client_id == client.id,
        Consent.resource == resource,
    )
    if lock:  # the row as committed now, kept from other writers until this commit
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)

"""Consent: what a user let a client see, remembered per user, client and scope set."""

from __future__ import annotations

from sqlalchemy import select, update

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.identity.models import User
from idp.oauth.models import Client, Consent, TokenFamily


def remembered(user: User, client: Client) -> set[str]:
    row = _find(user, client)
    return set(row.scopes) if row else set()


def needs_consent(user: User, client: Client, scopes: list[str]) -> bool:
    return not client.first_party and not set(scopes) <= remembered(user, client)


def grant(user: User, client: Client, scopes: list[str]) -> None:
    row = _find(user, client)
    if row is None:
        row = Consent(user_id=user.id, client_id=client.id, scopes=[])
        db.session.add(row)
    row.scopes = sorted(set(row.scopes) | set(scopes))
    record(Event.CONSENT_GRANTED, user_id=user.id, subject=client.client_id, scopes=sorted(scopes))
    db.session.commit()


def apps_with_access(user: User) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent).where(Consent.user_id == user.id).order_by(Consent.updated_at.desc())
        )
    )


def revoke(user: User, client_id: int) -> bool:
    """Forget the consent and revoke every token the client holds for this user."""
    row = db.session.scalar(
        select(Consent).where(Consent.user_id == user.id, Consent.client_id == client_id)
    )
    if row is None:
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
    record(Event.CONSENT_REVOKED, user_id=user.id, subject=row.client.client_id)
    db.session.delete(row)
    db.session.commit()
    return True


def _find(user: User, client: Client) -> Consent | None:
    return db.session.scalar(
        select(Consent).where(Consent.user_id == user.id, Consent.client_id == client.id)
    )

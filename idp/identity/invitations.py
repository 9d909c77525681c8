"""Invitations to an organization, by email: invite, resend, cancel, accept, reject, and the
lists of an organization's and of a person's invitations.

The emailed link carries 32 random bytes; only their SHA-256 digest is stored (as
`one_time.py` does for email links). The link works for an address with no account yet: the
page signs the invitee up and accepts in one step, and accepting marks the address verified
(the link proves it), so a deployment that requires verified addresses does not lock the
invitee out. An invitation is for one address: someone else signed in cannot use it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.db import db, utcnow
from idp.errors import IdpError, InvalidInput
from idp.identity import members, users
from idp.identity.actors import Actor
from idp.identity.models import User
from idp.identity.organization_models import Invitation, Membership
from idp.identity.permissions import (
    OWNER,
    Acting,
    NotAllowed,
    require,
    require_role_within,
    role_exists,
)
from idp.mail import app_mailer
from idp.settings import app_settings

PENDING, ACCEPTED, REJECTED, CANCELLED = "pending", "accepted", "rejected", "cancelled"
Link = Callable[[str], str]  # the page URL for an invitation secret


class InvitationUnusable(IdpError):
    code = "invitation_unusable"


class AlreadyInvited(InvalidInput):
    code = "already_invited"


def invite(
    actor: Actor, membership: Acting | None, email: str, role: str, link: Link
) -> Invitation:
    """Invite `email` with `role` and mail the link; nothing is stored if the mail fails."""
    member = require(membership, "invitation", "create")
    email = users.normalise_email(email)
    if not role_exists(member.organization_id, role):
        raise InvalidInput(f"There is no role named “{role}” here.", field="role")
    if role == OWNER and member.role != OWNER:
        raise NotAllowed("Only an owner can invite an owner.")
    require_role_within(member, role)
    existing = users.find_by_email(email)
    if existing is not None and members.find(member.organization_id, existing.id):
        raise members.AlreadyMember(f"{email} is already a member.", field="email")
    if _pending(member.organization_id, email) is not None:
        raise AlreadyInvited(
            f"{email} already has a pending invitation; resend it instead.", field="email"
        )
    row = Invitation(
        organization_id=member.organization_id, email=email, role=role, invited_by=actor.id
    )
    secret = _renew(row)
    db.session.add(row)
    db.session.flush()
    record(
        Event.INVITATION_SENT,
        user_id=actor.id,
        subject=email,
        organization=member.organization_id,
        role=role,
    )
    _send(actor, row, link(secret))
    db.session.commit()
    return row


def resend(actor: Actor, membership: Acting | None, invitation_id: int, link: Link) -> None:
    """A new link and a new expiry; the old link stops working."""
    member = require(membership, "invitation", "create")
    row = _of(member, invitation_id)
    if row.status != PENDING:
        raise InvalidInput(f"This invitation was {row.status}; invite again instead.")
    secret = _renew(row)
    record(
        Event.INVITATION_SENT,
        user_id=actor.id,
        subject=row.email,
        organization=member.organization_id,
        role=row.role,
        resent=True,
    )
    _send(actor, row, link(secret))
    db.session.commit()


def cancel(actor: Actor, membership: Acting | None, invitation_id: int) -> None:
    member = require(membership, "invitation", "cancel")
    row = _of(member, invitation_id)
    if row.status != PENDING:
        raise InvalidInput(f"This invitation was already {row.status}.")
    row.status, row.answered_at = CANCELLED, utcnow()
    record(
        Event.INVITATION_CANCELLED,
        user_id=actor.id,
        subject=row.email,
        organization=member.organization_id,
    )
    db.session.commit()


def find(secret: str) -> Invitation:
    """The invitation of a link, whatever its state; `InvitationUnusable` if there is none."""
    row = db.session.scalar(select(Invitation).where(Invitation.secret_hash == digest(secret)))
    if row is None:
        raise InvitationUnusable(
            "This invitation link is not valid. Check that you copied all of it."
        )
    return row


def usable(row: Invitation) -> Invitation:
    """The invitation if it can still be answered; else why not."""
    if row.status == CANCELLED:
        raise InvitationUnusable("This invitation was cancelled. Ask for a new one.")
    if row.status != PENDING:
        raise InvitationUnusable(f"This invitation was already {row.status}.")
    if row.expires_at <= utcnow():
        raise InvitationUnusable("This invitation has expired. Ask for a new one.")
    return row


def accept(user: User, row: Invitation) -> Membership:
    """Join the organization with the invited role; the address counts as verified."""
    _check_answerable(user, row)
    _answer(row, ACCEPTED)
    membership = members.find(row.organization_id, user.id) or members.join(
        user, row.organization_id, row.role
    )
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the emailed link proves the address
        record(Event.EMAIL_VERIFIED, user_id=user.id, subject=user.email, by="invitation")
    record(
        Event.INVITATION_ACCEPTED,
        user_id=user.id,
        subject=user.email,
        organization=row.organization_id,
        role=membership.role,
    )
    db.session.commit()
    return membership


def reject(user: User, row: Invitation) -> None:
    _check_answerable(user, row)
    _answer(row, REJECTED)
    record(
        Event.INVITATION_REJECTED,
        user_id=user.id,
        subject=user.email,
        organization=row.organization_id,
    )
    db.session.commit()


def of_person(user: User) -> list[Invitation]:
    """Pending, unexpired invitations to the person's address, newest first."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.email == user.email,
                Invitation.status == PENDING,
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.id.desc())
        )
    )


def of_organization(membership: Acting | None) -> list[Invitation]:
    """Every invitation of the organization, newest first (for those who may invite)."""
    member = require(membership, "invitation", "create")
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.organization_id == member.organization_id)
            .order_by(Invitation.id.desc())
        )
    )


def for_person(user: User, invitation_id: int) -> Invitation:
    """One of the person's own invitations, answered from their list rather than the link."""
    row = db.session.get(Invitation, invitation_id)
    if row is None or row.email != user.email:
        raise InvitationUnusable("There is no such invitation for you.")
    return row


def _check_answerable(user: User, row: Invitation) -> None:
    usable(row)
    if row.email != user.email:
        raise InvitationUnusable(
            f"This invitation is for another email address. Sign in as the person it was "
            f"sent to (you are signed in as {user.email})."
        )


def _answer(row: Invitation, status: str) -> None:
    """Mark the invitation answered in one conditional UPDATE: of two answers racing (a double
    click, two tabs), one wins and the other hears it was already answered."""
    done = db.session.execute(
        update(Invitation)
        .where(Invitation.id == row.id, Invitation.status == PENDING)
        .values(status=status, answered_at=utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise InvitationUnusable("This invitation was already answered.")
    db.session.refresh(row)


def state(row: Invitation) -> str:
    """pending, accepted, rejected, cancelled, or expired (pending past its time)."""
    return "expired" if row.status == PENDING and row.expires_at <= utcnow() else row.status


def _renew(row: Invitation) -> str:
    secret = new_token()
    row.secret_hash = digest(secret)
    row.expires_at = utcnow() + timedelta(seconds=app_settings().invitation_ttl)
    return secret


def _send(actor: Actor, row: Invitation, url: str) -> None:
    """Mail now, before the commit: when the mail server fails, nothing is stored."""
    organization = row.organization
    try:
        app_mailer().send(
            row.email,
            f"{actor.name} invited you to {organization.name}",
            "organization_invitation",
            inviter=actor,
            organization=organization,
            role=row.role,
            link=url,
            days=max(1, app_settings().invitation_ttl // 86400),
        )
    except IdpError:
        db.session.rollback()
        raise


def _pending(organization_id: int, email: str) -> Invitation | None:
    return db.session.scalar(
        select(Invitation).where(
            Invitation.organization_id == organization_id,
            Invitation.email == email,
            Invitation.status == PENDING,
            Invitation.expires_at > utcnow(),
        )
    )


def _of(member: Acting, invitation_id: int) -> Invitation:
    row = db.session.get(Invitation, invitation_id)
    if row is None or row.organization_id != member.organization_id:
        raise InvalidInput("There is no such invitation in this organization.")
    return row

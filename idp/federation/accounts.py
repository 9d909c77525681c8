"""From an `Asserted` to an account: follow the link, link by a trusted email, or create.

- A `FederatedIdentity` for (source, subject) names the account: it signs in.
- Otherwise, when an account has the asserted email, the link is made at once only if the
  upstream is trusted for linking and asserts the email verified. Any other case is
  `ProveAccount`: the person must sign in to the account here (password, passkey...) before
  the link is made; the page that follows is the same whether or not an account has that
  email (no enumeration), so `ProveAccount` is answered then too, before looking.
- No account has the email and the upstream is trusted and asserts it verified: a new
  account, its email verified.

Two first sign-ins of one subject at once leave one account and one link: the account and its
link are inserted in one transaction, the loser's insert finds the email taken, and it reads
the winner's link. Used by upstream providers and enterprise SSO alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from idp.core.audit import Event, record
from idp.db import db, utcnow
from idp.errors import IdpError
from idp.federation.asserted import Asserted
from idp.federation.models import FederatedIdentity
from idp.identity import users
from idp.identity.models import User
from idp.identity.passkeys import Passkey
from idp.keys.sealing import Sealer

TOKENS_INFO = b"idp upstream tokens v1"
LAST_WAY = (
    "This is the only way left to sign in to your account. Set a password or add a passkey "
    "first, then unlink it."
)


class FederationRefused(IdpError):
    code = "federation_refused"


@dataclass(frozen=True)
class SignedIn:
    user: User
    created: bool = False


@dataclass(frozen=True)
class ProveAccount:
    """Sign in to an account here first; then `link` it."""

    asserted: Asserted


@dataclass(frozen=True)
class Policy:
    """How much the upstream is trusted, and whether its tokens are kept (sealed)."""

    trusted_for_linking: bool = False
    sealed_tokens: str | None = None


def seal_tokens(secret: str, asserted: Asserted, tokens: dict[str, Any]) -> str:
    label = f"{asserted.source}:{asserted.subject}"
    return Sealer(secret, info=TOKENS_INFO).seal(json.dumps(tokens).encode(), label=label)


def find_link(source: str, subject: str) -> FederatedIdentity | None:
    return db.session.scalar(
        select(FederatedIdentity).where(
            FederatedIdentity.source == source, FederatedIdentity.subject == subject
        )
    )


def links_of(user: User) -> list[FederatedIdentity]:
    return list(
        db.session.scalars(
            select(FederatedIdentity)
            .where(FederatedIdentity.user_id == user.id)
            .order_by(FederatedIdentity.created_at)
        )
    )


def resolve(asserted: Asserted, policy: Policy) -> SignedIn | ProveAccount:
    """Who signs in with `asserted`; audited as FEDERATED_SIGN_IN when someone does."""
    for _ in range(2):  # once more after losing a race for the same subject
        link = find_link(asserted.source, asserted.subject)
        if link is not None:
            return _signed_in(link, asserted, policy, created=False)
        if not (asserted.email and asserted.email_verified and policy.trusted_for_linking):
            return ProveAccount(asserted)
        existing = users.find_by_email(asserted.email)
        if existing is not None:
            link = _insert_link(existing, asserted, policy)
            if link is not None:
                record(
                    Event.ACCOUNT_LINKED,
                    user_id=existing.id,
                    subject=existing.email,
                    source=asserted.source,
                    automatic=True,
                )
                return _signed_in(link, asserted, policy, created=False)
            continue
        user = _create_account(asserted)
        if user is not None:
            link = _insert_link(user, asserted, policy)
            if link is not None:
                return _signed_in(link, asserted, policy, created=True)
        db.session.rollback()
    raise FederationRefused("Signing in did not work this time. Try again.")


def _signed_in(
    link: FederatedIdentity, asserted: Asserted, policy: Policy, *, created: bool
) -> SignedIn:
    link.last_used_at = utcnow()
    link.email = asserted.email
    if policy.sealed_tokens is not None:
        link.sealed_tokens = policy.sealed_tokens
    user = db.session.get(User, link.user_id)
    assert user is not None
    record(
        Event.FEDERATED_SIGN_IN,
        user_id=user.id,
        subject=user.email,
        source=asserted.source,
        created=created,
    )
    db.session.commit()
    return SignedIn(user, created)


def _insert(model: type[Any], **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; whether the row was inserted."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    return db.session.execute(statement).scalar() is not None


def _create_account(asserted: Asserted) -> User | None:
    """A new account for `asserted` (no password), or None when its email was just taken."""
    assert asserted.email is not None
    email = users.normalise_email(asserted.email)
    name = _name(asserted.name, email)
    now = utcnow()
    verified = now if asserted.email_verified else None
    if not _insert(
        User,
        email=email,
        name=name,
        password_hash=None,
        is_admin=False,
        email_verified_at=verified,
        created_at=now,
        updated_at=now,
    ):
        return None
    user = users.find_by_email(email)
    assert user is not None
    record(Event.SIGN_UP, user_id=user.id, subject=email, source=asserted.source)
    return user


def _name(asserted: str | None, email: str) -> str:
    """The asserted name when it is a usable one, else the address's local part."""
    try:
        return users.clean_name((asserted or "")[:200])
    except IdpError:
        return users.clean_name(email.split("@")[0][:200])


def _insert_link(user: User, asserted: Asserted, policy: Policy) -> FederatedIdentity | None:
    """Link (source, subject) to `user`; None when it is linked to another account now."""
    _insert(
        FederatedIdentity,
        user_id=user.id,
        source=asserted.source,
        subject=asserted.subject,
        email=asserted.email,
        created_at=utcnow(),
    )
    link = find_link(asserted.source, asserted.subject)
    if link is None or link.user_id != user.id:
        return None
    return link


def link(user: User, asserted: Asserted, policy: Policy) -> FederatedIdentity:
    """Link `asserted` to `user`, who proved the account; audited as ACCOUNT_LINKED.
    Refused when the upstream identity already belongs to another account."""
    existing = find_link(asserted.source, asserted.subject)
    if existing is not None and existing.user_id != user.id:
        raise FederationRefused(
            "This account of the provider is already linked to another account here."
        )
    try:
        linked = existing or _insert_link(user, asserted, policy)
    except IntegrityError:
        linked = None
    if linked is None:
        db.session.rollback()
        raise FederationRefused("This account of the provider is linked to another account.")
    if policy.sealed_tokens is not None:
        linked.sealed_tokens = policy.sealed_tokens
    linked.email = asserted.email
    record(Event.ACCOUNT_LINKED, user_id=user.id, subject=user.email, source=asserted.source)
    db.session.commit()
    return linked


def other_ways(user: User, but: FederatedIdentity) -> int:
    """How many ways to sign in `user` has besides the link `but`."""
    passkeys = db.session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.user_id == user.id)
    )
    links = db.session.scalar(
        select(func.count())
        .select_from(FederatedIdentity)
        .where(FederatedIdentity.user_id == user.id, FederatedIdentity.id != but.id)
    )
    return int(bool(user.password_hash)) + int(passkeys or 0) + int(links or 0)


def unlink(user: User, link_id: int) -> FederatedIdentity:
    """Remove one of `user`'s links, never the last way to sign in; ACCOUNT_UNLINKED."""
    link = db.session.get(FederatedIdentity, link_id)
    if link is None or link.user_id != user.id:
        raise FederationRefused("This link does not exist.")
    if other_ways(user, link) == 0:
        raise FederationRefused(LAST_WAY)
    record(Event.ACCOUNT_UNLINKED, user_id=user.id, subject=user.email, source=link.source)
    db.session.delete(link)
    db.session.commit()
    return link

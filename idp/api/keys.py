"""API keys: create (the key is shown once), list, revoke, and find the key a request
presents.

A key reads `idp_<8 characters>_<secret>`; its first 12 characters are its visible prefix.
Its permissions are scopes of the management API (idp.oauth.management); they count only
while its owner is an administrator, so a key never holds more than the person behind it.
Each key has its own rate limit (requests per minute). Its last use is written at most once a
minute, so a busy key does not write on every request.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from idp.api.models import ApiKey
from idp.core.audit import Event, record
from idp.core.security import digest, new_token
from idp.db import db, utcnow
from idp.errors import InvalidInput
from idp.identity.models import User
from idp.oauth.management import SCOPES

PREFIX = "idp_"
PREFIX_LENGTH = len(PREFIX) + 8
MAX_NAME_LENGTH = 200
MAX_RATE_LIMIT = 100_000
MAX_DAYS = 3650
LAST_USED_EVERY = timedelta(minutes=1)
_ALPHABET = string.ascii_letters + string.digits


def create_key(
    owner: User,
    name: str,
    permissions: list[str],
    *,
    expires_in_days: int | None = None,
    rate_limit: int = 600,
    admin: User | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key for `owner` and return it with the key itself, shown only now.
    `admin` is the administrator who made it, when not the owner."""
    name = _checked(owner, name, permissions, expires_in_days, rate_limit)
    visible = PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = f"{visible}_{new_token(32)}"
    now = utcnow()
    key = ApiKey(
        prefix=visible,
        key_hash=digest(secret),
        name=name,
        user_id=owner.id,
        created_by_id=admin.id if admin is not None and admin.id != owner.id else None,
        permissions=list(dict.fromkeys(permissions)),
        rate_limit=rate_limit,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(key)
    db.session.flush()
    record(Event.API_KEY_CREATED, **_audit(key, admin or owner))
    db.session.commit()
    return key, secret


def _checked(
    owner: User, name: str, permissions: list[str], days: int | None, rate_limit: int
) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"An API key needs a name of 1 to {MAX_NAME_LENGTH} characters.", field="name"
        )
    unknown = [p for p in permissions if p not in SCOPES]
    if unknown:
        raise InvalidInput(f"Unknown permission: {', '.join(unknown)}.", field="permissions")
    if permissions and not owner.is_admin:
        raise InvalidInput(
            "Only an administrator's key can hold management permissions.", field="permissions"
        )
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"A key expires in 1 to {MAX_DAYS} days, or never.", field="expires")
    if not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise InvalidInput(
            f"The rate limit is 1 to {MAX_RATE_LIMIT} requests a minute.", field="rate_limit"
        )
    return name


def list_keys(owner: User | None = None) -> list[ApiKey]:
    """Every key (newest first), or one person's."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    if owner is not None:
        query = query.where(ApiKey.user_id == owner.id)
    return list(db.session.scalars(query))


def find_key(key_id: int, owner: User | None = None) -> ApiKey | None:
    """A key by id; with `owner`, only theirs."""
    key = db.session.get(ApiKey, key_id)
    if key is None or (owner is not None and key.user_id != owner.id):
        return None
    return key


def revoke_key(key: ApiKey, *, by: User | None) -> bool:
    """Revoke a key now; False when it already was."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    record(Event.API_KEY_REVOKED, **_audit(key, by))
    db.session.commit()
    return True


def presented_key(secret: str) -> ApiKey | None:
    """The usable key a request presents (unrevoked, unexpired), noting its use."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(secret)))
    now = utcnow()
    if key is None or not key.is_usable(now):
        return None
    _note_use(key, now)
    return key


def permissions_of(key: ApiKey) -> set[str]:
    """What the key may do now: its permissions while its owner is an administrator."""
    return set(key.permissions) if key.user.is_admin else set()


def _note_use(key: ApiKey, now: datetime) -> None:
    """One conditional UPDATE, at most once a minute per key, however many processes."""
    cutoff = utcnow() - LAST_USED_EVERY
    db.session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < cutoff),
        )
        .values(last_used_at=now)
    )
    db.session.commit()


def _audit(key: ApiKey, actor: User | None) -> dict[str, Any]:
    return {
        "user_id": actor.id if actor else None,
        "subject": key.prefix,
        "owner": key.user.email if key.user else None,
        "name": key.name,
        "permissions": key.permissions,
    }

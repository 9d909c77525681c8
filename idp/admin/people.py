"""Finding people: search, filters, sort and pages, made to stay fast at 100,000 people.

Search is by prefix, case-insensitively, of the email address or of the name ("ada" finds
ada@example.com and "Ada Lovelace"; "lovelace" finds neither). On PostgreSQL each prefix is
one index range scan: `ix_user_email_pattern` (email, varchar_pattern_ops; addresses are
stored lower-cased) and `ix_user_name_pattern` (lower(name), varchar_pattern_ops). Words in
the middle of a name or an address would need a trigram index (pg_trgm), which SQLite lacks.
Pages are `PAGE_SIZE` rows by offset, in the chosen order, each order backed by an index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from idp.core.audit import AuditEvent
from idp.db import db, utcnow
from idp.errors import InvalidInput
from idp.identity import organizations
from idp.identity.bans import Ban
from idp.identity.models import LoginSession, User
from idp.identity.organization_models import Membership
from idp.identity.passkeys import Passkey, passkeys_of
from idp.identity.sessions import app_sessions
from idp.identity.two_factor_models import BackupCode, TotpFactor
from idp.oauth.consent import AppAccess, apps_with_access

PAGE_SIZE = 50
MAX_PAGE = 2000
MAX_QUERY_LENGTH = 320
SORTS = {
    "newest": (User.created_at.desc(), User.id.desc()),
    "oldest": (User.created_at.asc(), User.id.asc()),
    "email": (User.email.asc(),),
    "name": (func.lower(User.name).asc(), User.id.asc()),
}
FILTERS = ("admin", "banned", "unverified", "two_factor")
TRAIL_LENGTH = 50


@dataclass(frozen=True)
class Search:
    query: str = ""
    filters: frozenset[str] = field(default_factory=frozenset)
    sort: str = "newest"
    page: int = 1

    @classmethod
    def parse(cls, query: str, filters: list[str], sort: str, page: str) -> Search:
        """From the page's parameters; `InvalidInput` names what is wrong."""
        query = query.strip().lower()
        if len(query) > MAX_QUERY_LENGTH:
            raise InvalidInput(f"Search with at most {MAX_QUERY_LENGTH} characters.", field="q")
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise InvalidInput(f"There is no filter {unknown[0]!r}.", field="filter")
        if (sort or "newest") not in SORTS:
            raise InvalidInput(f"There is no order {sort!r}.", field="sort")
        if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
            raise InvalidInput(f"The page must be a number from 1 to {MAX_PAGE}.", field="page")
        return cls(query, frozenset(filters), sort or "newest", int(page))


@dataclass(frozen=True)
class Page:
    people: list[User]
    search: Search
    has_next: bool


def find(search: Search) -> Page:
    """One page of the people `search` asks for."""
    statement = filtered(select(User), search).order_by(*SORTS[search.sort])
    offset = (search.page - 1) * PAGE_SIZE
    rows: list[User] = list(db.session.scalars(statement.offset(offset).limit(PAGE_SIZE + 1)))
    return Page(rows[:PAGE_SIZE], search, len(rows) > PAGE_SIZE)


def filtered(statement: Select[Any], search: Search) -> Select[Any]:
    """`statement` narrowed to the people `search` asks for (its query and filters)."""
    if search.query:
        prefix = escape_like(search.query) + "%"
        statement = statement.where(
            or_(
                User.email.like(prefix, escape="\\"),
                func.lower(User.name).like(prefix, escape="\\"),
            )
        )
    for name in sorted(search.filters):
        statement = statement.where(_FILTER[name]())
    return statement


def _banned() -> ColumnElement[bool]:
    return exists().where(Ban.user_id == User.id, _live_ban())


_FILTER: dict[str, Callable[[], ColumnElement[bool]]] = {
    "admin": lambda: User.is_admin.is_(True),
    "banned": _banned,
    "unverified": lambda: User.email_verified_at.is_(None),
    "two_factor": lambda: exists().where(TotpFactor.user_id == User.id),
}


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (with `escape="\\"`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def counts() -> dict[str, int]:
    """For the admin home: people, admins, banned."""
    people = db.session.scalar(select(func.count()).select_from(User)) or 0
    admins = db.session.scalar(select(func.count()).where(User.is_admin.is_(True))) or 0
    banned = db.session.scalar(select(func.count()).select_from(Ban).where(_live_ban())) or 0
    return {"people": people, "admins": admins, "banned": banned}


def _live_ban() -> ColumnElement[bool]:
    return or_(Ban.expires_at.is_(None), Ban.expires_at > utcnow())


@dataclass(frozen=True)
class Overview:
    """What the console's person page and the management API show of a person beyond the
    account: ban, sessions, second factors, organizations, apps with access, recent audit."""

    ban: Ban | None
    sessions: list[LoginSession]
    totp: TotpFactor | None
    backup_codes_left: int
    passkeys: list[Passkey]
    memberships: list[Membership]
    apps: list[AppAccess]
    trail: list[AuditEvent]


def overview(user: User, trail_length: int = TRAIL_LENGTH) -> Overview:
    trail = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.user_id == user.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(trail_length)
    )
    backup_left = db.session.scalar(
        select(func.count())
        .select_from(BackupCode)
        .where(BackupCode.user_id == user.id, BackupCode.used_at.is_(None))
    )
    return Overview(
        ban=db.session.get(Ban, user.id, populate_existing=True),
        sessions=app_sessions().list_for(user.id),
        totp=db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id)),
        backup_codes_left=int(backup_left or 0),
        passkeys=passkeys_of(user),
        memberships=organizations.mine(user),
        apps=apps_with_access(user),
        trail=list(trail),
    )

"""Reading the audit log: filter by person, event and time, newest first, in pages; and the
same rows as CSV for a spreadsheet, written row by row.

Pages are keyset pages (`before`: the id of the last row shown), so the thousandth page costs
what the first does. CSV cells that a spreadsheet would run as a formula (starting with =, +,
-, @, a tab or a carriage return) get a leading apostrophe (OWASP "CSV Injection").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import Select, select

from idp.core.audit import AuditEvent, Event
from idp.db import db
from idp.errors import InvalidInput
from idp.identity.models import User

PAGE_SIZE = 100
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("id", "at", "event", "user_id", "subject", "ip", "user_agent", "detail")


@dataclass(frozen=True)
class Query:
    user: str = ""  # an email address, as typed
    event: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None

    @classmethod
    def parse(cls, args: dict[str, str]) -> Query:
        """From the page's parameters; `InvalidInput` names what is wrong."""
        event = args.get("event", "").strip()
        if event and event not in {e.value for e in Event}:
            raise InvalidInput(f"There is no event {event!r}.", field="event")
        before = args.get("before", "").strip()
        if before and not before.isdigit():
            raise InvalidInput("The page marker must be a number.", field="before")
        return cls(
            user=args.get("user", "").strip().lower()[:320],
            event=event,
            since=_day(args.get("since", ""), "since", time.min),
            until=_day(args.get("until", ""), "until", time.max),
            before=int(before) if before else None,
        )

    def params(self) -> dict[str, str]:
        """The filters (not the page), for links."""
        values = {
            "user": self.user,
            "event": self.event,
            "since": f"{self.since:%Y-%m-%d}" if self.since else "",
            "until": f"{self.until:%Y-%m-%d}" if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


def _day(raw: str, field: str, at: time) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return datetime.combine(datetime.strptime(raw, "%Y-%m-%d").date(), at, UTC)
    except ValueError:
        raise InvalidInput("Give a date such as 2027-01-31.", field=field) from None


def _statement(query: Query) -> Select[Any]:
    statement = select(AuditEvent).order_by(AuditEvent.id.desc())
    if query.user:
        person = select(User.id).where(User.email == query.user).scalar_subquery()
        statement = statement.where(
            (AuditEvent.user_id == person) | (AuditEvent.subject == query.user)
        )
    if query.event:
        statement = statement.where(AuditEvent.event == query.event)
    if query.since:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until:
        statement = statement.where(AuditEvent.at <= query.until)
    return statement


def page(query: Query) -> tuple[list[AuditEvent], int | None]:
    """One page, and the `before` of the next page (None on the last)."""
    statement = _statement(query)
    if query.before is not None:
        statement = statement.where(AuditEvent.id < query.before)
    rows: list[AuditEvent] = list(db.session.scalars(statement.limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    return rows[:PAGE_SIZE], rows[PAGE_SIZE - 1].id if more else None


def csv_lines(query: Query) -> Iterator[str]:
    """The header, then every matching row, one CSV line at a time."""
    yield _line(COLUMNS)
    rows: Iterator[AuditEvent] = iter(
        db.session.scalars(_statement(query).execution_options(yield_per=500))
    )
    for row in rows:
        yield _line(
            (
                str(row.id),
                row.at.isoformat(),
                row.event,
                "" if row.user_id is None else str(row.user_id),
                row.subject or "",
                row.ip or "",
                row.user_agent or "",
                json.dumps(row.detail or {}, sort_keys=True),
            )
        )


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _line(cells: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(cell) for cell in cells])
    return out.getvalue()

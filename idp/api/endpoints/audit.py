"""Management API: the audit log (idp.admin.audit_log does the work, with the console's
filters): by person (their email address), event, and days (`since`, `until`, inclusive,
UTC), newest first in pages of 100 (`before`: the `next_before` of the previous page); and
the same rows as CSV (`text/csv`, RFC 4180), written row by row."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context

from idp.admin.audit_log import COLUMNS, Query, csv_lines, page
from idp.api.registry import Call, api
from idp.api.schemas import TIME, answer, listing
from idp.core.audit import AuditEvent, Event

READ = "admin:audit:read"
DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "2027-01-31"}
FILTERS: dict[str, Any] = {
    "user": {"type": "string", "maxLength": 320, "description": "A person's email address"},
    "event": {"enum": sorted(e.value for e in Event)},
    "since": DAY,
    "until": DAY,
}
EVENT = answer(
    {
        "id": {"type": "integer"},
        "at": TIME,
        "event": {"type": "string"},
        "user_id": {"type": ["integer", "null"]},
        "subject": {"type": ["string", "null"]},
        "ip": {"type": ["string", "null"]},
        "user_agent": {"type": ["string", "null"]},
        "detail": {"type": "object"},
    }
)
PAGE = {
    **listing("events", EVENT),
    "properties": {
        "events": {"type": "array", "items": EVENT},
        "next_before": {"type": ["integer", "null"]},
    },
    "required": ["events", "next_before"],
}


def event_json(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "event": row.event,
        "user_id": row.user_id,
        "subject": row.subject,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "detail": row.detail or {},
    }


def _query(call: Call) -> Query:
    return Query.parse({name: str(value) for name, value in call.query.items()})


@api.endpoint(
    "GET",
    "/audit-events",
    permission=READ,
    summary="List audit events, newest first, filtered by person, event and days",
    query={**FILTERS, "before": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
    answer=PAGE,
)
def list_audit_events(call: Call) -> Any:
    rows, next_before = page(_query(call))
    return {"events": [event_json(row) for row in rows], "next_before": next_before}


@api.endpoint(
    "GET",
    "/audit-events.csv",
    permission=READ,
    summary=f"Export the audit events as CSV (columns: {', '.join(COLUMNS)})",
    query=FILTERS,
    answer={"type": "string"},
    media_type="text/csv",
)
def export_audit_events(call: Call) -> Any:
    lines = csv_lines(_query(call))
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
    return response

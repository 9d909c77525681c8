"""The audit log through the management API (admin:audit:read): the console's filters (person,
event, days), newest first in keyset pages; and the same rows as CSV (RFC 4180), cells a
spreadsheet would run as a formula made text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from idp.admin.audit_log import COLUMNS
from idp.core.audit import Event, record
from idp.db import db
from tests.api.conftest import make_key
from tests.api.test_organizations_api import refused


def write(app, count: int, event: Event = Event.USER_BANNED, subject: str = "ada@example.com"):
    with app.app_context():
        for n in range(count):
            record(event, subject=subject, n=n)
        db.session.commit()


def test_events_are_filtered_and_paged(app, api):
    write(app, 150)
    write(app, 2, Event.USER_UNBANNED, subject="=cmd|' /C calc'!A0")

    first = api("GET", "/audit-events?event=user_banned&user=ada@example.com").json()
    second = api("GET", f"/audit-events?event=user_banned&before={first['next_before']}").json()

    assert len(first["events"]) == 100 and first["next_before"] is not None
    assert [e["detail"]["n"] for e in first["events"][:2]] == [149, 148]
    assert len(second["events"]) == 50 and second["next_before"] is None
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    days = api("GET", f"/audit-events?event=user_unbanned&since={today}&until={today}").json()
    assert len(days["events"]) == 2
    assert api("GET", "/audit-events?until=2001-01-01").json()["events"] == []


def test_the_csv_export_is_text_csv_with_formulas_made_text(app, api):
    write(app, 2, Event.USER_UNBANNED, subject="=cmd|' /C calc'!A0")

    response = api("GET", "/audit-events.csv?event=user_unbanned")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    assert [row[4] for row in rows[1:]] == ["'=cmd|' /C calc'!A0"] * 2


def test_a_bad_filter_says_why(api, snapshot):
    refused(
        api,
        snapshot,
        "GET",
        "/audit-events?since=2027-02-31",
        422,
        "Give a date such as 2027-01-31.",
    )
    refused(
        api,
        snapshot,
        "GET",
        "/audit-events?event=nothing",
        422,
        "The query parameter event is not valid.",
    )
    refused(
        api,
        snapshot,
        "GET",
        "/audit-events.csv?until=31/01/2027",
        422,
        "The query parameter until is not valid.",
    )


def test_the_audit_log_needs_its_own_permission(app, api, snapshot):
    other = make_key(app, permissions=["admin:people:read", "admin:organizations:read"])
    api("GET", "/people", key=other)
    before = snapshot()

    for path in ("/audit-events", "/audit-events.csv"):
        response = api("GET", path, key=other)

        assert response.status_code == 403
        assert response.json()["detail"] == "This needs the permission admin:audit:read."
    assert snapshot() == before

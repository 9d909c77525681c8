"""The audit log page and its CSV export; the signing-keys page; `idp users set-admin`."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.core.audit import AuditEvent, Event, record
from idp.db import db, utcnow
from idp.identity import users
from idp.keys import app_keys
from tests.admin.conftest import ADMIN, text_of
from tests.test_cli import cli_env as cli_env  # the fixture
from tests.test_cli import run

ADA = "ada@example.com"


def add_event(app, event: Event, subject: str, days_ago: float = 0, **detail: str) -> None:
    with app.app_context():
        row = record(event, subject=subject, **detail)
        row.at = utcnow() - timedelta(days=days_ago)
        db.session.commit()


def events_on(page: str) -> list[str]:
    """The event column of an audit page, top to bottom."""
    return re.findall(r"</time></td>\s*<td>([a-z_]+)</td>", page)


def rows_of(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


# --- The audit log ---------------------------------------------------------------------------


def test_the_log_filters_by_person_event_and_time(app, admin, make_user):
    add_event(app, Event.SIGN_IN_FAILED, ADA, days_ago=10)  # before she had an account
    make_user(ADA)
    add_event(app, Event.SIGN_IN_FAILED, "bob@example.com")

    by_person = text_of(admin.get("/admin/audit?user=ADA@example.com"))
    by_event = text_of(admin.get("/admin/audit?event=sign_in_failed"))
    recent = admin.get("/admin/audit?event=sign_in_failed&since=" + f"{utcnow():%Y-%m-%d}")

    assert events_on(by_person) == ["sign_up", "sign_in_failed"]  # not Grace's, not Bob's
    assert events_on(by_event) == ["sign_in_failed", "sign_in_failed"]
    assert events_on(text_of(recent)) == ["sign_in_failed"]
    assert "bob@example.com" in text_of(recent)


def test_the_log_comes_in_pages_newest_first(app, admin):
    for i in range(105):
        add_event(app, Event.SIGN_IN_FAILED, f"p{i:03d}@example.com", days_ago=(105 - i) / 1000)

    first = text_of(admin.get("/admin/audit?event=sign_in_failed"))
    assert first.count("<td>sign_in_failed</td>") == 100
    assert first.index("p104@") < first.index("p005@")
    older = first.split('rel="next" href="', 1)[1].split('"', 1)[0]
    second = text_of(admin.get(older.replace("&amp;", "&")))

    assert second.count("<td>sign_in_failed</td>") == 5
    assert "p004@" in second and "p005@" not in second


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("event=nothing", "There is no event &#39;nothing&#39;."),
        ("since=31/01/2027", "Give a date such as 2027-01-31."),
        ("before=x", "The page marker must be a number."),
    ],
)
def test_bad_filters_say_what_is_wrong(admin, query, message):
    for path in ("/admin/audit?", "/admin/audit.csv?"):
        response = admin.get(path + query)
        assert response.status_code == 400
        assert message in response.text


def test_the_csv_export_has_every_matching_row(app, admin, make_user):
    make_user(ADA)
    add_event(app, Event.SIGN_IN_FAILED, ADA)

    response = admin.get("/admin/audit.csv?user=ada@example.com")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert [row["event"] for row in rows_of(response)] == ["sign_in_failed", "sign_up"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_cells_a_spreadsheet_would_run_are_escaped(app, admin, start):
    """OWASP "CSV Injection": a cell starting with = + - @ or a tab is prefixed with '."""
    add_event(app, Event.SIGN_IN_FAILED, start + 'HYPERLINK("http://evil.example")')

    [row] = rows_of(admin.get("/admin/audit.csv?event=sign_in_failed"))

    assert row["subject"] == "'" + start + 'HYPERLINK("http://evil.example")'


# --- Signing keys ----------------------------------------------------------------------------


def test_the_keys_page_lists_the_keys(app, admin):
    with app.app_context():
        active = app_keys().ensure_key()

    page = text_of(admin.get("/admin/keys"))

    assert f"<code>{active.kid}</code>" in page
    assert "<td>active</td>" in page
    assert "every 90.0 days" in page


@pytest.fixture
def own_keys(env, tmp_path):
    """A key folder of this test's own: a rotation must not reach the run's shared one."""
    env["IDP_KEYS_DIR"] = str(tmp_path / "keys")


def test_rotating_from_the_page_publishes_a_pending_key(own_keys, app, admin):
    with app.app_context():
        store = app_keys()
        before = {info.kid for info in store.keys()}  # noqa: SIM118 (a KeyStore)

    response = admin.submit("/admin/keys", action="/admin/keys/rotate", next="/admin/keys")

    assert response.status_code == 303
    with app.app_context():
        new = [info for info in store.keys() if info.kid not in before]  # noqa: SIM118
        assert [info.state.value for info in new] == ["pending"]
        [event] = [e for e in audit_rows(app) if e[0] == "key_rotated"]
        assert event[1] == new[0].kid and event[2]["admin"] == ADMIN
    assert f"Key {new[0].kid} is published now" in text_of(admin.get("/admin/keys"))


def audit_rows(app):
    with app.app_context():
        return [(e.event, e.subject, e.detail) for e in db.session.scalars(select(AuditEvent))]


# --- The command line ------------------------------------------------------------------------


def test_set_admin_gives_and_takes_the_role(app, cli_env):
    with app.app_context():
        users.create_user(ADA, "Ada", "plum-orchard-47-lantern")

    given = run("users", "set-admin", "Ada@example.com", env=cli_env)
    again = run("users", "set-admin", ADA, env=cli_env)
    taken = run("users", "set-admin", ADA, "--off", env=cli_env)
    nobody = run("users", "set-admin", "nobody@example.com", env=cli_env)

    assert (given.returncode, given.stdout) == (0, "ada@example.com is now an admin.\n")
    assert again.stdout == "ada@example.com is already an admin.\n"
    assert taken.stdout == "ada@example.com is no longer an admin.\n"
    assert nobody.returncode == 1
    assert "No account with the email nobody@example.com." in nobody.stderr
    with app.app_context():
        assert not users.find_by_email(ADA).is_admin  # type: ignore[union-attr]

"""How long the admin console's people search takes at 1,000 and 100,000 people.

    .venv/bin/python bench/people_search.py postgresql://postgres@127.0.0.1:5432/idp_bench

A benchmark, not a test: it prints timings and the query plan, and asserts nothing. The
database must be one of its own (its name must contain "bench"): it is migrated, and its
people are deleted and re-seeded for each size. Each search runs through the same service as
/admin/people (`idp.admin.people.find`), `RUNS` times; the median and the slowest are shown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, text
from sqlalchemy.engine import make_url

from idp import db as database
from idp.admin import people
from idp.app import create_app
from idp.db import db
from idp.identity.models import User
from idp.settings import Settings

SIZES = (1_000, 100_000)
RUNS = 50
SEARCHES = {
    "email prefix 'person0000042'": people.Search(query="person0000042"),
    "email prefix 'ada'": people.Search(query="ada"),
    "name prefix 'person 77'": people.Search(query="person 77"),
    "no query, newest first": people.Search(),
    "no query, by email, page 20": people.Search(sort="email", page=20),
    "admins only": people.Search(filters=frozenset({"admin"})),
    "prefix 'person00001' + unverified": people.Search(  # 100 match, a third unverified
        query="person00001", filters=frozenset({"unverified"})
    ),
}


def seed(count: int) -> None:
    db.session.execute(delete(User))
    start = datetime.now(UTC) - timedelta(days=365)
    rows = [
        {
            "email": f"person{i:07d}@example.com",
            "name": f"Person {i}",
            "is_admin": i % 5000 == 0,
            "created_at": start + timedelta(seconds=i * 300),
            "updated_at": start,
            "email_verified_at": start if i % 3 else None,
        }
        for i in range(count)
    ]
    rows[count // 2]["email"] = "ada.lovelace@example.com"
    for chunk in range(0, count, 10_000):
        db.session.execute(insert(User), rows[chunk : chunk + 10_000])
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def timed(search: people.Search) -> tuple[float, float, int]:
    samples = []
    found = 0
    for _ in range(RUNS):
        began = time.perf_counter()
        found = len(people.find(search).people)
        samples.append((time.perf_counter() - began) * 1000)
        db.session.rollback()
    return statistics.median(samples), max(samples), found


def plan(search: people.Search) -> str:
    statement = people.filtered(db.select(User), search).order_by(*people.SORTS[search.sort])
    compiled = statement.limit(51).compile(db.engine, compile_kwargs={"literal_binds": True})
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}")
    return "\n".join("    " + row[0] for row in rows)


def main(url: str) -> None:
    if "bench" not in (make_url(url).database or ""):
        sys.exit("Give a database of its own, with 'bench' in its name: its people are deleted.")
    settings = Settings.from_env({"DATABASE_URL": url, "IDP_SECRET_KEY": "b" * 40})
    database.upgrade(url)
    app = create_app(settings)
    with app.app_context():
        for size in SIZES:
            seed(size)
            print(f"\n{size:,} people ({db.engine.dialect.name}), {RUNS} runs each")
            for label, search in SEARCHES.items():
                median, slowest, found = timed(search)
                print(f"  {label:<32} median {median:6.2f} ms  max {slowest:6.2f} ms  ({found})")
        print("\nPlan of the email-and-name prefix search at the largest size:")
        print(plan(SEARCHES["email prefix 'ada'"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="a PostgreSQL URL whose database name has 'bench'")
    main(parser.parse_args().database_url)

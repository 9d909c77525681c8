"""What a password sign-in costs beyond the password hash, and where that time goes.

    .venv/bin/python -m bench.sign_in_cost [--runs 40] [--profile]

A benchmark, not a test: it asserts nothing. It builds the app on a fresh SQLite database in a
temporary folder (development settings, no Redis), creates one account, then signs in `--runs`
times the way a new browser does, each from its own address: GET /sign-in (the form and its
CSRF token), then POST /sign-in with the email and password, which checks the password, opens
a session, audits it and redirects to the account page.

The hash is timed inside each POST: the benchmark wraps the password check the sign-in calls
(`idp.identity.users.verify_password`, Argon2id) with a timer, so "beyond the hash" is the
POST's time less its own hash's, request by request, not a difference of two medians. A
request is timed inside the app (its WSGI callable), as a server runs it: the test client's
own work, building the request and reading the answer, is left out. Times are this
process's CPU time, which another busy process on the machine changes less than wall
time (Argon2 runs its lanes on threads; their CPU time counts on both sides). With `--profile`
it prints the functions that take the most time in the sign-ins.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask.testing import FlaskClient

from idp import db as database
from idp.app import create_app
from idp.identity import users
from idp.identity.users import create_user
from idp.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple 42"  # noqa: S105 (a benchmark's own account)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class TimedHash:
    """The sign-in's password check, with the CPU time of its last call kept."""

    def __init__(self, check: Callable[[str | None, str], bool]) -> None:
        self.check = check
        self.last = 0.0

    def __call__(self, stored: str | None, password: str) -> bool:
        start = time.process_time()
        try:
            return self.check(stored, password)
        finally:
            self.last = time.process_time() - start


class TimedApp:
    """The app as a server calls it, with the CPU time of its last request kept."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.last = 0.0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start = time.process_time()
        try:
            return self.app(environ, start_response)
        finally:
            self.last = time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = _settings(Path(folder))
        database.upgrade(settings.database_url)
        app = create_app(settings)
        with app.app_context():
            create_user(EMAIL, "Ada Lovelace", PASSWORD)
        timed = TimedHash(users.verify_password)
        users.verify_password = timed  # type: ignore[assignment]
        served = TimedApp(app.wsgi_app)
        app.wsgi_app = served  # type: ignore[method-assign]
        sign_in = lambda: _sign_in(app.test_client(), timed, served)  # noqa: E731
        sign_in()  # the first pays for templates and the database's first pages
        rows = [sign_in() for _ in range(args.runs)]
        columns = zip(*rows, strict=True)
        form, post, hashed, beyond = (statistics.median(column) for column in columns)
        print(f"GET /sign-in (the form):          {form * 1000:7.2f} ms CPU (median)")
        print(f"POST /sign-in:                    {post * 1000:7.2f} ms CPU (median)")
        print(f"  its password hash (Argon2id):   {hashed * 1000:7.2f} ms CPU (median)")
        print(f"  the POST beyond its hash:       {beyond * 1000:7.2f} ms CPU (median)")
        if args.profile:
            _profile(sign_in, args.runs)


def _settings(folder: Path) -> Settings:
    return Settings.from_env(
        {
            "IDP_ENV": "development",
            "IDP_INSTANCE_DIR": str(folder / "instance"),
            "IDP_KEYS_DIR": str(folder / "keys"),
            "DATABASE_URL": f"sqlite:///{folder / 'idp.sqlite'}",
            "IDP_ISSUER": "http://127.0.0.1:5000",
        }
    )


def _sign_in(
    client: FlaskClient, timed: TimedHash, served: TimedApp
) -> tuple[float, float, float, float]:
    """One sign-in from a new browser: CPU time of the GET, the POST, the POST's hash, and
    the POST beyond its hash."""
    _sign_in.calls += 1  # type: ignore[attr-defined]
    n: int = _sign_in.calls  # type: ignore[attr-defined]
    # Each sign-in from its own address, as from many people: the per-address limit on
    # /sign-in stays out of the way, and its bookkeeping is counted.
    client.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    page = client.get("/sign-in").get_data(as_text=True)
    got = served.last
    found = CSRF.search(page)
    assert found, "the sign-in page has no CSRF token"
    form: dict[str, Any] = {"email": EMAIL, "password": PASSWORD, "csrf_token": found.group(1)}
    answer = client.post("/sign-in", data=form)
    assert answer.status_code == 303, f"sign-in answered {answer.status_code}"
    post = served.last
    return got, post, timed.last, post - timed.last


_sign_in.calls = 0  # type: ignore[attr-defined]


def _profile(run: Callable[[], object], runs: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())


if __name__ == "__main__":
    main()

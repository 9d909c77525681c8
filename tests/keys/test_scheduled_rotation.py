"""Keys rotate by themselves (IDP_KEY_ROTATION_DAYS) across processes, with no cron.

Two production servers share one key folder (and one database: SQLite in one run, PostgreSQL
and Redis in the other). With a period of a few seconds and requests arriving at both, each
period gets exactly one new key (the key folder's lock; OpenID Connect Core §10.1.1: it is
published before it signs), and both processes serve it in their JWK Set (RFC 7517 §5).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.oauth.test_many_processes import Process, start, two_ports, wait_until_ready

PERIOD = 4.0  # seconds
PERIODS = 3


@pytest.fixture
def pair(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    ports = two_ports()
    shared = {
        **env,
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        "IDP_ISSUER": f"http://127.0.0.1:{ports[0]}",
        "IDP_KEY_ROTATION_DAYS": str(PERIOD / 86400),
    }
    started: list[Process] = []
    try:
        for name, port in zip("ab", ports, strict=True):
            started.append(start(shared, port, tmp_path / f"server-{name}.log"))
        for process in started:
            wait_until_ready(process)
        yield started[0], started[1]
    finally:
        for process in started:
            process.stop()


def kids(process: Process) -> list[str]:
    return [
        key["kid"] for key in requests.get(process.url + "/jwks.json", timeout=5).json()["keys"]
    ]


def activations(folder: Path) -> list[tuple[float, str]]:
    """(activation as epoch seconds, kid) of every key file, oldest first."""
    found = []
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        found.append((_epoch(data["activates_at"]), data["kid"]))
    return sorted(found)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_two_processes_rotate_once_per_period_and_both_serve_the_new_key(pair, tmp_path):
    a, b = pair
    ends = time.monotonic() + PERIOD * PERIODS
    while time.monotonic() < ends:  # requests at both, as traffic would bring
        kids(a)
        kids(b)
        time.sleep(0.05)

    keys = activations(tmp_path / "keys")
    assert len(keys) >= PERIODS, keys  # the first key, then about one per period
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(keys)]
    # One new key per period: a second rotation in the same period would be a short gap.
    assert all(gap >= PERIOD - 0.01 for gap in gaps), gaps
    newest = keys[-1][1]
    assert newest in kids(a)
    assert newest in kids(b)

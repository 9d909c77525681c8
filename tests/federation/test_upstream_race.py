"""Two first sign-ins of one upstream person at once (two tabs, two devices) leave one
account and one link, and both sign in (RFC 9110 §9.2.2: as if one came after the other).

Each browser went through the peer on its own; their callbacks are released together by a
barrier, over sockets to the threaded live server.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from idp.db import db
from idp.federation.models import FederatedIdentity
from idp.identity.models import User
from tests.federation.upstream_peer import Upstreamer, connect

pytestmark = pytest.mark.settings(IDP_CLIENT_METADATA_ALLOW_PRIVATE="true")
PARALLEL = 4


def test_parallel_first_sign_ins_make_one_account_and_one_link(server, peer):
    connect(server, peer)
    people = [Upstreamer(server, peer) for _ in range(PARALLEL)]
    callbacks = [person.to_callback() for person in people]
    barrier = threading.Barrier(PARALLEL)

    def call_back(i: int) -> int:
        barrier.wait()
        return people[i].get(callbacks[i]).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(call_back, range(PARALLEL)))

    assert statuses == [303] * PARALLEL
    with server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        assert db.session.scalar(select(func.count()).select_from(FederatedIdentity)) == 1
    for person in people:
        assert person.get(server.url + "/account").status_code == 200

"""Many processes behave as one: two production servers (granian, as the README runs it) that
share one PostgreSQL database, one Redis and one key folder, reached each on its own port.

- RFC 6749 §4.1.2 and §10.5: a code issued by one process is redeemed at the other, exactly
  once; a replay at either is refused with invalid_grant and revokes what the code issued.
- OpenID Connect Core §10.1.1, RFC 7517 §5: a rotated key is in every process's JWKS before any
  process signs with it, every process switches at its activation time, and tokens signed
  before still verify.
- Sessions: a session ended at one process is refused at the other at
  once, because the session cache lives in the shared Redis.
- Rate limits: one counter across all processes.

These need PostgreSQL and Redis; CI runs the suite a second time with both, and without them
every test here is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import db as database
from idp.app import create_app
from idp.settings import Settings
from tests.conftest import PASSWORD, Browser
from tests.oauth.conftest import RegisteredClient, authorize_url, follow, pkce, query_of
from tests.support import set_cookies
from tests.test_cli import free_port, run
from tests.test_production import end_group, production_command
from tests.test_rate_limits import assert_limited

SKIP_REASON = "many-process checks need DATABASE_URL=postgresql://... and REDIS_URL"
ADA = ("ada@example.com", PASSWORD)
TO_SIGN_IN = "/sign-in?next=%2Faccount"
ALREADY_USED = "This authorization code was already used."
# Should pytest itself be killed, the kernel stops the granian servers too (Linux, util-linux).
SETPRIV = shutil.which("setpriv")
ORPHAN_GUARD = [SETPRIV, "--pdeathsig", "TERM"] if SETPRIV else []


@dataclass
class Process:
    """One production server with one worker, serving the app on its own port."""

    url: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop gracefully; kill if it does not stop in time. Never leaves it running, nor a
        worker of it: killing only the main process would leave its workers serving."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:  # longer than the command's --workers-kill-timeout
                self.popen.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        end_group(self.popen.pid)


def start(env: dict[str, str], port: int, log: Path) -> Process:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IDP_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        popen = subprocess.Popen(
            [*ORPHAN_GUARD, *production_command(port, workers=1)],
            env={**inherited, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, for `end_group`
        )
    return Process(f"http://127.0.0.1:{port}", popen, log)


def wait_until_ready(process: Process) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.url} exited at start:\n{process.output()}")
        try:
            if requests.get(process.url + "/readyz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{process.url} did not become ready:\n{process.output()}")
        time.sleep(0.2)


def two_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


@pytest.fixture
def ports(database_url: str, redis_url: str) -> tuple[int, int]:
    if not (database_url.startswith("postgresql") and redis_url):
        pytest.skip(SKIP_REASON)
    return two_ports()


@pytest.fixture
def shared_env(env: dict[str, str], tmp_path: Path, ports: tuple[int, int]) -> dict[str, str]:
    """One environment for both processes: same issuer, secret, keys, database and Redis."""
    return {
        **env,
        # This module rotates keys, so it never touches the run's shared key folder.
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        # The issuer is only an identifier here: each process is reached on its own port.
        "IDP_ISSUER": f"http://127.0.0.1:{ports[0]}",
    }


@pytest.fixture
def pair(
    shared_env: dict[str, str], ports: tuple[int, int], tmp_path: Path
) -> Iterator[tuple[Process, Process]]:
    """Processes A and B, started together on an empty key folder."""
    started: list[Process] = []
    try:
        for name, port in zip("ab", ports, strict=True):
            started.append(start(shared_env, port, tmp_path / f"server-{name}.log"))
        for process in started:
            wait_until_ready(process)
        yield started[0], started[1]
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def app(pair: tuple[Process, Process], shared_env: dict[str, str]) -> Iterator[Flask]:
    """The app in this test process, for the shared database only (factories, snapshots).

    It serves nothing; it is built after both processes are up, so they create the first key.
    """
    local = create_app(Settings.from_env(shared_env))
    yield local
    with local.app_context():
        database.dispose()


# --- helpers ----------------------------------------------------------------------------------


def code_from(process: Process, client: RegisteredClient, **params: str) -> tuple[str, str]:
    """Sign in and consent through `process`'s forms; the code and its PKCE verifier."""
    verifier, challenge = pkce()
    callback = follow(Browser(process.url), authorize_url(client, challenge, **params), sign_in=ADA)
    query = query_of(callback)
    assert query["iss"] == process.url  # RFC 9207 §2: A's URL is the issuer of both
    return query["code"], verifier


def redeem(
    process: Process, client: RegisteredClient, code: str, verifier: str
) -> requests.Response:
    return requests.post(
        process.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": client.redirect_uri,
        },
        auth=(client.client_id, client.client_secret or ""),
        timeout=10,
    )


def userinfo(process: Process, access_token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(process.url + "/userinfo", headers=headers, timeout=10)


def jwks(process: Process) -> KeySet:
    response = requests.get(process.url + "/jwks.json", timeout=10)
    assert response.status_code == 200
    return KeySet.import_key_set(response.json())


def published_kids(process: Process) -> list[str]:
    return [
        key["kid"] for key in requests.get(process.url + "/jwks.json", timeout=10).json()["keys"]
    ]


def service_token(process: Process, client: RegisteredClient) -> str:
    response = requests.post(
        process.url + "/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret or ""),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def signing_kid(token: str, process: Process) -> str:
    """The kid of `token`, after checking its signature against `process`'s JWKS."""
    return str(jwt.decode(token, jwks(process)).header["kid"])


def poll(check: Callable[[], bool], *, within: float) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def assert_refused(response: requests.Response) -> None:
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": ALREADY_USED}


def assert_revoked(response: requests.Response) -> None:
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# --- codes: issued by one, redeemed at another, once -------------------------------------------


def test_a_code_issued_by_one_process_is_redeemed_at_the_other(pair, make_user, make_client):
    a, b = pair
    make_user(ADA[0], name="Ada Lovelace")
    client = make_client()
    code, verifier = code_from(a, client, nonce="n-many-1")

    response = redeem(b, client, code, verifier)

    assert response.status_code == 200, response.text
    body = response.json()
    id_token = jwt.decode(body["id_token"], jwks(b))
    assert id_token.claims["iss"] == a.url
    assert id_token.claims["aud"] == client.client_id
    assert id_token.claims["nonce"] == "n-many-1"
    access = jwt.decode(body["access_token"], jwks(b))
    assert access.header["typ"] == "at+jwt"
    for process in pair:
        info = userinfo(process, body["access_token"])
        assert info.status_code == 200, info.text
        assert info.json()["sub"] == id_token.claims["sub"]


def test_a_replayed_code_is_refused_at_both_processes_and_revokes_its_tokens(
    pair, make_user, make_client, snapshot
):
    a, b = pair
    make_user(ADA[0])
    client = make_client()
    code, verifier = code_from(a, client)
    first = redeem(b, client, code, verifier)
    assert first.status_code == 200, first.text
    access = first.json()["access_token"]
    assert userinfo(a, access).status_code == 200

    assert_refused(redeem(a, client, code, verifier))
    before = snapshot()
    assert_refused(redeem(b, client, code, verifier))

    assert snapshot() == before  # the second replay finds the grant already revoked
    for process in pair:  # RFC 6749 §4.1.2: what the code issued is revoked everywhere
        assert_revoked(userinfo(process, access))


def test_two_processes_racing_on_one_code_issue_tokens_once_then_revoke_them(
    pair, make_user, make_client
):
    make_user(ADA[0])
    client = make_client()
    code, verifier = code_from(pair[0], client)
    start_line = threading.Barrier(2)
    answers: dict[str, requests.Response] = {}

    def race(process: Process) -> None:
        start_line.wait(timeout=10)
        answers[process.url] = redeem(process, client, code, verifier)

    racers = [threading.Thread(target=race, args=(process,)) for process in pair]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=30)

    statuses = sorted(answer.status_code for answer in answers.values())
    assert statuses == [200, 400]
    loser = next(answer for answer in answers.values() if answer.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"
    winner = next(answer for answer in answers.values() if answer.status_code == 200)
    for process in pair:  # the second use was a replay: what the first issued is revoked
        assert_revoked(userinfo(process, winner.json()["access_token"]))


# --- sessions: the cache is shared ----------------------------------------------------------


def test_sessions_ended_at_one_process_are_refused_at_the_other_at_once(pair, make_user):
    a, b = pair
    make_user(ADA[0])
    laptop, phone = Browser(a.url), Browser(b.url)
    assert laptop.sign_in(*ADA).status_code == 303
    assert phone.sign_in(*ADA).status_code == 303
    assert phone.get("/account").status_code == 200  # B has looked it up: it is in the cache

    ended = laptop.submit("/account", action="/account/sessions/revoke-others")
    assert ended.status_code == 303

    refused = phone.get("/account")
    assert refused.status_code in (302, 303)
    assert refused.headers["Location"] == TO_SIGN_IN
    assert set_cookies(refused)["idp_session"].clears
    assert laptop.get("/account").status_code == 200
    assert Browser(b.url, http=laptop.http).get("/account").status_code == 200


def test_a_sign_out_at_one_process_is_refused_at_the_other_at_once(pair, make_user):
    a, b = pair
    make_user(ADA[0])
    at_b = Browser(b.url)
    assert at_b.sign_in(*ADA).status_code == 303
    assert at_b.get("/account").status_code == 200  # B has looked it up: it is in the cache
    token = at_b.cookie()
    assert token
    at_a = Browser(a.url, http=at_b.http)  # a cookie for 127.0.0.1 goes to every port

    signed_out = at_a.submit("/account", action="/sign-out")
    assert signed_out.status_code == 303

    refused = requests.get(
        b.url + "/account", cookies={"idp_session": token}, allow_redirects=False, timeout=10
    )
    assert refused.status_code in (302, 303)
    assert refused.headers["Location"] == TO_SIGN_IN
    assert set_cookies(refused)["idp_session"].clears


# --- keys: published by all before any signs ----------------------------------------------------


def test_a_rotated_key_is_published_by_every_process_before_any_signs_with_it(
    pair, shared_env, make_client
):
    a, b = pair
    client = make_client(grant_types=["client_credentials"], redirect_uris=[])
    before = [service_token(process, client) for process in pair]
    old_kid = signing_kid(before[0], a)
    # Started together on an empty folder, the processes created one key, not two.
    assert published_kids(a) == published_kids(b) == [old_kid]
    assert signing_kid(before[1], b) == old_kid

    rotated = run("keys", "rotate", "--activate-after", "3", env=shared_env)

    assert rotated.returncode == 0, rotated.stderr
    match = re.search(r"Created signing key (\S+) \(RS256\)\.", rotated.stdout)
    assert match, rotated.stdout
    new_kid = match.group(1)
    # Each process looks at the key folder again at most a second after it last did.
    for process in pair:
        assert poll(lambda p=process: new_kid in published_kids(p), within=1.5), process.url
        assert sorted(published_kids(process)) == sorted([old_kid, new_kid])
    pending = [service_token(process, client) for process in pair]
    # The key activates 3 s after it was made, by the clock of these processes, which a test
    # cannot move: wait until each signs with it.
    for process in pair:
        assert poll(
            lambda p=process: signing_kid(service_token(p, client), p) == new_kid, within=8
        ), process.url
    after = [service_token(process, client) for process in pair]

    for process in pair:
        for token in pending:
            assert signing_kid(token, process) == old_kid  # published, not yet signing
        for token in after:
            assert signing_kid(token, process) == new_kid
        for token in before:  # the old key stays published for what it signed
            assert jwt.decode(token, jwks(process)).claims["client_id"] == client.client_id


# --- rate limits: one counter ---------------------------------------------------------------


@pytest.mark.settings(IDP_SIGN_IN_IP_LIMIT="3 per minute")
def test_a_rate_limit_counts_across_both_processes(pair, make_user, snapshot):
    a, b = pair
    make_user(ADA[0])
    at_a, at_b = Browser(a.url), Browser(b.url)
    for _ in range(2):
        assert at_a.sign_in(ADA[0], "wrong-password-1").status_code == 400
    assert at_b.sign_in(ADA[0], "wrong-password-1").status_code == 400
    before = snapshot()

    limited = [at_a.sign_in(*ADA), at_b.sign_in(*ADA)]

    for response in limited:
        assert_limited(response)
    assert at_a.cookie() is None and at_b.cookie() is None
    assert snapshot() == before

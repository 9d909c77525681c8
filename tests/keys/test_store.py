"""The signing-key store: publish before signing, keep until expiry, never leak a private key.

RFC 7517 §4 and §5 (JWK members, JWK Set), RFC 7518 §6 (public and private key parameters),
OpenID Connect Core §10.1.1 (rotation of asymmetric signing keys).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey

from idp.keys import ALGORITHMS, KeyState, KeyStore, KeyStoreError
from idp.keys.folder import KeyFile, KeyFolder
from idp.keys.sealing import Sealer
from idp.keys.store import RECHECK_SECONDS
from tests.conftest import SECRET
from tests.helpers.clock import Clock
from tests.helpers.waiting import wait_until

MakeStore = Callable[..., KeyStore]
MS = timedelta(milliseconds=1)
EVERY_ALG = ["RS256", "ES256", "Ed25519"]


@pytest.fixture
def make_store(tmp_path: Path) -> MakeStore:
    """Factory: a store on `tmp_path/keys`; keyword overrides for any argument."""

    def make(**overrides: Any) -> KeyStore:
        options: dict[str, Any] = {
            "directory": tmp_path / "keys",
            "secret_key": SECRET,
            "alg": "RS256",
            "activation_delay": 60,
            "retention": 600,
        }
        options.update(overrides)
        return KeyStore(options.pop("directory"), options.pop("secret_key"), **options)

    return make


def kids(jwks: bytes) -> list[str]:
    return [key["kid"] for key in json.loads(jwks)["keys"]]


def sign(store: KeyStore, **claims: Any) -> str:
    key = store.signing_key()
    return jwt.encode({"alg": key.alg, "kid": key.kid}, claims, key.key, algorithms=[key.alg])


def verify(store: KeyStore, token: str) -> jwt.Token:
    return jwt.decode(token, store.public_keyset(), algorithms=list(ALGORITHMS))


def key_files(store: KeyStore) -> list[Path]:
    return sorted(store.directory.glob("*.json"))


def test_ensure_key_creates_one_active_key_and_then_keeps_it(make_store: MakeStore):
    store = make_store()

    first = store.ensure_key()
    again = make_store().ensure_key()

    assert first.state is KeyState.ACTIVE
    assert again.kid == first.kid
    assert [path.name for path in key_files(store)] == [f"{first.kid}.json"]
    assert store.signing_key().kid == first.kid


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "a-store-each"])
def test_threads_ensuring_at_once_create_one_key(make_store: MakeStore, shared: bool):
    stores = [make_store()] * 8 if shared else [make_store() for _ in range(8)]
    start = threading.Barrier(len(stores))

    def ensure(store: KeyStore) -> str:
        start.wait()
        return store.ensure_key().kid

    with ThreadPoolExecutor(len(stores)) as pool:
        created = set(pool.map(ensure, stores))

    assert len(created) == 1
    assert len(key_files(stores[0])) == 1


CHILD = """
import sys
from pathlib import Path
from idp.keys import KeyStore
store = KeyStore(Path(sys.argv[1]), sys.argv[2], activation_delay=60, retention=600)
print("ready", flush=True)
sys.stdin.readline()
print(store.ensure_key().kid, flush=True)
"""


def test_processes_starting_together_create_one_key(tmp_path: Path):
    directory = tmp_path / "keys"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(directory), SECRET],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    for child in children:  # all are past their imports: release them together
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    created = {child.communicate(timeout=60)[0].strip() for child in children}

    assert all(child.returncode == 0 for child in children)
    assert len(created) == 1
    assert [path.stem for path in directory.glob("*.json")] == list(created)


def test_a_rotated_key_is_published_at_once_and_signs_only_from_its_activation(
    make_store: MakeStore,
):
    """OIDC Core §10.1.1: a verifier must be able to find the new key before it is used."""
    store = make_store()
    old = store.ensure_key()

    new = store.rotate(activate_after=30)

    assert new.state is KeyState.PENDING
    assert kids(store.jwks()) == [old.kid, new.kid]
    assert store.signing_key().kid == old.kid
    assert store.signing_key(now=new.activates_at - MS).kid == old.kid
    # No file changes at the activation time: the store notices the time passing by itself.
    assert store.signing_key(now=new.activates_at + MS).kid == new.kid


def test_a_pending_key_starts_signing_on_time_in_real_time(make_store: MakeStore, clock: Clock):
    store = make_store()
    old = store.ensure_key()
    new = store.rotate(activate_after=1)
    assert store.signing_key().kid == old.kid

    # No `now=`: the store reads the (moved) clock itself.
    clock.advance_past(new.activates_at, by=0.05)

    assert store.signing_key().kid == new.kid


def test_a_superseded_key_stays_published_for_the_retention_then_disappears(
    make_store: MakeStore,
):
    """OIDC Core §10.1.1: keep the old key published while tokens it signed are valid."""
    store = make_store(retention=10)
    old = store.ensure_key()
    new = store.rotate(activate_after=5)
    gone_at = new.activates_at + timedelta(seconds=10)

    retiring = {info.kid: info for info in store.keys(now=gone_at - MS)}[old.kid]
    expired = {info.kid: info for info in store.keys(now=gone_at + MS)}[old.kid]

    assert kids(store.jwks(now=gone_at - MS)) == [new.kid, old.kid]
    assert retiring.state is KeyState.RETIRING
    assert retiring.superseded_at == new.activates_at
    assert retiring.published_until == gone_at
    assert kids(store.jwks(now=gone_at + MS)) == [new.kid]
    assert expired.state is KeyState.EXPIRED
    assert not expired.published


def test_rotating_deletes_the_files_of_expired_keys(make_store: MakeStore):
    store = make_store(retention=0)
    old = store.ensure_key()

    new = store.rotate(activate_after=0)

    assert [path.stem for path in key_files(store)] == [new.kid]
    assert old.kid not in kids(store.jwks())


def test_the_key_that_signs_is_the_last_activated_not_the_last_created(make_store: MakeStore):
    store = make_store()
    first = store.ensure_key()
    later = store.rotate(activate_after=3600)
    sooner = store.rotate(activate_after=0)
    timeline = store.keys()

    assert [info.kid for info in timeline] == [first.kid, sooner.kid, later.kid]
    assert store.signing_key().kid == sooner.kid
    assert store.signing_key(now=later.activates_at + MS).kid == later.kid


@pytest.mark.parametrize("alg", EVERY_ALG)
def test_the_jwks_publishes_only_public_members(make_store: MakeStore, alg: str):
    """RFC 7517 §4-§5 and RFC 7518 §6: private parameters never appear in a JWK Set."""
    store = make_store(alg=alg)
    store.ensure_key()
    store.rotate(alg=alg)

    published = json.loads(store.jwks())["keys"]

    assert len(published) == 2
    for key in published:
        assert {"kid", "use", "alg", "kty"} <= key.keys()
        assert key["use"] == "sig"
        assert key["alg"] == alg
        assert not {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & key.keys()


@pytest.mark.parametrize("alg", EVERY_ALG)
def test_key_files_are_private_to_their_owner_and_hold_the_private_key_sealed(
    make_store: MakeStore, alg: str
):
    store = make_store(alg=alg)
    store.ensure_key()
    private = store.signing_key().key.as_dict(private=True)
    secrets = [value for name, value in private.items() if name in {"d", "p", "q", "dp", "dq"}]

    [path] = key_files(store)
    stored = path.read_bytes()

    assert secrets
    assert not [secret for secret in secrets if secret.encode() in stored]
    assert b"PRIVATE KEY" not in stored
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.directory.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("alg", EVERY_ALG)
def test_every_algorithm_signs_tokens_the_jwks_verifies(make_store: MakeStore, alg: str):
    """RFC 7518 §3.3 (RS256), §3.4 (ES256), RFC 8037 §3.1 and RFC 9864 (Ed25519)."""
    store = make_store(alg=alg)
    store.ensure_key()

    token = verify(store, sign(store, sub="ada"))

    assert token.header["alg"] == alg
    assert token.header["kid"] == store.signing_key().kid
    assert token.claims == {"sub": "ada"}


def test_a_key_file_written_as_eddsa_signs_and_is_published_as_ed25519(
    make_store: MakeStore, tmp_path: Path
):
    """RFC 9864 deprecates the polymorphic "EdDSA" for "Ed25519": a key that earlier versions
    stored under the old name is the same Ed25519 key, now used and published under the new
    one, so no verifier is asked to accept the deprecated name."""
    old = OKPKey.generate_key("Ed25519", parameters={"alg": "EdDSA", "use": "sig"}, auto_kid=True)
    kid = str(old.kid)
    (tmp_path / "keys").mkdir(mode=0o700)
    KeyFolder(tmp_path / "keys").write(
        KeyFile(
            kid=kid,
            alg="EdDSA",
            created_at=0.0,
            activates_at=0.0,
            public_jwk=old.as_dict(private=False),
            sealed=Sealer(SECRET).seal(json.dumps(old.as_dict(private=True)).encode(), label=kid),
        )
    )
    store = make_store()

    token = verify(store, sign(store, sub="ada"))

    assert token.header == {"alg": "Ed25519", "kid": kid, "typ": "JWT"}
    assert [key["alg"] for key in json.loads(store.jwks())["keys"]] == ["Ed25519"]
    assert [info.alg for info in store.keys()] == ["Ed25519"]  # noqa: SIM118 (a KeyStore)


def test_a_token_signed_before_rotation_still_verifies_after_it(make_store: MakeStore):
    """OIDC Core §10.1.1: verifiers pick the key by kid, so old and new tokens both verify."""
    store = make_store()
    old = store.ensure_key()
    before = sign(store, sub="before")

    new = store.rotate(alg="ES256", activate_after=0)
    after = sign(store, sub="after")

    assert new.kid != old.kid
    assert verify(store, before).header["kid"] == old.kid
    assert verify(store, after).header == {"alg": "ES256", "kid": new.kid, "typ": "JWT"}


def test_a_change_by_another_process_is_seen_within_a_second(make_store: MakeStore):
    app = make_store()
    app.ensure_key()
    assert len(kids(app.jwks())) == 1
    operator = make_store()  # what `idp keys rotate` does, from its own process

    rotated = operator.rotate(activate_after=60)
    wait_until(lambda: rotated.kid in kids(app.jwks()), timeout=RECHECK_SECONDS + 2)

    assert kids(app.jwks())[-1] == rotated.kid


def test_the_hot_path_serves_the_jwks_from_memory(make_store: MakeStore):
    store = make_store()
    store.ensure_key()

    assert store.jwks() is store.jwks()
    assert store.signing_key() is store.signing_key()


def test_a_wrong_secret_is_one_clear_error_and_adds_no_key(make_store: MakeStore):
    kid = make_store().ensure_key().kid
    wrong = make_store(secret_key="another-secret-" + "x" * 40)
    message = f"IDP_KEYS_DIR: key {kid} cannot be decrypted with this IDP_SECRET_KEY"

    with pytest.raises(KeyStoreError) as signing:
        wrong.signing_key()
    with pytest.raises(KeyStoreError) as ensuring:
        wrong.ensure_key()
    with pytest.raises(KeyStoreError) as rotating:
        wrong.rotate()

    assert str(signing.value) == str(ensuring.value) == str(rotating.value) == message
    assert [path.stem for path in key_files(wrong)] == [kid]
    assert kids(wrong.jwks()) == [kid]  # public keys need no secret


def test_a_sealed_key_moved_into_another_keys_file_does_not_open(make_store: MakeStore):
    store = make_store()
    first = store.ensure_key()
    second = store.rotate(activate_after=0)
    first_file, second_file = (store.directory / f"{k}.json" for k in (first.kid, second.kid))
    swapped = json.loads(second_file.read_text())
    swapped["private"] = json.loads(first_file.read_text())["private"]
    second_file.write_text(json.dumps(swapped))

    with pytest.raises(KeyStoreError, match=f"key {second.kid} cannot be decrypted"):
        make_store().signing_key()


def test_a_folder_that_cannot_be_used_is_one_clear_error(tmp_path: Path, make_store):
    (tmp_path / "a-file").write_text("")
    directory = tmp_path / "a-file" / "keys"
    store = make_store(directory=directory)

    with pytest.raises(KeyStoreError) as writing:
        store.rotate()
    with pytest.raises(KeyStoreError) as reading:
        store.ensure_key()

    assert str(writing.value) == f"IDP_KEYS_DIR: cannot write to {directory}: Not a directory"
    assert str(reading.value) == f"IDP_KEYS_DIR: cannot read {directory}: Not a directory"


def test_a_damaged_key_file_is_one_clear_error(make_store: MakeStore):
    store = make_store()
    store.ensure_key()
    (store.directory / "stray.json").write_text("{not json")

    with pytest.raises(KeyStoreError, match=r"stray\.json is not a signing key file"):
        make_store().jwks()


def test_with_only_pending_keys_ensure_key_adds_one_that_signs_now(make_store: MakeStore):
    """An operator may rotate before the first start; the app must still be able to sign."""
    store = make_store()
    pending = store.rotate(activate_after=60)

    with pytest.raises(KeyStoreError, match="no active signing key"):
        store.signing_key()
    active = store.ensure_key()

    assert active.state is KeyState.ACTIVE
    assert kids(store.jwks()) == [active.kid, pending.kid]
    assert store.signing_key(now=pending.activates_at + MS).kid == pending.kid

"""The store contract: Redis and the in-process fallback behave alike."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from idp.core.store import MemoryStore, RedisStore, Store, StoreUnavailable
from tests.helpers.clock import Clock
from tests.helpers.waiting import wait_until


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, redis_url: str) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if not redis_url:
        pytest.skip("needs REDIS_URL for the Redis half of the contract")
    yield RedisStore(redis_url, f"idp-test-store-{uuid.uuid4().hex[:8]}:")


def test_set_then_get(store: Store):
    store.set("k", b"value", ttl=60)

    assert store.get("k") == b"value"
    assert store.get("missing") is None


def test_values_expire(store: Store, clock: Clock):
    store.set("k", b"value", ttl=1)
    assert store.get("k") == b"value"
    clock.advance(1.2)

    # Redis expires the key by its own clock, in real time: wait for that, not a fixed time.
    assert wait_until(lambda: store.get("k") is None, timeout=5, what="the value expired")


def test_delete_many(store: Store):
    store.set("a", b"1", ttl=60)
    store.set("b", b"2", ttl=60)

    store.delete("a", "b", "never-set")
    store.delete()

    assert store.get("a") is None and store.get("b") is None


def test_add_sets_only_an_absent_key(store: Store):
    assert store.add("k", b"first", ttl=60) is True
    assert store.add("k", b"second", ttl=60) is False

    assert store.get("k") == b"first"


def test_add_has_one_winner_among_racing_threads(store: Store):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.add("race", b"1", ttl=60), range(32)))

    assert results.count(True) == 1


def test_add_sets_a_key_again_once_it_expired(store: Store, clock: Clock):
    assert store.add("k", b"first", ttl=1)
    assert store.add("k", b"again", ttl=1) is False
    clock.advance(1.2)

    # Asking `add` itself (False until the first value expired) keeps the expired entry in
    # place for it to replace; Redis drops it by its own clock, in real time.
    assert wait_until(lambda: store.add("k", b"second", ttl=60), timeout=5, what="add won")
    assert store.get("k") == b"second"


def test_ping(store: Store):
    store.ping()


def test_memory_store_stays_within_its_size():
    store = MemoryStore(max_items=3)
    for i in range(10):
        store.set(str(i), b"x", ttl=60)

    assert sum(store.get(str(i)) is not None for i in range(10)) <= 3
    assert store.get("9") == b"x"


def test_an_unreachable_redis_is_reported_not_raised_raw():
    dead = RedisStore("redis://127.0.0.1:1/0", "x:")

    for call in (
        lambda: dead.get("k"),
        lambda: dead.set("k", b"v", 1),
        lambda: dead.add("k", b"v", 1),
        lambda: dead.delete("k"),
        dead.ping,
    ):
        with pytest.raises(StoreUnavailable):
            call()


def test_keys_carry_the_prefix(redis_url: str):
    if not redis_url:
        pytest.skip("needs REDIS_URL")
    import redis

    prefix = f"idp-test-store-{uuid.uuid4().hex[:8]}:"
    RedisStore(redis_url, prefix).set("k", b"v", ttl=60)

    assert redis.Redis.from_url(redis_url).get(prefix + "k") == b"v"
    redis.Redis.from_url(redis_url).delete(prefix + "k")
    assert os.environ.get("REDIS_URL") == redis_url

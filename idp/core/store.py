"""A small key-value store with expiry: Redis when configured, else in this process.

It holds what many processes must share quickly and may lose (the session cache now; short-
lived challenges later). Nothing in it is the only copy of anything: the database is. Redis
errors surface as `StoreUnavailable` so callers can fall back to the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis
from flask import Flask, current_app


class StoreUnavailable(RuntimeError):
    """The shared store could not be reached."""


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl: int) -> None: ...
    def add(self, key: str, value: bytes, ttl: int) -> bool:
        """Set `key` only if it is absent; True when this call set it (one winner)."""
        ...

    def delete(self, *keys: str) -> None: ...
    def ping(self) -> None: ...


class MemoryStore:
    """Correct for one process: a dict with expiry, bounded in size.

    Expiry is read from `clock`, by default the wall clock (`time.time`), as Redis reads its
    own: a TTL here ends when it would end there, and a test that moves the wall clock (with
    time-machine, which leaves `time.monotonic` alone) sees the values expire without waiting.
    A step of the system clock shortens or lengthens live TTLs by as much; for entries that
    may be lost at any time, as everything here may, that is harmless.
    """

    def __init__(self, max_items: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._items: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._max_items = max_items
        self._clock = clock

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self._clock():
                del self._items[key]
                return None
            return item[1]

    def set(self, key: str, value: bytes, ttl: int) -> None:
        with self._lock:
            if len(self._items) >= self._max_items:
                self._evict()
            self._items[key] = (self._clock() + ttl, value)

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] > self._clock():
                return False
            if len(self._items) >= self._max_items:
                self._evict()
            self._items[key] = (self._clock() + ttl, value)
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def ping(self) -> None:
        return None

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._items.items() if expires <= now]:
            del self._items[key]
        while len(self._items) >= self._max_items:
            self._items.pop(next(iter(self._items)))


class RedisStore:
    """Shared by every process; keys carry the configured prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = prefix

    def get(self, key: str) -> bytes | None:
        try:
            value = self._redis.get(self._prefix + key)
        except redis.RedisError as error:
            raise StoreUnavailable(str(error)) from error
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            self._redis.set(self._prefix + key, value, ex=ttl)
        except redis.RedisError as error:
            raise StoreUnavailable(str(error)) from error

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        try:
            return bool(self._redis.set(self._prefix + key, value, ex=ttl, nx=True))
        except redis.RedisError as error:
            raise StoreUnavailable(str(error)) from error

    def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            self._redis.delete(*(self._prefix + key for key in keys))
        except redis.RedisError as error:
            raise StoreUnavailable(str(error)) from error

    def ping(self) -> None:
        try:
            self._redis.ping()
        except redis.RedisError as error:
            raise StoreUnavailable(str(error)) from error


def make_store(redis_url: str, prefix: str) -> Store:
    return RedisStore(redis_url, prefix) if redis_url else MemoryStore()


def init_app(app: Flask, store: Store) -> None:
    app.extensions["idp.store"] = store


def app_store() -> Store:
    """The store of the current app."""
    value: Store = current_app.extensions["idp.store"]
    return value

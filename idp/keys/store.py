"""The signing-key store: which key signs now, and the JWK Set that publishes them.

Here: creating, rotating, listing and pruning keys, and the cached answers the hot path asks
for, the signing key and the JWK Set (RFC 7517 §5), recomputed only when the folder changes or
a key's activation or retirement time passes. Not here: minting tokens (oauth) and serving the
JWKS (web). Processes share only the folder (folder.py): each re-reads its listing at most once
a second, and a pending key starts signing at its activation time with no file changing
(OpenID Connect Core §10.1.1: publish first, sign later).
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from idp.keys import jwk
from idp.keys.errors import KeyStoreError
from idp.keys.folder import KeyFile, KeyFolder, Listing
from idp.keys.sealing import CannotOpen, Sealer
from idp.keys.timeline import KeyState, timeline

RECHECK_SECONDS = 1.0  # how long another process's change may go unseen here


@dataclass(frozen=True)
class KeyInfo:
    """One key and where it stands; `published_until` is None until it is superseded."""

    kid: str
    alg: str
    state: KeyState
    created_at: datetime
    activates_at: datetime
    superseded_at: datetime | None
    published_until: datetime | None

    @property
    def published(self) -> bool:
        return self.state.published


@dataclass(frozen=True)
class SigningKey:
    """The private key that signs now, as a joserfc key."""

    kid: str
    alg: str
    key: jwk.Key


@dataclass(frozen=True)
class _View:
    """What the files say at every instant of [valid_from, valid_until)."""

    listing: Listing
    files: tuple[KeyFile, ...]  # oldest activation first
    infos: tuple[KeyInfo, ...]
    active: KeyFile | None
    jwks: bytes
    keyset: jwk.KeySet
    valid_from: float
    valid_until: float


class KeyStore:
    """Signing keys in `directory`, their private halves sealed under `secret_key`.

    `activation_delay`: seconds a rotated key is published before it signs.
    `retention`: seconds a superseded key stays published.
    """

    def __init__(
        self,
        directory: Path,
        secret_key: str,
        *,
        alg: str = "RS256",
        activation_delay: int,
        retention: int,
    ) -> None:
        _check_alg(alg)
        if activation_delay < 0 or retention < 0:
            raise ValueError("activation_delay and retention must not be negative")
        self.directory = Path(directory)
        self.alg = alg
        self.activation_delay = activation_delay
        self.retention = retention
        self._folder = KeyFolder(self.directory)
        self._sealer = Sealer(secret_key)
        self._lock = threading.Lock()
        self._view: _View | None = None
        self._recheck_at = -math.inf  # time.monotonic() of the next look at the folder
        self._opened: dict[str, SigningKey] = {}

    def signing_key(self, now: datetime | None = None) -> SigningKey:
        """The active key: the one activated last by `now`."""
        return self._signing(self._current(now))

    def jwks(self, now: datetime | None = None) -> bytes:
        """The JWK Set of every pending, active and retiring key, as JSON; active first."""
        return self._current(now).jwks

    def public_keyset(self, now: datetime | None = None) -> jwk.KeySet:
        """The keys of `jwks()`, for verification. Shared: do not modify it."""
        return self._current(now).keyset

    def keys(self, now: datetime | None = None) -> list[KeyInfo]:
        """Every key on disk, oldest activation first."""
        return list(self._current(now).infos)

    def private_key(self, kid: str) -> SigningKey:
        """The private key named `kid`, pending, active or retiring: for a role that publishes
        its keys otherwise than in the JWKS (the SAML certificates, keys/saml.py)."""
        file = next((f for f in self._current(None).files if f.kid == kid), None)
        if file is None:
            raise KeyStoreError(f"IDP_KEYS_DIR: no key {kid} in {self.directory}")
        return self._opened.get(kid) or self._open(file)

    def ensure_key(self) -> KeyInfo:
        """Make sure a key signs now, creating one active at once if none does.

        A key no one has seen may sign at once: no verifier holds a token it could not check.
        Processes starting together create only one: they take turns on the folder's lock.
        Opens the active key, so a wrong IDP_SECRET_KEY fails here rather than on first use.
        """
        view = self._current(None)
        if view.active is None:
            with self._folder.locked():
                view = self._current(None, fresh=True)
                if view.active is None:
                    self._create(self.alg, delay=0)
                    view = self._current(None, fresh=True)
        kid = self._signing(view).kid
        return next(info for info in view.infos if info.kid == kid)

    def rotate(self, alg: str | None = None, activate_after: int | None = None) -> KeyInfo:
        """A new key, published now and signing `activate_after` seconds from now."""
        alg = alg or self.alg
        _check_alg(alg)
        delay = self.activation_delay if activate_after is None else activate_after
        if delay < 0:
            raise ValueError("activate_after must not be negative")
        with self._folder.locked():
            current = self._current(None, fresh=True)
            if current.files:  # never add a key that the other keys' secret cannot open
                self._open(current.active or current.files[-1])
            kid = self._create(alg, delay=delay)
            self._prune()
        return self._info(kid)

    def rotate_if_due(self, period: float) -> KeyInfo | None:
        """The scheduled rotation: once the newest key has been active for `period` seconds
        less the lead, add a key that is published now and signs after the lead (the
        activation delay, at most half the period). The old key then retires as after any
        rotation. Any number of processes may call this at once: the folder's lock and a
        fresh look at the files make exactly one of them add the key. None if not due."""
        lead = min(float(self.activation_delay), period / 2)
        if period <= 0 or not _due(self._current(None), period, lead):
            return None
        with self._folder.locked():
            if not _due(self._current(None, fresh=True), period, lead):
                return None
            kid = self._create(self.alg, delay=lead)
            self._prune()
        return self._info(kid)

    def prune(self) -> list[str]:
        """Delete the files of expired keys; return their kids."""
        with self._folder.locked():
            return self._prune()

    def _current(self, now: datetime | None, *, fresh: bool = False) -> _View:
        """The view at `now`; `fresh` reads the folder even if it was read a moment ago."""
        at = time.time() if now is None else now.timestamp()
        view = self._view
        if (
            not fresh
            and view is not None
            and time.monotonic() < self._recheck_at
            and view.valid_from <= at < view.valid_until
        ):
            return view
        with self._lock:
            return self._refresh(at, fresh)

    def _refresh(self, at: float, fresh: bool) -> _View:
        view = self._view
        if fresh or view is None or time.monotonic() >= self._recheck_at:
            listing = self._folder.listing()
            self._recheck_at = time.monotonic() + RECHECK_SECONDS
            if view is None or listing != view.listing:
                view = self._build(listing, self._folder.read(listing), at)
        if not view.valid_from <= at < view.valid_until:
            view = self._build(view.listing, view.files, at)
        self._view = view
        return view

    def _build(self, listing: Listing, files: tuple[KeyFile, ...], at: float) -> _View:
        line = timeline([f.activates_at for f in files], at, self.retention)
        states = list(zip(files, line.states, line.superseded_at, strict=True))
        active = next((f for f, state, _ in states if state is KeyState.ACTIVE), None)
        published = [f.public_jwk for f, state, _ in reversed(states) if state.published]
        published.sort(key=lambda key: active is None or key["kid"] != active.kid)
        return _View(
            listing=listing,
            files=files,
            infos=tuple(self._describe(f, state, ends) for f, state, ends in states),
            active=active,
            jwks=json.dumps({"keys": published}, separators=(",", ":")).encode(),
            keyset=jwk.key_set(published),
            valid_from=line.valid_from,
            valid_until=line.valid_until,
        )

    def _describe(self, file: KeyFile, state: KeyState, ends: float | None) -> KeyInfo:
        return KeyInfo(
            kid=file.kid,
            alg=file.alg,
            state=state,
            created_at=_datetime(file.created_at),
            activates_at=_datetime(file.activates_at),
            superseded_at=None if ends is None else _datetime(ends),
            published_until=None if ends is None else _datetime(ends + self.retention),
        )

    def _info(self, kid: str) -> KeyInfo:
        return next(info for info in self._current(None, fresh=True).infos if info.kid == kid)

    def _signing(self, view: _View) -> SigningKey:
        if view.active is None:
            raise KeyStoreError(f"IDP_KEYS_DIR: no active signing key in {self.directory}")
        return self._opened.get(view.active.kid) or self._open(view.active)

    def _open(self, file: KeyFile) -> SigningKey:
        try:
            plaintext = self._sealer.open(file.sealed, label=file.kid)
        except CannotOpen:
            raise KeyStoreError(
                f"IDP_KEYS_DIR: key {file.kid} cannot be decrypted with this IDP_SECRET_KEY"
            ) from None
        try:
            key = jwk.load_private(plaintext, file.kid)
        except ValueError as error:
            raise KeyStoreError(f"IDP_KEYS_DIR: key {file.kid} is damaged: {error}") from None
        signing = SigningKey(file.kid, file.alg, key)
        self._opened[file.kid] = signing
        return signing

    def _create(self, alg: str, *, delay: float) -> str:
        key = jwk.generate(alg)
        kid = str(key.kid)
        created_at = time.time()
        self._folder.write(
            KeyFile(
                kid=kid,
                alg=alg,
                created_at=created_at,
                activates_at=created_at + delay,
                public_jwk=jwk.public(key.as_dict(private=False)),
                sealed=self._sealer.seal(jwk.private_bytes(key), label=kid),
            )
        )
        self._opened[kid] = SigningKey(kid, alg, key)
        self._recheck_at = -math.inf
        return kid

    def _prune(self) -> list[str]:
        current = self._current(None, fresh=True)
        gone = [info.kid for info in current.infos if info.state is KeyState.EXPIRED]
        for kid in gone:
            self._folder.delete(kid)
            self._opened.pop(kid, None)
        self._recheck_at = -math.inf
        return gone


def _due(view: _View, period: float, lead: float) -> bool:
    """Whether the newest key is old enough to need its successor published (never before a
    first key exists: `ensure_key` makes that one)."""
    return bool(view.files) and time.time() >= view.files[-1].activates_at + period - lead


def _check_alg(alg: str) -> None:
    if alg not in jwk.ALGORITHMS:
        raise ValueError(f"alg must be one of {', '.join(jwk.ALGORITHMS)}, got {alg!r}")


def _datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)

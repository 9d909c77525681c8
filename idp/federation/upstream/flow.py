"""A sign-in with an upstream in progress: what `start` must hand to the callback, kept in
the store under the digest of `state`, bound to the browser that started it, used once.

`begin` builds the authorization URL and keeps a `Pending` (the provider, the `Started`
values, where to go next, and the account being linked when a signed-in person links one).
`take` returns it at most once (a replayed or forged callback gets None), and only to the
browser holding the `binding` it was started with (RFC 6749 §10.12: login CSRF).

After the callback, an upstream identity that must be proven first (`ProveAccount`) waits
under a token of its own (`keep_proof` / `proof`), for the person to sign in to their account.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from idp.core.security import digest, new_token
from idp.core.store import Store
from idp.federation.asserted import Asserted
from idp.federation.upstream.oidc import Started

PENDING_TTL = 600
PROOF_TTL = 1800  # long enough to sign in, or to sign up and verify the address


@dataclass(frozen=True)
class Pending:
    slug: str
    started: Started
    next: str
    binding: str  # digest of the browser's random value
    linking_user_id: int | None = None


def begin(store: Store, pending: Pending) -> None:
    """Keep `pending` until its callback; raises `StoreUnavailable`."""
    value = {**asdict(pending), "started": pending.started.to_dict()}
    store.set(_key(pending.started.state), json.dumps(value).encode(), PENDING_TTL)


def take(store: Store, state: str, binding: str | None) -> Pending | None:
    """The pending sign-in `state` names, once, for the browser that began it."""
    if not state or len(state) > 200:
        return None
    raw = store.get(_key(state))
    if raw is None or not store.add(_key(state) + ":used", b"1", PENDING_TTL):
        return None
    store.delete(_key(state))
    data: dict[str, Any] = json.loads(raw)
    pending = Pending(**{**data, "started": Started.from_dict(data["started"])})
    if not binding or digest(binding) != pending.binding:
        return None
    return pending


def keep_proof(
    store: Store, slug: str, asserted: Asserted, sealed_tokens: str | None, next: str
) -> str:
    """Keep an upstream identity until the person proves the account; returns its token."""
    token = new_token()
    value = {"slug": slug, "asserted": asdict(asserted), "tokens": sealed_tokens, "next": next}
    store.set("upstream-proof:" + digest(token), json.dumps(value).encode(), PROOF_TTL)
    return token


@dataclass(frozen=True)
class Proof:
    slug: str
    asserted: Asserted
    sealed_tokens: str | None
    next: str


def proof(store: Store, token: str | None) -> Proof | None:
    if not token:
        return None
    raw = store.get("upstream-proof:" + digest(token))
    if raw is None:
        return None
    data = json.loads(raw)
    return Proof(data["slug"], Asserted(**data["asserted"]), data["tokens"], data["next"])


def end_proof(store: Store, token: str | None) -> None:
    if token:
        store.delete("upstream-proof:" + digest(token))


def _key(state: str) -> str:
    return "upstream-state:" + digest(state)

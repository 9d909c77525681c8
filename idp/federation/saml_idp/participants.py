"""Which service providers got an assertion in which sign-in session, for single logout.

Kept in the store (Redis or in-process) as long as a session may live: per session, the SPs
with the NameID and SessionIndex each got (SAML core §3.7.3.2 asks us to send each a
LogoutRequest); per SessionIndex, the session it names, so that a LogoutRequest arriving
without our cookie (HTTP-POST from another site) still finds the session to end.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from idp.core.store import Store


@dataclass(frozen=True)
class Participant:
    entity_id: str
    name_id: str
    name_format: str
    session_index: str


@dataclass(frozen=True)
class IndexedSession:
    session_id: int
    user_id: int
    entity_id: str


def new_session_index() -> str:
    return "_" + secrets.token_urlsafe(24)


def join(store: Store, session_id: int, user_id: int, who: Participant, ttl: int) -> None:
    """Remember that `who` got an assertion in this session (the latest one per SP)."""
    others = [p for p in of(store, session_id) if p.entity_id != who.entity_id]
    body = json.dumps([asdict(p) for p in [*others, who]]).encode()
    store.set(f"saml:participants:{session_id}", body, ttl)
    index = IndexedSession(session_id, user_id, who.entity_id)
    store.set(f"saml:index:{who.session_index}", json.dumps(asdict(index)).encode(), ttl)


def of(store: Store, session_id: int) -> list[Participant]:
    raw = store.get(f"saml:participants:{session_id}")
    return [Participant(**p) for p in json.loads(raw)] if raw else []


def session_of(store: Store, session_index: str) -> IndexedSession | None:
    raw = store.get(f"saml:index:{session_index}")
    return IndexedSession(**json.loads(raw)) if raw else None


def forget(store: Store, session_id: int) -> list[Participant]:
    """Drop the session's participants and their indexes; return who they were."""
    gone = of(store, session_id)
    keys = [f"saml:index:{p.session_index}" for p in gone]
    store.delete(f"saml:participants:{session_id}", *keys)
    return gone

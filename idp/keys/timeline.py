"""When each signing key signs and how long it stays published (OpenID Connect Core §10.1.1).

Keys are ordered by activation time. At time t the key that signs is the last one activated by
t; it is superseded when the next key activates, and stays published `retention` seconds more
so that every token it signed can still be verified. The answer depends only on the files, so
every process reaches the same one without talking to the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class KeyState(StrEnum):
    PENDING = "pending"  # published, signs from its activation time
    ACTIVE = "active"  # the one that signs now
    RETIRING = "retiring"  # superseded, published until its tokens have expired
    EXPIRED = "expired"  # superseded more than `retention` ago, no longer published

    @property
    def published(self) -> bool:
        return self is not KeyState.EXPIRED


@dataclass(frozen=True)
class Timeline:
    """States at one instant, true for every instant in [valid_from, valid_until)."""

    states: tuple[KeyState, ...]
    superseded_at: tuple[float | None, ...]
    valid_from: float
    valid_until: float


def timeline(activations: Sequence[float], at: float, retention: float) -> Timeline:
    """The state of each key at `at`, given activation times sorted oldest first."""
    states: list[KeyState] = []
    superseded: list[float | None] = []
    boundaries: list[float] = []
    for i, activates in enumerate(activations):
        ends = activations[i + 1] if i + 1 < len(activations) else None
        boundaries.append(activates)
        if ends is not None:
            boundaries += [ends, ends + retention]
        states.append(_state(at, activates, ends, retention))
        superseded.append(ends)
    return Timeline(
        states=tuple(states),
        superseded_at=tuple(superseded),
        valid_from=max((b for b in boundaries if b <= at), default=-math.inf),
        valid_until=min((b for b in boundaries if b > at), default=math.inf),
    )


def _state(at: float, activates: float, ends: float | None, retention: float) -> KeyState:
    if at < activates:
        return KeyState.PENDING
    if ends is None or at < ends:
        return KeyState.ACTIVE
    if at < ends + retention:
        return KeyState.RETIRING
    return KeyState.EXPIRED

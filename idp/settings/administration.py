"""Settings of the admin console and of the signing keys' own rotation; `Settings` inherits
them (idp/settings/__init__.py)."""

from __future__ import annotations

import dataclasses
import math

from idp.settings import parse

SECONDS_PER_DAY = 86400


def days(name: str, raw: str) -> float:
    """A number of days, 0 or more; fractions allowed (0.5 is twelve hours)."""
    try:
        value = float(raw)
    except ValueError:
        raise parse.SettingsError(f"{name} must be a number of days, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise parse.SettingsError(f"{name} must be 0 or more days, got {raw!r}")
    return value


@dataclasses.dataclass(frozen=True)
class AdministrationSettings:
    key_rotation_days: float = parse.setting(
        "IDP_KEY_ROTATION_DAYS",
        days,
        "Days between automatic signing-key rotations; 0 turns them off. Each new key is "
        "published ahead of its activation (IDP_JWKS_MAX_AGE + 60 s, at most half the period).",
        default=90.0,
    )

    impersonation_ttl: int = parse.setting(
        "IDP_IMPERSONATION_TTL",
        parse.seconds,
        "Seconds an admin's impersonation of a person lasts at most.",
        default=1800,
    )

    @property
    def key_rotation_seconds(self) -> float:
        return self.key_rotation_days * SECONDS_PER_DAY

"""Parsers and checks for setting values; `Settings` (in `idp.settings`) says which applies where.

A parser takes the variable's name and its raw text and returns the typed value; every parser
and check raises `SettingsError` with a message naming the variable. Nothing here knows the
list of settings or reads the environment.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse as parse_limit

MIN_SECRET_LENGTH = 32
MIN_REGISTRATION_TOKEN_LENGTH = 16
MIN_METRICS_TOKEN_LENGTH = 32
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


class SettingsError(ValueError):
    """A setting is missing or has a wrong value; the message names the variable."""


def setting(env: str, parser: Callable[[str, str], Any], doc: str, **kwargs: Any) -> Any:
    """A field of `Settings`: its variable, parser and description (the README's table)."""
    return field(metadata={"env": env, "parse": parser, "doc": doc}, **kwargs)


def integer(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def at_least(minimum: int) -> Callable[[str, str], int]:
    return lambda name, raw: integer(name, raw, minimum=minimum)


def seconds(name: str, raw: str) -> int:
    return integer(name, raw, minimum=1)


def boolean(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def rate_limit(name: str, raw: str) -> str:
    try:
        parse_limit(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a rate such as '10 per minute', got {raw!r}") from None
    return raw


def database_url(name: str, raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    # psycopg 3 is the driver we ship; plain postgres URLs mean it.
    if scheme in {"postgres", "postgresql"}:
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if scheme in {"postgresql+psycopg", "sqlite"}:
        return raw
    raise SettingsError(f"{name} must be a postgresql:// or sqlite:// URL, got {raw!r}")


def redis_url(name: str, raw: str) -> str:
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError(f"{name} must be a redis:// or rediss:// URL, got {raw!r}")
    return raw


def smtp_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls"} or not parts.hostname:
        raise SettingsError(
            f"{name} must look like smtp://host:25, smtp+starttls://host:587 or "
            f"smtps://host:465, got {raw!r}"
        )
    return raw


def issuer(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {raw!r}")
    if parts.query or parts.fragment:
        # OpenID Connect Discovery 1.0 §3: the issuer has no query or fragment.
        raise SettingsError(f"{name} must not have a query or fragment, got {raw!r}")
    return raw.rstrip("/")


def choice(*allowed: str, renamed: dict[str, str] | None = None) -> Callable[[str, str], str]:
    """One of `allowed`; `renamed` maps old names still accepted to the current ones."""

    def parse(name: str, raw: str) -> str:
        raw = (renamed or {}).get(raw, raw)
        if raw not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return parse


def text(name: str, raw: str) -> str:
    return raw


def path(name: str, raw: str) -> Path:
    return Path(raw)


def metrics_token(name: str, raw: str) -> str:
    if len(raw) < MIN_METRICS_TOKEN_LENGTH:
        raise SettingsError(f"{name} must be at least {MIN_METRICS_TOKEN_LENGTH} characters")
    return raw


def origins(name: str, raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def check_production(issuer: str, secret_key: str) -> None:
    """Production refuses to guess: an https issuer and a long secret must be given."""
    if not issuer:
        raise SettingsError("IDP_ISSUER is required in production")
    if not issuer.startswith("https://"):
        raise SettingsError(f"IDP_ISSUER must be https in production, got {issuer!r}")
    if len(secret_key) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"IDP_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production"
        )


def check_issuer_and_secret(issuer: str, given_issuer: str, secret_key: str) -> None:
    """Plain http only on loopback; a given secret is long enough."""
    parts = urlsplit(issuer)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise SettingsError(
            f"IDP_ISSUER must be https unless it is on 127.0.0.1 or localhost, got {given_issuer!r}"
        )
    if secret_key and len(secret_key) < MIN_SECRET_LENGTH:
        raise SettingsError(f"IDP_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")


def check_registration(mode: str, token: str) -> None:
    if mode == "token" and not token:
        raise SettingsError(
            "IDP_REGISTRATION_TOKEN is required when IDP_REGISTRATION is token "
            "(clients send it as a Bearer token to POST /register)"
        )
    shortest = MIN_REGISTRATION_TOKEN_LENGTH
    if token and len(token) < shortest:
        raise SettingsError(f"IDP_REGISTRATION_TOKEN must be at least {shortest} characters")


def check_lockout(slow_after: int, lock_after: int) -> None:
    if slow_after >= lock_after:
        raise SettingsError("IDP_LOCKOUT_SLOW_AFTER must be less than IDP_LOCKOUT_AFTER")


def from_issuer(issuer: str, site_name: str) -> dict[str, Any]:
    """The defaults of the settings that follow from the issuer, by setting name."""
    parts = urlsplit(issuer)
    return {
        "issuer": issuer,
        "webauthn_rp_id": parts.hostname or "127.0.0.1",
        "webauthn_origins": (f"{parts.scheme}://{parts.netloc}",),
        "mail_from": f"{site_name} <no-reply@{parts.hostname or 'localhost'}>",
    }


def development_secret(instance_dir: Path) -> str:
    """A secret generated once and kept in the instance folder, so restarts keep sessions."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret

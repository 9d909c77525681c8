"""The one settings object, read from the environment and validated at start.

Every setting is an `IDP_*` variable, plus `DATABASE_URL` and `REDIS_URL`. A wrong value raises
`SettingsError` naming the variable; the command line and the WSGI entry point print it as one
line and stop. Development mode fills in what a laptop lacks (an issuer on 127.0.0.1, a secret
kept in the instance folder, SQLite); production mode refuses to guess.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from limits import parse as parse_limit

# The checkout: templates/ and static/ live beside the package.
ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT = "development"
PRODUCTION = "production"
MIN_SECRET_LENGTH = 32
MIN_REGISTRATION_TOKEN_LENGTH = 16
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


class SettingsError(ValueError):
    """A setting is missing or has a wrong value; the message names the variable."""


def _integer(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _seconds(name: str, raw: str) -> int:
    return _integer(name, raw, minimum=1)


def _boolean(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _rate_limit(name: str, raw: str) -> str:
    try:
        parse_limit(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a rate such as '10 per minute', got {raw!r}") from None
    return raw


def _database_url(name: str, raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    # psycopg 3 is the driver we ship; plain postgres URLs mean it.
    if scheme in {"postgres", "postgresql"}:
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if scheme in {"postgresql+psycopg", "sqlite"}:
        return raw
    raise SettingsError(f"{name} must be a postgresql:// or sqlite:// URL, got {raw!r}")


def _redis_url(name: str, raw: str) -> str:
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError(f"{name} must be a redis:// or rediss:// URL, got {raw!r}")
    return raw


def _smtp_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls"} or not parts.hostname:
        raise SettingsError(
            f"{name} must look like smtp://host:25, smtp+starttls://host:587 or "
            f"smtps://host:465, got {raw!r}"
        )
    return raw


def _issuer(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {raw!r}")
    if parts.query or parts.fragment:
        # OpenID Connect Discovery 1.0 §3: the issuer has no query or fragment.
        raise SettingsError(f"{name} must not have a query or fragment, got {raw!r}")
    return raw.rstrip("/")


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if raw not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return parse


def _text(name: str, raw: str) -> str:
    return raw


def _setting(env: str, parse: Callable[[str, str], Any], doc: str, **kwargs: Any) -> Any:
    return field(metadata={"env": env, "parse": parse, "doc": doc}, **kwargs)


@dataclass(frozen=True)
class Settings:
    """Typed settings. Build with `Settings.from_env()`; tests build with overrides."""

    env: str = _setting(
        "IDP_ENV",
        _choice(DEVELOPMENT, PRODUCTION),
        "`development` or `production`.",
        default=DEVELOPMENT,
    )
    issuer: str = _setting(
        "IDP_ISSUER",
        _issuer,
        "Public base URL. Must be https in production. Default: http://127.0.0.1:5000.",
        default="",
    )
    secret_key: str = _setting(
        "IDP_SECRET_KEY",
        _text,
        f"At least {MIN_SECRET_LENGTH} characters; signs cookies and CSRF tokens. "
        "Development generates one in the instance folder.",
        default="",
        repr=False,
    )
    site_name: str = _setting(
        "IDP_SITE_NAME",
        _text,
        "The name people see on every page.",
        default="Identity",
    )
    instance_dir: Path = _setting(
        "IDP_INSTANCE_DIR",
        lambda _n, raw: Path(raw),
        "Folder for the SQLite database and generated development files.",
        default=Path("instance"),
    )
    database_url: str = _setting(
        "DATABASE_URL",
        _database_url,
        "SQLAlchemy URL. Default: SQLite in the instance folder.",
        default="",
    )
    redis_url: str = _setting(
        "REDIS_URL",
        _redis_url,
        "Redis for rate-limit counters and the session cache. Default: none (in-process).",
        default="",
    )
    redis_prefix: str = _setting(
        "IDP_REDIS_PREFIX",
        _text,
        "Prefix for every Redis key this app writes.",
        default="idp:",
    )
    smtp_url: str = _setting(
        "IDP_SMTP_URL",
        _smtp_url,
        "Outgoing mail server: smtp://, smtp+starttls:// or smtps:// URL. Default: none.",
        default="",
    )
    mail_from: str = _setting(
        "IDP_MAIL_FROM",
        _text,
        "Sender of every message, e.g. `Example <no-reply@example.com>`. "
        "Default: the site name at no-reply@ the issuer's host.",
        default="",
    )
    smtp_timeout: int = _setting(
        "IDP_SMTP_TIMEOUT",
        _seconds,
        "Seconds to wait for the mail server before giving up.",
        default=10,
    )
    require_verified_email: bool = _setting(
        "IDP_REQUIRE_VERIFIED_EMAIL",
        _boolean,
        "Whether signing in waits until the email address is verified.",
        default=False,
    )
    verify_email_ttl: int = _setting(
        "IDP_VERIFY_EMAIL_TTL",
        _seconds,
        "Seconds an email verification (or email change) link stays valid.",
        default=24 * 3600,
    )
    password_reset_ttl: int = _setting(
        "IDP_PASSWORD_RESET_TTL",
        _seconds,
        "Seconds a password reset link stays valid.",
        default=3600,
    )
    email_sign_in_ttl: int = _setting(
        "IDP_EMAIL_SIGN_IN_TTL",
        _seconds,
        "Seconds a magic link or emailed one-time code stays valid.",
        default=600,
    )
    email_send_limit: str = _setting(
        "IDP_EMAIL_SEND_LIMIT",
        _rate_limit,
        "Messages a person can have sent to one address (verification, reset, magic link, "
        "one-time code), counted per address and per client IP.",
        default="5 per 15 minutes;20 per day",
    )
    webauthn_rp_id: str = _setting(
        "IDP_WEBAUTHN_RP_ID",
        _text,
        "WebAuthn relying party ID: the issuer's host or a registrable suffix of it. "
        "Default: the issuer's host.",
        default="",
    )
    webauthn_origins: tuple[str, ...] = _setting(
        "IDP_WEBAUTHN_ORIGINS",
        lambda _n, raw: tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip()),
        "Comma-separated origins passkey ceremonies may come from. Default: the issuer's origin.",
        default=(),
    )
    trusted_device_ttl: int = _setting(
        "IDP_TRUSTED_DEVICE_TTL",
        _seconds,
        "Seconds a device marked 'trust this device' skips the second factor.",
        default=30 * 86400,
    )
    lockout_slow_after: int = _setting(
        "IDP_LOCKOUT_SLOW_AFTER",
        lambda n, raw: _integer(n, raw, minimum=1),
        "Failures of one credential (per account) after which each new attempt must wait, "
        "the wait doubling with each failure.",
        default=3,
    )
    lockout_after: int = _setting(
        "IDP_LOCKOUT_AFTER",
        lambda n, raw: _integer(n, raw, minimum=1),
        "Failures of one credential (per account) that lock it; an IP is locked after five "
        "times as many.",
        default=10,
    )
    lockout_seconds: int = _setting(
        "IDP_LOCKOUT_SECONDS",
        _seconds,
        "How long a locked credential stays locked; failures are counted over this window.",
        default=900,
    )
    keys_dir: Path = _setting(
        "IDP_KEYS_DIR",
        lambda _n, raw: Path(raw),
        "Folder of the signing keys (private keys encrypted with IDP_SECRET_KEY).",
        default=Path("keys"),
    )
    signing_alg: str = _setting(
        "IDP_SIGNING_ALG",
        _choice("RS256", "ES256", "EdDSA"),
        "Algorithm of newly created signing keys.",
        default="RS256",
    )
    jwks_max_age: int = _setting(
        "IDP_JWKS_MAX_AGE",
        _seconds,
        "Seconds clients may cache the JWKS and discovery documents.",
        default=300,
    )
    max_token_lifetime: int = _setting(
        "IDP_MAX_TOKEN_LIFETIME",
        _seconds,
        "Upper bound on any access or ID token lifetime; a retired key stays published this long.",
        default=86400,
    )
    refresh_reuse_grace: int = _setting(
        "IDP_REFRESH_REUSE_GRACE",
        _integer,
        "Seconds a rotated refresh token may still be used (concurrent refreshes); "
        "reuse after that revokes its grant.",
        default=10,
    )
    allow_unregistered_resources: bool = _setting(
        "IDP_ALLOW_UNREGISTERED_RESOURCES",
        _boolean,
        "Accept a well-formed `resource` (RFC 8707) that is not registered: the token's audience "
        "is it, with the scopes and lifetime the client would get without one.",
        default=False,
    )
    session_ttl: int = _setting(
        "IDP_SESSION_TTL",
        _seconds,
        "Idle lifetime of a sign-in session, in seconds (sliding).",
        default=12 * 3600,
    )
    remember_ttl: int = _setting(
        "IDP_REMEMBER_TTL",
        _seconds,
        "Idle lifetime of a 'remember me' session, in seconds (sliding).",
        default=30 * 86400,
    )
    session_fresh_age: int = _setting(
        "IDP_SESSION_FRESH_AGE",
        _seconds,
        "Seconds after signing in during which sensitive actions need no password again.",
        default=600,
    )
    sign_in_ip_limit: str = _setting(
        "IDP_SIGN_IN_IP_LIMIT",
        _rate_limit,
        "Sign-in attempts per client IP.",
        default="30 per minute;300 per hour",
    )
    sign_in_account_limit: str = _setting(
        "IDP_SIGN_IN_ACCOUNT_LIMIT",
        _rate_limit,
        "Failed sign-ins per account (email).",
        default="10 per 15 minutes",
    )
    sign_up_ip_limit: str = _setting(
        "IDP_SIGN_UP_IP_LIMIT",
        _rate_limit,
        "Sign-ups per client IP.",
        default="10 per hour",
    )
    registration: str = _setting(
        "IDP_REGISTRATION",
        _choice("open", "token", "off"),
        "Dynamic client registration at POST /register (RFC 7591): `open` to anyone (MCP "
        "clients rely on it), `token` only with IDP_REGISTRATION_TOKEN, or `off`.",
        default="open",
    )
    registration_token: str = _setting(
        "IDP_REGISTRATION_TOKEN",
        _text,
        f"Initial access token that `token` mode requires as a Bearer token (RFC 7591 §3); "
        f"at least {MIN_REGISTRATION_TOKEN_LENGTH} characters.",
        default="",
        repr=False,
    )
    registration_limit: str = _setting(
        "IDP_REGISTRATION_LIMIT",
        _rate_limit,
        "Client registrations per client IP.",
        default="20 per hour",
    )
    dynamic_client_unused_ttl: int = _setting(
        "IDP_DYNAMIC_CLIENT_UNUSED_TTL",
        _seconds,
        "Seconds after which a dynamically registered client that has not used the token "
        "endpoint since is deleted (on each registration, and by `idp clients prune`).",
        default=30 * 86400,
    )
    client_metadata_documents: bool = _setting(
        "IDP_CLIENT_METADATA_DOCUMENTS",
        _boolean,
        "Whether an https URL may be a client_id naming the client's metadata document "
        "(Client ID Metadata Documents, used by MCP clients).",
        default=True,
    )
    client_metadata_allow_private: bool = _setting(
        "IDP_CLIENT_METADATA_ALLOW_PRIVATE",
        _boolean,
        "Whether metadata documents may be fetched from private, loopback, link-local or other "
        "non-public addresses. Keep false unless the documents live on your own network.",
        default=False,
    )
    client_metadata_timeout: int = _setting(
        "IDP_CLIENT_METADATA_TIMEOUT",
        _seconds,
        "Seconds a metadata document fetch may take in all (connect, TLS, headers and body).",
        default=5,
    )
    client_metadata_max_bytes: int = _setting(
        "IDP_CLIENT_METADATA_MAX_BYTES",
        lambda n, raw: _integer(n, raw, minimum=256),
        "Largest metadata document accepted, in bytes.",
        default=5120,
    )
    device_code_ttl: int = _setting(
        "IDP_DEVICE_CODE_TTL",
        _seconds,
        "Seconds a device authorization (RFC 8628 device code and user code) stays valid.",
        default=600,
    )
    device_poll_interval: int = _setting(
        "IDP_DEVICE_POLL_INTERVAL",
        _seconds,
        "Seconds a device must wait between token requests (RFC 8628 §3.5 `interval`).",
        default=5,
    )
    device_user_code_limit: str = _setting(
        "IDP_DEVICE_USER_CODE_LIMIT",
        _rate_limit,
        "User-code entries per client IP on the device page (RFC 8628 §5.1: brute force).",
        default="10 per minute;100 per hour",
    )
    proxy_hops: int = _setting(
        "IDP_PROXY_HOPS",
        _integer,
        "Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.",
        default=0,
    )
    log_level: str = _setting(
        "IDP_LOG_LEVEL",
        _choice("DEBUG", "INFO", "WARNING", "ERROR"),
        "Log level.",
        default="INFO",
    )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, default_env: str = DEVELOPMENT
    ) -> Settings:
        """Read, parse and validate every setting; raise `SettingsError` on the first bad one."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {"env": default_env}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is not None and raw.strip() != "":
                values[f.name] = f.metadata["parse"](f.metadata["env"], raw.strip())
        return cls(**values).completed()

    def completed(self) -> Settings:
        """Validate the combination and fill development defaults."""
        if self.env == PRODUCTION:
            if not self.issuer:
                raise SettingsError("IDP_ISSUER is required in production")
            if not self.issuer.startswith("https://"):
                raise SettingsError(f"IDP_ISSUER must be https in production, got {self.issuer!r}")
            if len(self.secret_key) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    f"IDP_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production"
                )
        changes: dict[str, Any] = {}
        if not self.issuer:
            changes["issuer"] = "http://127.0.0.1:5000"
        issuer = urlsplit(changes.get("issuer", self.issuer))
        if issuer.scheme == "http" and issuer.hostname not in LOOPBACK_HOSTS:
            raise SettingsError(
                "IDP_ISSUER must be https unless it is on 127.0.0.1 or localhost, "
                f"got {self.issuer!r}"
            )
        if self.secret_key and len(self.secret_key) < MIN_SECRET_LENGTH:
            raise SettingsError(f"IDP_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        if self.registration == "token" and not self.registration_token:
            raise SettingsError(
                "IDP_REGISTRATION_TOKEN is required when IDP_REGISTRATION is token "
                "(clients send it as a Bearer token to POST /register)"
            )
        shortest = MIN_REGISTRATION_TOKEN_LENGTH
        if self.registration_token and len(self.registration_token) < shortest:
            raise SettingsError(f"IDP_REGISTRATION_TOKEN must be at least {shortest} characters")
        issuer_url = changes.get("issuer", self.issuer)
        if not self.webauthn_rp_id:
            changes["webauthn_rp_id"] = urlsplit(issuer_url).hostname or "127.0.0.1"
        if not self.webauthn_origins:
            parts = urlsplit(issuer_url)
            changes["webauthn_origins"] = (f"{parts.scheme}://{parts.netloc}",)
        if not self.mail_from:
            host = urlsplit(issuer_url).hostname or "localhost"
            changes["mail_from"] = f"{self.site_name} <no-reply@{host}>"
        if self.lockout_slow_after >= self.lockout_after:
            raise SettingsError("IDP_LOCKOUT_SLOW_AFTER must be less than IDP_LOCKOUT_AFTER")
        if not self.secret_key:
            changes["secret_key"] = _development_secret(self.instance_dir)
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{(self.instance_dir / 'idp.db').resolve()}"
        return dataclasses.replace(self, **changes) if changes else self

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).completed()

    @property
    def is_https(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def is_development(self) -> bool:
        return self.env == DEVELOPMENT

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")


def _development_secret(instance_dir: Path) -> str:
    """A secret generated once and kept in the instance folder, so restarts keep sessions."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def documented() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, for the README and `--help`."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = "" if f.name == "secret_key" else str(f.default)
        rows.append((f.metadata["env"], default, f.metadata["doc"]))
    return rows


def app_settings() -> Settings:
    """The settings of the current app (registered by `create_app`)."""
    value: Settings = current_app.extensions["idp.settings"]
    return value

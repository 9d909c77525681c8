"""The one settings object, read from the environment and validated at start.

Every setting is an `IDP_*` variable, plus `DATABASE_URL` and `REDIS_URL`. A wrong value raises
`SettingsError` naming the variable; the command line and the WSGI entry point print it as one
line and stop. Development mode fills in what a laptop lacks (an issuer on 127.0.0.1, a secret
kept in the instance folder, SQLite); production mode refuses to guess. Here: the settings and
how they combine; single values' parsers and checks are in `parse.py`, the README's table in
`table.py`, the admin console's and automatic key rotation's settings in `administration.py`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app

from idp.settings import parse
from idp.settings.administration import AdministrationSettings
from idp.settings.organizations import OrganizationSettings
from idp.settings.parse import MIN_REGISTRATION_TOKEN_LENGTH, MIN_SECRET_LENGTH
from idp.settings.parse import SettingsError as SettingsError  # raised here, caught everywhere
from idp.settings.performance import SIGNING_ALGORITHMS as SIGNING_ALGORITHMS
from idp.settings.performance import PerformanceSettings

# The checkout: templates/ and static/ live beside the package.
ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT = "development"
PRODUCTION = "production"


@dataclasses.dataclass(frozen=True)
class Settings(AdministrationSettings, OrganizationSettings, PerformanceSettings):
    """Typed settings. Build with `Settings.from_env()`; tests build with overrides."""

    env: str = parse.setting(
        "IDP_ENV",
        parse.choice(DEVELOPMENT, PRODUCTION),
        "`development` or `production`.",
        default=DEVELOPMENT,
    )
    issuer: str = parse.setting(
        "IDP_ISSUER",
        parse.issuer,
        "Public base URL. Must be https in production. Default: http://127.0.0.1:5000.",
        default="",
    )
    secret_key: str = parse.setting(
        "IDP_SECRET_KEY",
        parse.text,
        f"At least {MIN_SECRET_LENGTH} characters; signs cookies and CSRF tokens. "
        "Development generates one in the instance folder.",
        default="",
        repr=False,
    )
    site_name: str = parse.setting(
        "IDP_SITE_NAME",
        parse.text,
        "The name people see on every page.",
        default="Identity",
    )
    instance_dir: Path = parse.setting(
        "IDP_INSTANCE_DIR",
        parse.path,
        "Folder for the SQLite database and generated development files.",
        default=Path("instance"),
    )
    database_url: str = parse.setting(
        "DATABASE_URL",
        parse.database_url,
        "SQLAlchemy URL. Default: SQLite in the instance folder.",
        default="",
    )
    redis_url: str = parse.setting(
        "REDIS_URL",
        parse.redis_url,
        "Redis for rate-limit counters and the session cache. Default: none (in-process).",
        default="",
    )
    redis_prefix: str = parse.setting(
        "IDP_REDIS_PREFIX",
        parse.text,
        "Prefix for every Redis key this app writes.",
        default="idp:",
    )
    smtp_url: str = parse.setting(
        "IDP_SMTP_URL",
        parse.smtp_url,
        "Outgoing mail server: smtp://, smtp+starttls:// or smtps:// URL. Default: none.",
        default="",
    )
    mail_from: str = parse.setting(
        "IDP_MAIL_FROM",
        parse.text,
        "Sender of every message, e.g. `Example <no-reply@example.com>`. "
        "Default: the site name at no-reply@ the issuer's host.",
        default="",
    )
    smtp_timeout: int = parse.setting(
        "IDP_SMTP_TIMEOUT",
        parse.seconds,
        "Seconds to wait for the mail server before giving up.",
        default=10,
    )
    require_verified_email: bool = parse.setting(
        "IDP_REQUIRE_VERIFIED_EMAIL",
        parse.boolean,
        "Whether signing in waits until the email address is verified.",
        default=False,
    )
    verify_email_ttl: int = parse.setting(
        "IDP_VERIFY_EMAIL_TTL",
        parse.seconds,
        "Seconds an email verification (or email change) link stays valid.",
        default=24 * 3600,
    )
    password_reset_ttl: int = parse.setting(
        "IDP_PASSWORD_RESET_TTL",
        parse.seconds,
        "Seconds a password reset link stays valid.",
        default=3600,
    )
    email_sign_in_ttl: int = parse.setting(
        "IDP_EMAIL_SIGN_IN_TTL",
        parse.seconds,
        "Seconds a magic link or emailed one-time code stays valid.",
        default=600,
    )
    email_send_limit: str = parse.setting(
        "IDP_EMAIL_SEND_LIMIT",
        parse.rate_limit,
        "Messages a person can have sent to one address (verification, reset, magic link, "
        "one-time code), counted per address and per client IP.",
        default="5 per 15 minutes;20 per day",
    )
    webauthn_rp_id: str = parse.setting(
        "IDP_WEBAUTHN_RP_ID",
        parse.text,
        "WebAuthn relying party ID: the issuer's host or a registrable suffix of it. "
        "Default: the issuer's host.",
        default="",
    )
    webauthn_origins: tuple[str, ...] = parse.setting(
        "IDP_WEBAUTHN_ORIGINS",
        parse.origins,
        "Comma-separated origins passkey ceremonies may come from. Default: the issuer's origin.",
        default=(),
    )
    trusted_device_ttl: int = parse.setting(
        "IDP_TRUSTED_DEVICE_TTL",
        parse.seconds,
        "Seconds a device marked 'trust this device' skips the second factor.",
        default=30 * 86400,
    )
    lockout_slow_after: int = parse.setting(
        "IDP_LOCKOUT_SLOW_AFTER",
        parse.at_least(1),
        "Failures of one credential (per account) after which each new attempt must wait, "
        "the wait doubling with each failure.",
        default=3,
    )
    lockout_after: int = parse.setting(
        "IDP_LOCKOUT_AFTER",
        parse.at_least(1),
        "Failures of one credential (per account) that lock it; an IP is locked after five "
        "times as many.",
        default=10,
    )
    lockout_seconds: int = parse.setting(
        "IDP_LOCKOUT_SECONDS",
        parse.seconds,
        "How long a locked credential stays locked; failures are counted over this window.",
        default=900,
    )
    keys_dir: Path = parse.setting(
        "IDP_KEYS_DIR",
        parse.path,
        "Folder of the signing keys (private keys encrypted with IDP_SECRET_KEY).",
        default=Path("keys"),
    )
    signing_alg: str = parse.setting(
        "IDP_SIGNING_ALG",
        parse.choice(*SIGNING_ALGORITHMS, renamed={"EdDSA": "Ed25519"}),  # RFC 9864
        "Algorithm of newly created signing keys (`EdDSA`, its old name, means Ed25519).",
        default="RS256",
    )
    jwks_max_age: int = parse.setting(
        "IDP_JWKS_MAX_AGE",
        parse.seconds,
        "Seconds clients may cache the JWKS and discovery documents.",
        default=300,
    )
    max_token_lifetime: int = parse.setting(
        "IDP_MAX_TOKEN_LIFETIME",
        parse.seconds,
        "Upper bound on any access or ID token lifetime; a retired key stays published this long.",
        default=86400,
    )
    refresh_reuse_grace: int = parse.setting(
        "IDP_REFRESH_REUSE_GRACE",
        parse.integer,
        "Seconds a rotated refresh token may still be used (concurrent refreshes); "
        "reuse after that revokes its grant.",
        default=10,
    )
    allow_unregistered_resources: bool = parse.setting(
        "IDP_ALLOW_UNREGISTERED_RESOURCES",
        parse.boolean,
        "Accept a well-formed `resource` (RFC 8707) that is not registered: the token's audience "
        "is it, with the scopes and lifetime the client would get without one.",
        default=False,
    )
    introspection_any_client: bool = parse.setting(
        "IDP_INTROSPECTION_ANY_CLIENT",
        parse.boolean,
        "Whether any confidential client may introspect any token (RFC 7662). Off: a client "
        "sees its own tokens, and those of resources it is the introspecting client of.",
        default=False,
    )
    session_ttl: int = parse.setting(
        "IDP_SESSION_TTL",
        parse.seconds,
        "Idle lifetime of a sign-in session, in seconds (sliding).",
        default=12 * 3600,
    )
    remember_ttl: int = parse.setting(
        "IDP_REMEMBER_TTL",
        parse.seconds,
        "Idle lifetime of a 'remember me' session, in seconds (sliding).",
        default=30 * 86400,
    )
    session_fresh_age: int = parse.setting(
        "IDP_SESSION_FRESH_AGE",
        parse.seconds,
        "Seconds after signing in during which sensitive actions need no password again.",
        default=600,
    )
    sign_in_ip_limit: str = parse.setting(
        "IDP_SIGN_IN_IP_LIMIT",
        parse.rate_limit,
        "Sign-in attempts per client IP (the form, /confirm, upstream and SSO starts and answers).",
        default="30 per minute;300 per hour",
    )
    sign_in_account_limit: str = parse.setting(
        "IDP_SIGN_IN_ACCOUNT_LIMIT",
        parse.rate_limit,
        "Failed sign-ins per account (email).",
        default="10 per 15 minutes",
    )
    sign_up_ip_limit: str = parse.setting(
        "IDP_SIGN_UP_IP_LIMIT",
        parse.rate_limit,
        "Sign-ups per client IP.",
        default="10 per hour",
    )
    registration: str = parse.setting(
        "IDP_REGISTRATION",
        parse.choice("open", "token", "off"),
        "Dynamic client registration at POST /register (RFC 7591): `open` to anyone (MCP "
        "clients rely on it), `token` only with IDP_REGISTRATION_TOKEN, or `off`.",
        default="open",
    )
    registration_token: str = parse.setting(
        "IDP_REGISTRATION_TOKEN",
        parse.text,
        f"Initial access token that `token` mode requires as a Bearer token (RFC 7591 §3); "
        f"at least {MIN_REGISTRATION_TOKEN_LENGTH} characters.",
        default="",
        repr=False,
    )
    registration_limit: str = parse.setting(
        "IDP_REGISTRATION_LIMIT",
        parse.rate_limit,
        "Client registrations per client IP.",
        default="20 per hour",
    )
    dynamic_client_unused_ttl: int = parse.setting(
        "IDP_DYNAMIC_CLIENT_UNUSED_TTL",
        parse.seconds,
        "Seconds after which a dynamically registered client that has not used the token "
        "endpoint since is deleted (on each registration, and by `idp clients prune`).",
        default=30 * 86400,
    )
    client_metadata_documents: bool = parse.setting(
        "IDP_CLIENT_METADATA_DOCUMENTS",
        parse.boolean,
        "Whether an https URL may be a client_id naming the client's metadata document "
        "(Client ID Metadata Documents, used by MCP clients).",
        default=True,
    )
    client_metadata_allow_private: bool = parse.setting(
        "IDP_CLIENT_METADATA_ALLOW_PRIVATE",
        parse.boolean,
        "Whether metadata documents may be fetched from private, loopback, link-local or other "
        "non-public addresses. Keep false unless the documents live on your own network.",
        default=False,
    )
    client_metadata_timeout: int = parse.setting(
        "IDP_CLIENT_METADATA_TIMEOUT",
        parse.seconds,
        "Seconds a metadata document fetch may take in all (connect, TLS, headers and body).",
        default=5,
    )
    client_metadata_max_bytes: int = parse.setting(
        "IDP_CLIENT_METADATA_MAX_BYTES",
        parse.at_least(256),
        "Largest metadata document accepted, in bytes.",
        default=5120,
    )
    device_code_ttl: int = parse.setting(
        "IDP_DEVICE_CODE_TTL",
        parse.seconds,
        "Seconds a device authorization (RFC 8628 device code and user code) stays valid.",
        default=600,
    )
    device_poll_interval: int = parse.setting(
        "IDP_DEVICE_POLL_INTERVAL",
        parse.seconds,
        "Seconds a device must wait between token requests (RFC 8628 §3.5 `interval`).",
        default=5,
    )
    device_user_code_limit: str = parse.setting(
        "IDP_DEVICE_USER_CODE_LIMIT",
        parse.rate_limit,
        "User-code entries per client IP on the device page (RFC 8628 §5.1: brute force).",
        default="10 per minute;100 per hour",
    )
    proxy_hops: int = parse.setting(
        "IDP_PROXY_HOPS",
        parse.integer,
        "Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.",
        default=0,
    )
    metrics_token: str = parse.setting(
        "IDP_METRICS_TOKEN",
        parse.metrics_token,
        "Bearer token that GET /metrics (Prometheus) requires; at least 32 characters. "
        "Default: none, and there is no /metrics.",
        default="",
        repr=False,
    )
    log_level: str = parse.setting(
        "IDP_LOG_LEVEL",
        parse.choice("DEBUG", "INFO", "WARNING", "ERROR"),
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
            parse.check_production(self.issuer, self.secret_key)
        issuer_url = self.issuer or "http://127.0.0.1:5000"
        parse.check_issuer_and_secret(issuer_url, self.issuer, self.secret_key)
        parse.check_registration(self.registration, self.registration_token)
        parse.check_lockout(self.lockout_slow_after, self.lockout_after)
        derived = parse.from_issuer(issuer_url, self.site_name)
        changes = {name: value for name, value in derived.items() if not getattr(self, name)}
        if not self.secret_key:
            changes["secret_key"] = parse.development_secret(self.instance_dir)
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


def app_settings() -> Settings:
    """The settings of the current app (registered by `create_app`)."""
    value: Settings = current_app.extensions["idp.settings"]
    return value

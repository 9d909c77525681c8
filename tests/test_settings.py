"""Settings: read from the environment, typed, validated, with a one-line reason on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.settings import Settings, SettingsError

SECRET = "s" * 40


def test_development_defaults_fill_what_a_laptop_lacks(tmp_path: Path):
    settings = Settings.from_env({"IDP_INSTANCE_DIR": str(tmp_path)})

    assert settings.env == "development"
    assert settings.issuer == "http://127.0.0.1:5000"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/idp.db"
    assert settings.redis_url == ""
    assert len(settings.secret_key) >= 32
    # The generated secret is kept, so a restart keeps everyone signed in.
    assert Settings.from_env({"IDP_INSTANCE_DIR": str(tmp_path)}).secret_key == settings.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_values_are_parsed_to_their_types(tmp_path: Path):
    settings = Settings.from_env(
        {
            "IDP_INSTANCE_DIR": str(tmp_path),
            "IDP_SESSION_TTL": "600",
            "IDP_PROXY_HOPS": "1",
            "DATABASE_URL": "postgres://u:p@db:5432/idp",
            "REDIS_URL": "redis://127.0.0.1:6379/2",
            "IDP_ISSUER": "https://login.example.com/",
        }
    )

    assert settings.session_ttl == 600
    assert settings.proxy_hops == 1
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/idp"
    assert settings.issuer == "https://login.example.com"
    assert settings.is_https


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "IDP_SESSION_TTL",
            "twelve hours",
            "IDP_SESSION_TTL must be a whole number, got 'twelve hours'",
        ),
        ("IDP_SESSION_TTL", "0", "IDP_SESSION_TTL must be at least 1, got 0"),
        ("IDP_ENV", "staging", "IDP_ENV must be one of development, production, got 'staging'"),
        ("DATABASE_URL", "mysql://db/idp", "DATABASE_URL must be a postgresql:// or sqlite:// URL"),
        ("REDIS_URL", "http://cache", "REDIS_URL must be a redis:// or rediss:// URL"),
        ("IDP_SMTP_URL", "mail.example.com", "IDP_SMTP_URL must look like smtp://host:25"),
        ("IDP_ISSUER", "login.example.com", "IDP_ISSUER must be an absolute http(s) URL"),
        ("IDP_ISSUER", "https://login.example.com/?a=1", "IDP_ISSUER must not have a query"),
        ("IDP_ISSUER", "http://login.example.com", "IDP_ISSUER must be https unless it is on"),
        ("IDP_SIGN_IN_IP_LIMIT", "lots", "IDP_SIGN_IN_IP_LIMIT must be a rate such as"),
        ("IDP_SECRET_KEY", "short", "IDP_SECRET_KEY must be at least 32 characters"),
        ("IDP_LOG_LEVEL", "LOUD", "IDP_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
        (
            "IDP_DATABASE_NOTIFICATIONS",
            "sometimes",
            "IDP_DATABASE_NOTIFICATIONS must be true or false, got 'sometimes'",
        ),
    ],
)
def test_a_wrong_value_names_the_setting(tmp_path: Path, name: str, value: str, message: str):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"IDP_INSTANCE_DIR": str(tmp_path), name: value})

    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "IDP_ISSUER is required in production"),
        (
            {"IDP_ISSUER": "http://127.0.0.1:8000", "IDP_SECRET_KEY": SECRET},
            "IDP_ISSUER must be https in production",
        ),
        (
            {"IDP_ISSUER": "https://login.example.com"},
            "IDP_SECRET_KEY must be at least 32 characters in production",
        ),
        (
            {"IDP_ISSUER": "https://login.example.com", "IDP_SECRET_KEY": "s" * 31},
            "IDP_SECRET_KEY must be at least 32 characters in production",
        ),
    ],
)
def test_production_refuses_to_guess(tmp_path: Path, environ: dict[str, str], message: str):
    environ = {"IDP_INSTANCE_DIR": str(tmp_path), **environ}

    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ, default_env="production")

    assert not (tmp_path / "secret_key").exists()  # production never generates a secret


def test_the_old_name_of_ed25519_still_configures_it(tmp_path: Path):
    """RFC 9864 deprecates the polymorphic `EdDSA` for `Ed25519`: a deployment configured
    with the old name keeps starting, and gets Ed25519 keys."""
    environ = {"IDP_INSTANCE_DIR": str(tmp_path), "IDP_SIGNING_ALG": "EdDSA"}
    assert Settings.from_env(environ).signing_alg == "Ed25519"


def test_production_accepts_a_complete_configuration(tmp_path: Path):
    settings = Settings.from_env(
        {
            "IDP_ISSUER": "https://login.example.com",
            "IDP_SECRET_KEY": SECRET,
            "IDP_INSTANCE_DIR": str(tmp_path),
        },
        default_env="production",
    )

    assert settings.env == "production"
    assert settings.is_https


def test_idp_env_overrides_the_entry_points_default(tmp_path: Path):
    settings = Settings.from_env(
        {"IDP_ENV": "development", "IDP_INSTANCE_DIR": str(tmp_path)}, default_env="production"
    )

    assert settings.env == "development"


def test_the_secret_never_appears_in_the_settings_repr(tmp_path: Path):
    settings = Settings.from_env({"IDP_SECRET_KEY": SECRET, "IDP_INSTANCE_DIR": str(tmp_path)})

    assert SECRET not in repr(settings)

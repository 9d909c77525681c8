"""The `idp` command: each subcommand works, explains itself, and fails in one clear line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, SECRET

IDP = shutil.which("idp", path=str(Path(sys.executable).parent)) or "idp"


def run(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IDP_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(
        [IDP, *args], env={**clean, **env}, input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [[], ["serve"], ["db"], ["db", "upgrade"], ["users"], ["users", "create"], ["users", "list"]],
)
def test_every_command_has_help(command: list[str], cli_env: dict[str, str]):
    result = run(*command, "--help", env=cli_env)

    assert result.returncode == 0
    assert "Usage: idp" in result.stdout


def test_users_create_and_list(cli_env: dict[str, str]):
    created = run(
        "users",
        "create",
        " Ada@Example.com",
        "--password",
        PASSWORD,
        "--name",
        "Ada L",
        "--admin",
        env=cli_env,
    )
    listed = run("users", "list", env=cli_env)

    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().endswith("<ada@example.com> (admin).")
    assert listed.returncode == 0
    assert "ada@example.com" in listed.stdout
    assert "Ada L" in listed.stdout


def test_users_create_asks_for_the_password_when_not_given(cli_env: dict[str, str]):
    result = run(
        "users", "create", "bo@example.com", env=cli_env, stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.returncode == 0, result.stderr
    assert "<bo@example.com>" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["users", "create", "nobody", "--password", PASSWORD],
            "Error: email: Enter a valid email address, like name@example.com.",
        ),
        (
            ["users", "create", "c@example.com", "--password", "short"],
            "Error: password: Use at least 8 characters.",
        ),
        (
            ["users", "create", "c@example.com", "--password", "password1"],
            "Error: password: This password is too common. Choose one that is harder to guess.",
        ),
    ],
)
def test_users_create_refuses_bad_input_in_one_line(cli_env, snapshot, args, message):
    before = snapshot()

    result = run(*args, env=cli_env)

    assert result.returncode == 1
    assert result.stderr.strip() == message
    assert snapshot() == before


def test_users_create_refuses_a_duplicate(cli_env, snapshot):
    assert (
        run("users", "create", "d@example.com", "--password", PASSWORD, env=cli_env).returncode == 0
    )
    before = snapshot()

    result = run("users", "create", "D@example.com", "--password", PASSWORD, env=cli_env)

    assert result.returncode == 1
    assert result.stderr.strip() == "Error: email: An account with this email already exists."
    assert snapshot() == before


def test_a_setting_of_the_wrong_type_stops_every_command_in_one_line(cli_env):
    result = run("users", "list", env={**cli_env, "IDP_SESSION_TTL": "a while"})

    assert result.returncode == 1
    assert result.stderr.strip() == "Error: IDP_SESSION_TTL must be a whole number, got 'a while'"


@pytest.mark.parametrize(
    "command", [["users", "list"], ["db", "upgrade"], ["serve", "--port", "1"]]
)
def test_a_database_that_does_not_connect_is_one_clear_line(tmp_path: Path, command: list[str]):
    env = {
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
    }

    result = run(*command, env=env)

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: DATABASE_URL: cannot connect to the database:")
    assert "Traceback" not in result.stderr


def test_db_upgrade_builds_a_new_sqlite_database(tmp_path: Path):
    env = {
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path / "inst"),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
    }

    result = run("db", "upgrade", env=env)

    assert result.returncode == 0, result.stderr
    assert "Database is up to date" in result.stdout
    assert (tmp_path / "inst" / "idp.db").exists()


def test_serve_runs_on_embedded_defaults_and_says_it_is_development(tmp_path: Path):
    port = free_port()
    env = {"IDP_INSTANCE_DIR": str(tmp_path / "inst"), "IDP_KEYS_DIR": str(tmp_path / "keys")}
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IDP_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    process = subprocess.Popen(
        [IDP, "serve", "--port", str(port)],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/readyz")
        page = requests.get(f"http://127.0.0.1:{port}/sign-in", timeout=5)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)

    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert 'name="email"' in page.text and 'name="password"' in page.text
    assert "DEVELOPMENT MODE" in stderr
    assert (tmp_path / "inst" / "idp.db").exists()
    assert (tmp_path / "inst" / "secret_key").exists()


def _wait_for(url: str) -> requests.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

"""`idp keys rotate` and `idp keys list` through the real console script.

OpenID Connect Core §10.1.1: a rotated key is published at once and signs only later.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from idp.keys import key_store
from idp.settings import Settings
from tests.conftest import SECRET

IDP = shutil.which("idp", path=str(Path(sys.executable).parent)) or "idp"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IDP_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(
        [IDP, *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def keys_env(tmp_path: Path) -> dict[str, str]:
    return {
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
    }


@pytest.mark.parametrize("command", [["keys"], ["keys", "rotate"], ["keys", "list"]])
def test_every_keys_command_has_help(command: list[str], keys_env: dict[str, str]):
    result = run(*command, "--help", env=keys_env)

    assert result.returncode == 0
    assert f"Usage: idp {' '.join(command)}" in result.stdout


def test_rotate_publishes_a_key_that_signs_later_and_list_shows_it(keys_env: dict[str, str]):
    running = key_store(Settings.from_env(keys_env)).ensure_key()  # as the app does at start

    rotated = run("keys", "rotate", "--activate-after", "600", env=keys_env)
    listed = run("keys", "list", env=keys_env)

    assert rotated.returncode == 0, rotated.stderr
    created, when = rotated.stdout.splitlines()
    kid = created.split()[3]
    assert created == f"Created signing key {kid} (RS256)."
    assert when.startswith("Published in the JWKS now; signs from ")
    assert when.endswith("(in 600 s).")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["KID", "ALG", "STATE", "CREATED", "ACTIVATES/ACTIVATED", "PUBLISHED"]
    assert [row.split()[:3] for row in rows] == [
        [running.kid, "RS256", "active"],
        [kid, "RS256", "pending"],
    ]
    assert all(row.endswith("yes") for row in rows)


def test_rotate_takes_another_algorithm(keys_env: dict[str, str]):
    result = run("keys", "rotate", "--alg", "Ed25519", env=keys_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("(Ed25519).")
    assert "(in 360 s)" in result.stdout  # IDP_JWKS_MAX_AGE (300) + 60


def test_list_says_when_there_are_no_keys_yet(keys_env: dict[str, str]):
    result = run("keys", "list", env=keys_env)

    assert result.returncode == 0
    assert result.stdout.startswith("No signing keys in ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--alg", "HS256"],
            "Error: Invalid value for '--alg': 'HS256' is not one of 'RS256', 'ES256', 'Ed25519'.",
        ),
        (
            ["--activate-after", "soon"],
            "Error: Invalid value for '--activate-after': 'soon' is not a valid integer.",
        ),
        (
            ["--activate-after", "-5"],
            "Error: Invalid value for '--activate-after': -5 is negative; give 0 or more seconds.",
        ),
    ],
)
def test_rotate_refuses_bad_options_in_one_error_line(
    keys_env: dict[str, str], args: list[str], message: str
):
    result = run("keys", "rotate", *args, env=keys_env)

    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if "Error" in line] == [message]
    assert "Traceback" not in result.stderr
    assert not Path(keys_env["IDP_KEYS_DIR"]).exists()


def test_a_wrong_secret_stops_rotate_in_one_line(keys_env: dict[str, str]):
    kid = key_store(Settings.from_env(keys_env)).ensure_key().kid

    result = run("keys", "rotate", env={**keys_env, "IDP_SECRET_KEY": "another-" + "x" * 40})

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: IDP_KEYS_DIR: key {kid} cannot be decrypted with this IDP_SECRET_KEY"
    )
    assert len(list(Path(keys_env["IDP_KEYS_DIR"]).glob("*.json"))) == 1


def test_a_keys_folder_that_cannot_be_written_is_one_line(keys_env: dict[str, str], tmp_path: Path):
    (tmp_path / "a-file").write_text("")
    directory = tmp_path / "a-file" / "keys"

    result = run("keys", "rotate", env={**keys_env, "IDP_KEYS_DIR": str(directory)})

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: IDP_KEYS_DIR: cannot write to {directory}: Not a directory"
    )


@pytest.mark.parametrize("command", [["keys", "rotate"], ["keys", "list"]])
def test_a_bad_setting_stops_keys_commands_in_one_line(
    keys_env: dict[str, str], command: list[str]
):
    result = run(*command, env={**keys_env, "IDP_SIGNING_ALG": "HS256"})

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: IDP_SIGNING_ALG must be one of RS256, ES256, Ed25519, got 'HS256'"
    )

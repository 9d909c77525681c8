"""The production entry point under gunicorn: refuses unsafe settings, serves when complete."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import SECRET
from tests.test_cli import free_port

GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"


def gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    return subprocess.Popen(
        [
            GUNICORN,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "20",
            "idp.wsgi:app",
        ],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for gunicorn to stop by itself; kill it if it does not."""
    try:
        return process.communicate(timeout=60)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_production_refuses_an_unsafe_configuration(tmp_path: Path):
    process = gunicorn(
        {
            "IDP_ISSUER": "http://login.example.com",
            "IDP_SECRET_KEY": SECRET,
            "IDP_INSTANCE_DIR": str(tmp_path),
            "IDP_KEYS_DIR": str(tmp_path / "keys"),
        },
        free_port(),
    )
    stderr = finish(process)

    assert process.returncode != 0
    assert "idp: IDP_ISSUER must be https in production, got 'http://login.example.com'" in stderr
    # No traceback from our code. (gunicorn's arbiter itself sometimes prints one while it
    # halts on the worker's exit code 4, when the worker exits as the arbiter is stopping.)
    assert re.search(r'File "[^"]*/idp/', stderr) is None, stderr


def test_production_refuses_a_missing_secret(tmp_path: Path):
    process = gunicorn(
        {
            "IDP_ISSUER": "https://login.example.com",
            "IDP_INSTANCE_DIR": str(tmp_path),
            "IDP_KEYS_DIR": str(tmp_path / "keys"),
        },
        free_port(),
    )
    stderr = finish(process)

    assert process.returncode != 0
    assert "idp: IDP_SECRET_KEY must be at least 32 characters in production" in stderr


def test_gunicorn_serves_a_complete_production_configuration(
    tmp_path: Path, database_url, redis_url
):
    port = free_port()
    env = {
        "IDP_ISSUER": "https://login.example.com",
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "IDP_REDIS_PREFIX": "idp-test-gunicorn:",
    }
    process = gunicorn(env, port)
    try:
        ready = _wait_for(f"http://127.0.0.1:{port}/readyz")
        page = requests.get(f"http://127.0.0.1:{port}/sign-in", timeout=5)
    finally:
        process.terminate()
        process.communicate(timeout=30)

    assert ready.status_code == 200
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "__Host-idp_form=" in page.headers["Set-Cookie"]
    assert not (tmp_path / "secret_key").exists()


def _wait_for(url: str) -> requests.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return requests.get(url, timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

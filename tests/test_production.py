"""The production server as the README runs it: refuses unsafe settings, serves when complete."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import SECRET
from tests.test_cli import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def documented_command() -> list[str]:
    """The production command in the README, as words (`"$(nproc)"` stays unexpanded)."""
    readme = (ROOT / "README.md").read_text()
    production = readme.split("## Production", 1)[1]
    line = next(line for line in production.splitlines() if line.startswith("granian "))
    return shlex.split(line)


def production_command(port: int, workers: int) -> list[str]:
    """The README's command on 127.0.0.1:port with this many workers."""
    words = documented_command()
    values = {"--host": "127.0.0.1", "--port": str(port), "--workers": str(workers)}
    for index, word in enumerate(words[:-1]):
        if word in values:
            words[index + 1] = values[word]
    executable = shutil.which(words[0], path=str(BIN))
    assert executable, f"{words[0]} is not installed beside {sys.executable}"
    return [executable, *words[1:]]


def serve(env: dict[str, str], port: int, workers: int = 2) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    return subprocess.Popen(
        production_command(port, workers),
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own: `finish` ends its workers too
    )


def end_group(pid: int) -> None:
    """Kill what is left of the process group `pid` leads (started in a session of its own):
    a server's workers outlive a main process that was killed."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait for the server to stop by itself; kill it and its workers if it does not.
    Returns stdout, stderr."""
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        end_group(process.pid)
    return stdout, stderr


def test_the_image_runs_the_documented_command():
    """Dockerfile and README run the same server with the same options (bind and count aside)."""
    documented = documented_command()
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"exec (granian [^\"]+)\"", dockerfile)
    assert cmd, "the Dockerfile's CMD execs granian"
    image = shlex.split(cmd.group(1))

    def options(words: list[str]) -> list[str]:
        variable = {"--host", "--port", "--workers"}
        return [
            w for i, w in enumerate(words) if w not in variable and words[i - 1] not in variable
        ]

    assert options(image) == options(documented)
    assert "--access-log" in documented
    assert documented[-1] == "idp.wsgi:app"


def test_production_refuses_an_unsafe_configuration(tmp_path: Path):
    process = serve(
        {
            "IDP_ISSUER": "http://login.example.com",
            "IDP_SECRET_KEY": SECRET,
            "IDP_INSTANCE_DIR": str(tmp_path),
            "IDP_KEYS_DIR": str(tmp_path / "keys"),
        },
        free_port(),
    )
    stdout, stderr = finish(process)

    # Every worker exits with the one line; the server stops instead of starting them again.
    assert process.returncode != 0
    assert "idp: IDP_ISSUER must be https in production, got 'http://login.example.com'" in stderr
    assert re.search(r'File "[^"]*/idp/', stdout + stderr) is None, stderr


def test_production_refuses_a_missing_secret(tmp_path: Path):
    process = serve(
        {
            "IDP_ISSUER": "https://login.example.com",
            "IDP_INSTANCE_DIR": str(tmp_path),
            "IDP_KEYS_DIR": str(tmp_path / "keys"),
        },
        free_port(),
        workers=1,
    )
    _, stderr = finish(process)

    assert process.returncode != 0
    assert "idp: IDP_SECRET_KEY must be at least 32 characters in production" in stderr


def test_production_serves_a_complete_configuration(tmp_path: Path, database_url, redis_url):
    port = free_port()
    env = {
        "IDP_ISSUER": "https://login.example.com",
        "IDP_SECRET_KEY": SECRET,
        "IDP_INSTANCE_DIR": str(tmp_path),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "IDP_REDIS_PREFIX": "idp-test-production:",
    }
    process = serve(env, port)
    try:
        ready = wait_for(process, f"http://127.0.0.1:{port}/readyz")
        page = requests.get(f"http://127.0.0.1:{port}/sign-in", timeout=5)
    finally:
        process.terminate()
        stdout, stderr = finish(process)

    assert ready.status_code == 200
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "__Host-idp_form=" in page.headers["Set-Cookie"]
    assert not (tmp_path / "secret_key").exists()
    # The access log is on. (A worker stopped right after answering may not have written the
    # last request's line yet: any answered request in the log shows the log is on.)
    assert re.search(r'"GET /(sign-in|readyz) HTTP/1\.1" 200', stdout + stderr), stdout + stderr


def wait_for(process: subprocess.Popen[str], url: str) -> requests.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return requests.get(url, timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# Libraries a worker loads on first use, not at start (README, Performance: memory): those of
# passkey ceremonies, the management API's body checks, authenticator-app QR codes, the
# device names of the account pages, and SAML's XML and XML signatures.
LOADED_ON_FIRST_USE = ("webauthn", "jsonschema", "segno", "ua_parser", "lxml", "signxml")


def test_a_worker_loads_feature_libraries_on_first_use(tmp_path):
    names = ", ".join(LOADED_ON_FIRST_USE)
    probe = (
        "import sys; import idp.wsgi; "
        f"print(*[name in sys.modules for name in {LOADED_ON_FIRST_USE!r}]); "
        f"import {names}; "  # the names are right: importing them loads them
        f"print(*[name in sys.modules for name in {LOADED_ON_FIRST_USE!r}])"
    )
    env = {**os.environ, "IDP_ENV": "development", "IDP_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    at_start, after_use = done.stdout.splitlines()
    assert at_start.split() == ["False"] * len(LOADED_ON_FIRST_USE)
    assert after_use.split() == ["True"] * len(LOADED_ON_FIRST_USE)

"""The Docker image: built from the repository without its secrets or local state, and able to
write what the provider writes at run time.

The README's Production section: `docker compose up --build` runs the provider. The build
context must not carry signing keys, the instance folder (database, development secret, mail
outbox), virtualenvs, caches or node_modules into the image; and the unprivileged user the
container runs as must own the folders it writes: the signing keys and the instance folder,
where mail goes as `.eml` files when no SMTP server is configured (idp.mail).

Read from the files themselves: no Docker daemon is needed.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEPT_OUT = [
    "keys",
    "instance",
    ".venv",
    ".git",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".env",
]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) for each instruction, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    steps = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            steps.append((word.upper(), rest.strip()))
    return steps


def ignored_names() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    return {pattern.removeprefix("**/").rstrip("/") for pattern in patterns}


@pytest.mark.parametrize("name", KEPT_OUT)
def test_the_build_context_leaves_out_secrets_state_and_caches(name):
    assert name in ignored_names()


def test_the_image_copies_no_keys_or_instance_folder():
    copied = [args.split()[0] for step, args in dockerfile() if step in {"COPY", "ADD"}]

    assert not [source for source in copied if source.strip("./") in {"keys", "instance"}]


def env_value(name: str) -> str:
    for step, args in dockerfile():
        if step == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                if key == name:
                    return value
    raise AssertionError(f"the Dockerfile sets no {name}")


def test_the_runtime_user_owns_the_mail_outbox_and_the_keys():
    """Mail without SMTP goes to <IDP_INSTANCE_DIR>/outbox: the user the container runs as
    creates and owns it (and the keys folder), and both are volumes."""
    steps = dockerfile()
    [user] = [args for step, args in steps if step == "USER"]
    instance, keys = env_value("IDP_INSTANCE_DIR"), env_value("IDP_KEYS_DIR")
    outbox = instance + "/outbox"
    run = " && ".join(args for step, args in steps if step == "RUN")
    made = re.search(r"mkdir -p ([^&]+)", run)
    owned = re.search(rf"chown {re.escape(user)}(?::\S+)? ([^&]+)", run)
    [volumes] = [args for step, args in steps if step == "VOLUME"]

    assert made and {instance + "/outbox", keys} <= set(made.group(1).split())
    assert owned and {instance, outbox, keys} <= set(owned.group(1).split())
    assert f"useradd --system --home /app {user}" in run
    assert {instance, keys} <= set(json.loads(volumes))
    order = [step for step, _ in steps]
    assert order.index("USER") > len(order) - 1 - order[::-1].index("RUN")  # after every RUN


def test_compose_keeps_the_instance_folder_and_keys_on_volumes():
    """The app service mounts named volumes on both folders (lines `- name:/path`)."""
    compose = (ROOT / "docker-compose.yml").read_text()
    app = compose.split("\n  app:\n", 1)[1].split("\n\n", 1)[0]
    mounts = set(re.findall(r"^ +- \w+:(/\S+)$", app, flags=re.MULTILINE))

    assert {env_value("IDP_INSTANCE_DIR"), env_value("IDP_KEYS_DIR")} <= mounts

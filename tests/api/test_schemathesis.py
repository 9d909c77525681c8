"""schemathesis against /api/openapi.json on a real HTTP server: generated valid and invalid
requests to every operation, bounded in examples and time, must get no 5xx, only documented
status codes and content types, answers that match their schemas, and a refusal of every
request that breaks the schema. It takes about a minute."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idp.db import db
from idp.identity import members, organizations, permissions, teams, users
from idp.identity.organization_models import Invitation
from idp.identity.permissions import Operator
from tests.api.conftest import ADMIN, make_key
from tests.conftest import PASSWORD

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,negative_data_rejection"
)


@pytest.fixture
def own_keys(env, tmp_path) -> None:
    """Keys of its own: the fuzzer rotates them."""
    env["IDP_KEYS_DIR"] = str(tmp_path / "keys")


def seed(app) -> None:
    """Something for the generated ids to find (they start at 1): a second person, an
    organization with a member, a custom role, a team and a pending invitation."""
    with app.app_context():
        grace = users.find_by_email(ADMIN)
        ada = users.create_user("ada@example.com", "Ada", PASSWORD)
        acme = organizations.create_for(grace, ada, organizations.Fields("Acme", "acme"))
        operator = Operator(acme)
        members.add(grace, operator, grace, "admin")
        permissions.create_role(grace, operator, "auditor", {"member": ["update"]})
        teams.create(grace, operator, "Ops")
        db.session.add(
            Invitation(
                organization_id=acme.id,
                email="bob@example.com",
                role="member",
                secret_hash="0" * 64,
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
        db.session.commit()


def test_schemathesis_finds_nothing(own_keys, server, tmp_path):
    key = make_key(server.app, rate_limit=100_000)
    seed(server.app)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.url}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        CHECKS,
        "--max-examples",
        "5",
        "--phases",
        "examples,coverage,fuzzing",
        # The fuzzer's own key must stay usable; revoking is tested in test_authentication.
        "--exclude-operation-id",
        "revoke_api_key",
        "--workers",
        "1",
        "--seed",
        "11",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
        "--report-dir",
        str(tmp_path / "report"),
    ]

    result = subprocess.run(  # in tmp_path: schemathesis keeps a cache in its working folder
        command, capture_output=True, text=True, timeout=400, check=False, cwd=tmp_path
    )

    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]

"""panva's oauth4webapi (Node), unchanged, signs a user in against the live server.

The client is tests/node/oauth4webapi-flow.mjs; it checks every message the way that strict
library does: RFC 8414 and OpenID Connect Discovery 1.0 §4.3 (issuer), RFC 7591 §3
(registration), RFC 6749 §4.1 and RFC 7636 (code with PKCE S256, state), RFC 9207 §2 (`iss`
in the authorization response), OpenID Connect Core §3.1.3.7 (ID token claims, nonce),
§3.1.3.8 (at_hash) and §5.3.2 (userinfo `sub`), RFC 6749 §6 (refresh token rotation),
RFC 7009 §2 (revocation) and RFC 7662 §2.2 (introspection); once per signing algorithm
(RFC 7518 §3.3 RS256, §3.4 ES256, RFC 9864 Ed25519), each checked against `jwks_uri` and the
algorithms discovery names.

Without Node 20+ on PATH the test is skipped, except in CI (`CI=true`), where that is a failure.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SCRIPT = NODE_DIR / "oauth4webapi-flow.mjs"
MIN_NODE = 20


def node() -> str:
    """Node 20 or newer (oauth4webapi's baseline), or a skip; on CI a failure instead."""
    found = shutil.which("node")
    version = ""
    if found:
        version = subprocess.run(
            [found, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        if int(version.lstrip("v").split(".")[0]) >= MIN_NODE:
            return found
    reason = f"node {version} is too old" if found else "node is not on PATH"
    reason += f": the oauth4webapi client needs Node {MIN_NODE}+"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def install_dependencies() -> None:
    """`npm ci` from the lock file when the pinned packages are missing or stale.

    Test workers run side by side, and two `npm ci` in one folder delete each other's files:
    the first worker here installs while the others wait on the lock, then find it done.
    """
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(installed_version(name) == version for name, version in pinned.items()):
            return
        npm = shutil.which("npm")
        assert npm, "npm is not on PATH; it installs tests/node's pinned packages"
        subprocess.run(
            [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
            check=True,
            timeout=300,
        )


def installed_version(package: str) -> str | None:
    manifest = NODE_DIR / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else None


@pytest.fixture(params=["RS256", "ES256", "Ed25519"])
def alg(request, env, tmp_path) -> str:
    """RFC 7518 §3.3, §3.4, RFC 9864: a key folder whose first key has this algorithm."""
    env["IDP_KEYS_DIR"] = str(tmp_path / "keys")
    env["IDP_SIGNING_ALG"] = request.param
    return str(request.param)


def test_oauth4webapi_runs_the_whole_flow_unchanged(alg, server, make_user):
    executable = node()
    install_dependencies()
    make_user("grace@example.com", name="Grace Hopper")

    run = subprocess.run(
        [executable, str(SCRIPT), server.url, "grace@example.com", PASSWORD],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, f"{run.stderr}\n{run.stdout}"
    summary = json.loads(run.stdout)
    assert summary["steps"] == [
        "discovery",
        "registration",
        "authorize",
        "authorization response",
        "code exchange",
        "userinfo",
        "refresh",
        "introspection",
        "revocation",
    ]
    assert summary["authorization_response"]["iss"] == server.url  # RFC 9207 §2
    assert summary["client"]["token_endpoint_auth_method"] == "client_secret_basic"
    id_token = summary["id_token"]
    assert id_token["iss"] == server.url
    assert id_token["aud"] == summary["client"]["client_id"]
    assert id_token["nonce"] == "matched"
    assert id_token["alg"] == alg
    assert id_token["signature"] == "verified via jwks_uri"
    # OpenID Connect Core §3.1.3.6: optional in the code flow; left out with Ed25519, whose
    # hash Core does not define.
    assert id_token["at_hash"] == ("absent" if alg == "Ed25519" else "verified")
    assert id_token["amr"] == ["pwd"]
    granted = set(summary["token"]["scope"].split())
    assert granted == {"openid", "profile", "email", "offline_access"}
    assert summary["userinfo"] == {
        "sub": id_token["sub"],
        "email": "grace@example.com",
        "name": "Grace Hopper",
    }
    assert summary["refresh"]["rotated"] is True
    assert summary["introspection"]["active"] is True
    assert summary["introspection"]["sub"] == id_token["sub"]
    assert summary["revocation"] == {
        "introspection_after": {
            "access_token": False,
            "first_access_token": False,
            "refresh_token": False,
        },
        "refresh_after": "invalid_grant",
        "userinfo_after": 401,
    }

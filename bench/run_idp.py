"""Start this provider for the side-by-side benchmark harness, and write its config.

    python -m bench.run_idp --port 4030 [--workers 1] [--database postgresql://...]
        [--redis redis://...] [--access-token-alg ES256] [--metrics] --config-out RUN/idp.json

Runs the production command (granian, `idp.wsgi:app`) on a fresh data folder: SQLite in it by
default, or the PostgreSQL database given (its schema is upgraded; existing rows are kept).
Creates what the harness needs (a user, a confidential client with client_credentials and
the code flow, a public first-party client) and writes the harness's provider config, with the
server's pid so the harness records its CPU time. Prints the pid; stop it with `kill PID`.
The harness itself is not part of this repository (see the README's Benchmark section).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REDIRECT_URI = "http://127.0.0.1:9/cb"
PASSWORD = "bench-password-" + "x" * 12
SCOPES = "openid profile email offline_access"


def main() -> None:
    args = _arguments()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="idp-bench-"))
    env = _environment(args, folder)
    _idp(env, "db", "upgrade")
    email = f"bench-{secrets.token_hex(4)}@example.com"
    _idp(env, "users", "create", email, "--password", PASSWORD)
    confidential = _client(env, "bench confidential", public=False)
    public = _client(env, "bench public", public=True)
    server = _start(args, env, folder)
    config = {
        "name": f"idp (granian x{args.workers}, {args.access_token_alg}"
        + (", metrics)" if args.metrics else ")"),
        "issuer": env["IDP_ISSUER"],
        "discovery_url": env["IDP_ISSUER"] + "/.well-known/openid-configuration",
        "redirect_uri": REDIRECT_URI,
        "clients": {
            "confidential": {
                "client_id": confidential["client_id"],
                "client_secret": confidential["client_secret"],
                "auth_method": "client_secret_basic",
            },
            "public": {"client_id": public["client_id"]},
        },
        "user": {"username": email, "password": PASSWORD},
        "scopes": {"user": SCOPES, "client_credentials": ""},
        "introspection": {"token": "user_access_token"},
        "process": {"pid": server.pid},
    }
    Path(args.config_out).write_text(json.dumps(config, indent=2))
    print(server.pid)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4030)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database", default="", help="DATABASE_URL (default: SQLite)")
    parser.add_argument("--redis", default="", help="REDIS_URL (default: none)")
    parser.add_argument("--access-token-alg", default="RS256", choices=("RS256", "ES256"))
    parser.add_argument(
        "--metrics", action="store_true", help="serve /metrics (multiprocess) to time its cost"
    )
    parser.add_argument(
        "--no-notifications",
        action="store_true",
        help="PostgreSQL: read the change counters per request (IDP_DATABASE_NOTIFICATIONS=false)",
    )
    parser.add_argument("--folder", default="", help="data folder (default: a new temp one)")
    parser.add_argument("--config-out", required=True)
    return parser.parse_args()


def _environment(args: argparse.Namespace, folder: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IDP_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        IDP_ENV="development",  # an http issuer on loopback
        IDP_ISSUER=f"http://127.0.0.1:{args.port}",
        IDP_SECRET_KEY=secrets.token_urlsafe(48),
        IDP_INSTANCE_DIR=str(folder),
        IDP_KEYS_DIR=str(folder / "keys"),
        IDP_ACCESS_TOKEN_ALG=args.access_token_alg,
        IDP_LOG_LEVEL="WARNING",
        # The harness signs in from one address many times to get user tokens.
        IDP_SIGN_IN_IP_LIMIT="100000 per minute",
        IDP_SIGN_IN_ACCOUNT_LIMIT="100000 per minute",
    )
    if args.no_notifications:
        env["IDP_DATABASE_NOTIFICATIONS"] = "false"
    if args.metrics:
        env["IDP_METRICS_TOKEN"] = secrets.token_urlsafe(32)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "metrics")
        (folder / "metrics").mkdir(parents=True, exist_ok=True)
    if args.database:
        env["DATABASE_URL"] = args.database
    if args.redis:
        env["REDIS_URL"] = args.redis
    return env


def _idp(env: dict[str, str], *command: str) -> str:
    idp = Path(sys.executable).with_name("idp")
    words = [str(idp), *command]
    done = subprocess.run(words, env=env, check=True, capture_output=True, text=True)  # noqa: S603
    return done.stdout


def _client(env: dict[str, str], name: str, *, public: bool) -> dict[str, str]:
    options = ["--name", name, "--redirect-uri", REDIRECT_URI, "--first-party"]
    options += ["--grant", "authorization_code", "--grant", "refresh_token"]
    options += ["--public"] if public else ["--grant", "client_credentials"]
    output = _idp(env, "clients", "create", *options)
    found: dict[str, str] = json.loads(output[output.index("{") :])
    return found


def _start(args: argparse.Namespace, env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    granian = Path(sys.executable).with_name("granian")
    command = [str(granian), "--interface", "wsgi", "--host", "127.0.0.1"]
    command += ["--port", str(args.port), "--workers", str(args.workers)]
    command += ["--blocking-threads", str(args.threads), "idp.wsgi:app"]
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    url = env["IDP_ISSUER"] + "/jwks.json"
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our loopback URL)
                return server
        except OSError:
            if server.poll() is not None:
                sys.exit(f"the server stopped: see {folder / 'server.log'}")
            time.sleep(0.2)
    server.terminate()
    sys.exit(f"the server did not answer in 20 s: see {folder / 'server.log'}")


if __name__ == "__main__":
    main()

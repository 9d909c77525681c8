"""The identity layer on its own: it never touches HTTP, and its sign-in decisions are plain
functions of plain values."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from idp.core.store import app_store
from idp.errors import InvalidCredentials
from idp.identity import lockout, login
from idp.identity.lockout import Locked
from idp.identity.login import first_factor_step
from idp.settings import app_settings

IDENTITY = Path(__file__).resolve().parent.parent / "idp" / "identity"
# What carries the HTTP request: the web layer reads these and passes plain values in.
HTTP_NAMES = {"request", "g", "session", "make_response", "after_this_request"}


def flask_names_imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            ("flask", "werkzeug")
        ):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith(("flask", "werkzeug")))
    return names


def test_identity_never_reads_the_request_g_or_cookies():
    wrong = {
        f"{path.relative_to(IDENTITY)}: {name}"
        for path in IDENTITY.rglob("*.py")
        for name in flask_names_imported(path)
        if name in HTTP_NAMES or "cookie" in name.lower() or name in {"flask", "werkzeug"}
    }

    assert wrong == set()


def modules_imported(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            modules.add(node.module or "")
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_only_one_module_imports_webauthn():
    importers = {
        path.name
        for path in IDENTITY.parent.rglob("*.py")
        if any(module.startswith("webauthn") for module in modules_imported(path))
    }

    assert importers == {"passkey_protocol.py"}


@pytest.mark.parametrize(
    ("required", "verified", "amr", "on", "trusted", "step"),
    [
        # IDP_REQUIRE_VERIFIED_EMAIL: an unverified address goes to the verify-email page first.
        (True, False, ["pwd"], True, False, "verify_email"),
        (True, True, ["pwd"], False, False, "session"),
        (False, False, ["pwd"], False, False, "session"),
        # Two-factor on: the second factor, unless this device is trusted.
        (False, True, ["pwd"], True, False, "second_factor"),
        (False, True, ["pwd"], True, True, "session"),
        (False, True, ["otp"], True, False, "second_factor"),
        # A passkey that verified the user is already two factors (RFC 8176 "mfa").
        (False, True, ["hwk", "mfa"], True, False, "session"),
        (False, True, ["swk"], True, False, "second_factor"),
    ],
)
def test_what_follows_a_first_factor(required, verified, amr, on, trusted, step):
    assert (
        first_factor_step(
            verified_required=required,
            verified=verified,
            amr=amr,
            two_factor_on=on,
            trusted=trusted,
        )
        == step
    )


def test_outcomes_are_plain_values():
    started = login.SessionStarted("token", remember=True, next="/account")

    assert started == login.SessionStarted("token", True, "/account")
    assert login.SecondFactorNeeded("p") != login.SecondFactorNeeded("q")
    with pytest.raises(AttributeError):
        started.token = "other"  # type: ignore[misc]


def _wrong() -> None:
    raise InvalidCredentials("The password is incorrect.")


def test_a_failure_counts_for_the_account_and_the_ip_given(app):
    with app.app_context():
        with pytest.raises(InvalidCredentials):
            lockout.attempt(
                "password",
                "ada@example.com",
                "192.0.2.7",
                _wrong,
                lambda: None,
                (InvalidCredentials,),
            )

        store = app_store()
        assert store.get("lockout:password:account:ada@example.com") is not None
        assert store.get("lockout:password:ip:192.0.2.7") is not None
        assert store.get("lockout:password:ip:unknown") is None


def test_success_forgets_the_account_failures_but_not_the_ip_ones(app):
    with app.app_context():
        with pytest.raises(InvalidCredentials):
            lockout.attempt(
                "totp", "ada@example.com", "192.0.2.8", _wrong, lambda: None, (InvalidCredentials,)
            )

        result = lockout.attempt(
            "totp",
            "ada@example.com",
            "192.0.2.8",
            lambda: "ok",
            lambda: None,
            (InvalidCredentials,),
        )

        store = app_store()
        assert result == "ok"
        assert store.get("lockout:totp:account:ada@example.com") is None
        assert store.get("lockout:totp:ip:192.0.2.8") is not None


def test_a_locked_credential_is_refused_before_it_is_checked(app):
    checked = []
    with app.app_context():
        settings = app_settings()
        for _ in range(settings.lockout_after):
            lockout.failed("backup_code", "ada@example.com", "192.0.2.9")

        with pytest.raises(Locked):
            lockout.attempt(
                "backup_code",
                "ada@example.com",
                "198.51.100.1",  # another address: the account is locked wherever it is tried
                lambda: checked.append(1),
                lambda: None,
                (InvalidCredentials,),
            )

    assert checked == []

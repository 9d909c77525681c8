"""Project rules that a test can keep: imports flow one way, docs list every setting."""

from __future__ import annotations

import ast
from pathlib import Path

from idp.settings import documented

ROOT = Path(__file__).resolve().parent.parent
# DESIGN "Shape": web -> identity -> core; identity never imports web or protocol code.
FORBIDDEN = {
    "idp.core": ("idp.identity", "idp.web", "idp.app", "idp.cli", "idp.services"),
    "idp.identity": ("idp.web", "idp.app", "idp.cli", "idp.services"),
    # The verifier runs inside other people's API servers: it stands alone.
    "idp.resource": (
        "idp.app",
        "idp.web",
        "idp.oauth",
        "idp.identity",
        "idp.core",
        "idp.keys",
        "idp.services",
        "idp.db",
        "idp.settings",
    ),
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_imports_flow_one_way():
    wrong = []
    for package, forbidden in FORBIDDEN.items():
        for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
            for name in imports_of(path):
                if name.startswith(forbidden):
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")

    assert wrong == []


def test_the_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()

    missing = [env for env, _, _ in documented() if f"| `{env}` |" not in readme]

    assert missing == []


def test_the_keys_folder_ignores_everything_but_its_own_docs():
    text = (ROOT / "keys" / ".gitignore").read_text()
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]

    assert rules == ["*", "!.gitignore", "!README.md"]

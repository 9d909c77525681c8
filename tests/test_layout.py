"""Project rules that a test can keep: imports flow one way without cycles, docs list every
setting. `python -m tests.import_graph` prints the same import facts for a person to read."""

from __future__ import annotations

from pathlib import Path

from idp.settings.table import documented
from tests.import_graph import allowed, cycles, module_graph, violations

ROOT = Path(__file__).resolve().parent.parent


def test_imports_flow_one_way():
    """web -> oauth -> identity -> keys, mail -> core -> db / settings / errors, counting
    imports inside functions too; app, cli, wsgi and models sit on top."""
    assert violations(module_graph()) == []


def test_no_import_cycle_among_idp_modules():
    found = [" -> ".join(cycle) for cycle in cycles(module_graph())]

    assert found == [], "import cycles:\n" + "\n".join(found)


def test_the_layering_rules_read_as_documented():
    assert allowed("web", "oauth") and allowed("oauth", "identity") and allowed("core", "db")
    assert not allowed("identity", "oauth") and not allowed("core", "identity")
    assert not allowed("keys", "mail") and not allowed("mail", "keys")
    assert not allowed("mail", "web") and not allowed("keys", "app")
    assert allowed("cli", "app") and allowed("wsgi", "app") and not allowed("models", "app")
    assert not allowed("resource", "settings") and not allowed("web", "resource")
    assert allowed("migrations", "models") and not allowed("migrations", "oauth")


def test_the_cycle_finder_names_the_modules_in_order():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": set()}

    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_the_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()

    missing = [env for env, _, _ in documented() if f"| `{env}` |" not in readme]

    assert missing == []


def test_the_keys_folder_ignores_everything_but_its_own_docs():
    text = (ROOT / "keys" / ".gitignore").read_text()
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]

    assert rules == ["*", "!.gitignore", "!README.md"]

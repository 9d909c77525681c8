"""The table of settings: each one's variable, default and description, as the README lists
them (tests/test_layout.py checks that it does)."""

from __future__ import annotations

import dataclasses

from idp.settings import Settings


def documented() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = "" if f.name == "secret_key" else str(f.default)
        rows.append((f.metadata["env"], default, f.metadata["doc"]))
    return rows

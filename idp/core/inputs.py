"""What any input must be before the app looks at it: no NUL character, and JSON no deeper
than `MAX_JSON_DEPTH`.

PostgreSQL refuses NUL in text, so a NUL that reached a query would fail there; Python's json
parser fails with RecursionError on JSON nested about a thousand deep. Both are refused at the
door instead (idp.web.inputs for requests; `load_json` for JSON carried inside a parameter).
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32  # nesting of arrays and objects; what we accept needs fewer than 10


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep.")


def load_json(text: str | bytes) -> Any:
    """`json.loads`, raising ValueError for malformed JSON and TooDeep for JSON nested deeper
    than MAX_JSON_DEPTH."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise TooDeep() from None
    check_depth(data)
    return data


def check_depth(data: Any) -> None:
    """TooDeep when `data` (parsed JSON) nests arrays and objects deeper than MAX_JSON_DEPTH."""
    for _value, depth in _walk(data):
        if depth > MAX_JSON_DEPTH:
            raise TooDeep()


def holds_nul(data: Any) -> bool:
    """Whether a string, or any key or string inside parsed JSON, contains NUL."""
    return any(isinstance(value, str) and "\x00" in value for value, _depth in _walk(data))


def _walk(data: Any) -> list[tuple[Any, int]]:
    """Every value and object key in `data` with its depth, without recursion."""
    found: list[tuple[Any, int]] = []
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        found.append((value, depth))
        if isinstance(value, dict):
            pending.extend((key, depth + 1) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return found

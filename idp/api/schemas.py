"""JSON Schemas shared by the management API's endpoints (2020-12, as OpenAPI 3.1 uses)."""

from __future__ import annotations

from typing import Any

from idp.oauth.limits import MAX_LIFETIME

Schema = dict[str, Any]

TIME: Schema = {"type": "string", "format": "date-time"}
MAYBE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
URI: Schema = {"type": "string", "minLength": 1, "maxLength": 2000}
NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 200}
LIFETIME: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_LIFETIME}
PAGE_SIZE: Schema = {"type": "integer", "minimum": 1, "maximum": 200}


def strings(item: Schema | None = None, max_items: int = 50) -> Schema:
    return {"type": "array", "items": item or URI, "maxItems": max_items}


def closed(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """An object with these properties and no others."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def answer(properties: dict[str, Schema]) -> Schema:
    """An answer object: every property always present."""
    return {"type": "object", "properties": properties, "required": list(properties)}


def listing(name: str, item: Schema) -> Schema:
    return answer({name: {"type": "array", "items": item}})

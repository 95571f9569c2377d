"""EXPERIMENT, NOT SHIPPED: the handler with the C walk of walk.c in place of the Python one.

Used by bench/transform_bench.py when ``_compiled_walk`` has been built (see build.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transform_lambda import dynamodb_json, transform

from . import _compiled_walk  # type: ignore[attr-defined]

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def item(attributes: object) -> Any:
    """An item through the C walk (which falls back to the Python walk on anything unusual)."""
    _compiled_walk.setup(dynamodb_json.item, dynamodb_json.number, dynamodb_json._binary)
    return _compiled_walk.item(attributes)


def handler_with_compiled_walk(handler: Handler) -> Handler:
    """``handler`` with transform.item swapped for the C walk for the duration of each call."""
    _compiled_walk.setup(dynamodb_json.item, dynamodb_json.number, dynamodb_json._binary)
    compiled_item = _compiled_walk.item

    def compiled(event: dict[str, Any], context: Any) -> dict[str, Any]:
        python_item = transform.item
        transform.item = compiled_item
        try:
            return handler(event, context)
        finally:
            transform.item = python_item

    return compiled

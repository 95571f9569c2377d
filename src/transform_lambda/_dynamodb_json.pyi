"""The compiled walk (``_dynamodb_json.c``); see :func:`transform_lambda.dynamodb_json.item`."""

from collections.abc import Callable
from typing import Any

def item(
    attributes: object,
    python_item: Callable[[object], dict[str, Any]],
    number: Callable[[object], int | float | str],
    binary: Callable[[object], str],
    /,
) -> dict[str, Any]: ...

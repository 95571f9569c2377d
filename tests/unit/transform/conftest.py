"""Fixtures of the transform's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from transform_lambda import dynamodb_json


@pytest.fixture(scope="module", params=["compiled", "python"])
def walk(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test of a module using it runs once per walk behind ``dynamodb_json.item``: the
    compiled walk (the artifact's; built here by `make compiled-walk`) and the Python walk alone.
    A missing compiled walk fails, never skips: the artifact always carries it."""
    compiled = dynamodb_json._compiled_walk  # the switch between the two walks
    if request.param == "compiled" and compiled is None:
        pytest.fail("the compiled walk is not built: run `make compiled-walk` (make test does)")
    if request.param == "python":
        dynamodb_json._compiled_walk = None
    try:
        yield request.param
    finally:
        dynamodb_json._compiled_walk = compiled

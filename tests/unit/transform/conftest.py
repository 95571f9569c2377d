"""Fixtures of the transform's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from transform_lambda import dynamodb_json


@pytest.fixture(scope="module")
def compiled_walk() -> ModuleType:
    """The compiled walk (the artifact's; built here by `make compiled-walk`). A missing one fails,
    never skips: the artifact always carries it."""
    if dynamodb_json._compiled_walk is None:
        pytest.fail("the compiled walk is not built: run `make compiled-walk` (make test does)")
    return dynamodb_json._compiled_walk


@pytest.fixture(scope="module", params=["compiled", "python"])
def walk(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test of a module using it runs once per walk behind ``dynamodb_json.item``: the
    compiled walk and the Python walk alone."""
    compiled = dynamodb_json._compiled_walk  # the switch between the two walks
    if request.param == "compiled":
        request.getfixturevalue("compiled_walk")
    else:
        dynamodb_json._compiled_walk = None
    try:
        yield request.param
    finally:
        dynamodb_json._compiled_walk = compiled

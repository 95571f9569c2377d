"""The compiled walk answers exactly as the Python walk does, on any input: the same plain values
(same JSON types: 1, 1.0 and "1" differ), or the same error and message; it leaks nothing, and it
hands failures of the Python code it calls back to the right place."""

from __future__ import annotations

import base64
import contextlib
import gc
import itertools
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transform_lambda import _json, dynamodb_json
from transform_lambda.dynamodb_json import MAX_NESTING_DEPTH, DynamoDBJSONError, python_item

sys.path.insert(0, str(Path(__file__).parents[3] / "bench"))
from change_batch import MIX, SHAPES, maximal_event

TAGS = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]


def _images(shape: str, records: int) -> Iterator[dict[str, Any]]:
    """Keys, NewImage and OldImage of the first ``records`` change records of the shape's batch."""
    for record in maximal_event(shape=shape)["records"][:records]:
        body = _json.loads(base64.b64decode(record["data"]))["dynamodb"]
        yield from (body[image] for image in ("Keys", "NewImage", "OldImage") if image in body)


def _outcome(walk: Any, attributes: object) -> tuple[str, object]:
    """("ok", the plain item as JSON bytes) or ("error", the error's type and message)."""
    try:
        plain = walk(attributes)
    except DynamoDBJSONError as error:
        return "error", (type(error).__name__, str(error))
    return "ok", _json.dumps_line(plain)


def _compiled_item(compiled_walk: ModuleType) -> Any:
    def item(attributes: object) -> Any:
        return compiled_walk.item(
            attributes, python_item, dynamodb_json.number, dynamodb_json._binary
        )

    return item


def test_item_runs_the_compiled_walk(compiled_walk: ModuleType) -> None:
    # GIVEN the built compiled walk WHEN dynamodb_json is imported THEN item() runs it
    assert dynamodb_json.WALK == "compiled"
    assert compiled_walk.__file__.endswith(".abi3.so")


# --- any input: the same answer ------------------------------------------------------------------

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
_number_texts = st.one_of(
    st.text("0123456789.-+eE", max_size=24),
    st.text("0123456789.", max_size=40),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    # 16 and 17 significant digits: where a double may (0.1000000000000001) or may not
    # (9.907439150008064) hold the decimal exactly
    st.from_regex(r"-?[0-9]{1,9}\.[0-9]{6,9}[1-9]", fullmatch=True),
    st.sampled_from(["-0", "-0.0", "00.50", "1.", ".5", "9223372036854775808", "١٢", "1\ud800"]),
    st.sampled_from(["9.907439150008064", "0.1000000000000001", "-9.812415868344979"]),
)
_base64_texts = st.one_of(
    st.binary(max_size=12).map(lambda raw: base64.b64encode(raw).decode()),
    st.text("AQw/+=-_", max_size=12),
)


def _typed(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Typed values, mostly well-formed, with every kind of fault mixed in."""
    well_formed = st.one_of(
        st.text(max_size=8).map(lambda s: {"S": s}),
        _number_texts.map(lambda n: {"N": n}),
        _base64_texts.map(lambda b: {"B": b}),
        st.booleans().map(lambda b: {"BOOL": b}),
        st.just({"NULL": True}),
        st.lists(st.text(max_size=4), max_size=3).map(lambda ss: {"SS": ss}),
        st.lists(_number_texts, max_size=3).map(lambda ns: {"NS": ns}),
        st.lists(_base64_texts, max_size=3).map(lambda bs: {"BS": bs}),
        st.lists(children, max_size=3).map(lambda values: {"L": values}),
        st.dictionaries(st.text(max_size=4), children, max_size=3).map(lambda m: {"M": m}),
    )
    faulty = st.one_of(
        st.builds(lambda tag, raw: {tag: raw}, st.sampled_from([*TAGS, "Q", "s", ""]), children),
        st.builds(lambda tag, raw: {tag: raw}, st.sampled_from(TAGS), _json_scalars),
        st.dictionaries(st.sampled_from(TAGS), _json_scalars, max_size=3),
        _json_scalars,
        st.lists(_json_scalars, max_size=2),
    )
    return st.one_of(well_formed, well_formed, well_formed, faulty)


_values = st.recursive(_typed(st.just({"S": "leaf"})), _typed, max_leaves=20)
_items = st.dictionaries(st.text(max_size=4), _values, max_size=5)


@settings(max_examples=1500)
@given(_items)
def test_any_item_gets_the_python_walks_answer(
    compiled_walk: ModuleType, attributes: dict[str, Any]
) -> None:
    # GIVEN any item, well-formed or not WHEN both walks convert it THEN the answers are identical
    assert _outcome(_compiled_item(compiled_walk), attributes) == _outcome(python_item, attributes)


@settings(max_examples=1000)
@given(st.lists(_number_texts, min_size=1, max_size=5))
def test_any_number_text_gets_the_python_walks_answer(
    compiled_walk: ModuleType, texts: list[str]
) -> None:
    # GIVEN number texts of every form (plain, exponent, signs, huge, non-ASCII, malformed)
    attributes = {f"n{i}": {"N": text} for i, text in enumerate(texts)}
    attributes |= {"ns": {"NS": texts}, "l": {"L": [{"N": text} for text in texts]}}
    # WHEN both walks convert them THEN the answers are identical
    assert _outcome(_compiled_item(compiled_walk), attributes) == _outcome(python_item, attributes)


def test_every_short_base64_text_gets_the_python_walks_answer(compiled_walk: ModuleType) -> None:
    # GIVEN every text of up to 4 characters from letters, "+", "/", "=" and non-alphabet ones
    alphabet = "Az9+/=-"
    texts = [""] + [
        "".join(chars)
        for length in range(1, 5)
        for chars in itertools.product(alphabet, repeat=length)
    ]
    # WHEN both walks convert them as B values and as BS members after a valid one
    for text in texts:
        attributes = {"b": {"B": text}, "bs": {"BS": ["AAEC", text]}}
        # THEN the answers are identical
        assert _outcome(_compiled_item(compiled_walk), attributes) == _outcome(
            python_item, attributes
        ), text


@given(st.lists(st.sampled_from(["M", "L"]), min_size=MAX_NESTING_DEPTH - 2, max_size=34))
def test_nesting_limit_is_the_same(compiled_walk: ModuleType, containers: list[str]) -> None:
    # GIVEN maps and lists nested around DynamoDB's 32 levels WHEN converted
    typed: Any = {"S": "leaf"}
    for container in containers:
        typed = {"M": {"child": typed}} if container == "M" else {"L": [typed]}
    # THEN both walks accept exactly the same depths
    attributes = {"top": typed}
    assert _outcome(_compiled_item(compiled_walk), attributes) == _outcome(python_item, attributes)


@pytest.mark.parametrize("shape", [*SHAPES, MIX])
def test_benchmark_shapes_get_the_python_walks_answer(
    compiled_walk: ModuleType, shape: str
) -> None:
    # GIVEN every image of a maximal batch of the shape WHEN both walks convert it THEN identical
    for attributes in _images(shape, 300):
        assert _outcome(_compiled_item(compiled_walk), attributes) == _outcome(
            python_item, attributes
        )


# --- the contract with the Python code it calls --------------------------------------------------


def test_a_value_error_of_the_python_code_hands_the_item_to_the_python_walk(
    compiled_walk: ModuleType,
) -> None:
    # GIVEN a number() that refuses everything off the C fast path with a ValueError
    def refusing(text: object) -> object:
        raise ValueError("refused")

    # WHEN an item needs it THEN the Python walk decides the whole item
    attributes = {"n": {"N": "1E+2"}, "s": {"S": "x"}}
    assert compiled_walk.item(attributes, python_item, refusing, dynamodb_json._binary) == {
        "n": 100,
        "s": "x",
    }


def test_other_errors_of_the_python_code_propagate(compiled_walk: ModuleType) -> None:
    # GIVEN a base64 check that fails with something other than a ValueError
    def broken(text: object) -> object:
        raise RuntimeError("bug")

    # WHEN an item needs it (base64 the C check leaves to Python) THEN that error propagates (a bug
    # is not a bad record)
    with pytest.raises(RuntimeError, match="bug"):
        compiled_walk.item({"b": {"B": "AAAA="}}, python_item, dynamodb_json.number, broken)


def test_wrong_arguments_are_a_type_error(compiled_walk: ModuleType) -> None:
    with pytest.raises(TypeError, match="takes attributes"):
        compiled_walk.item({})


def test_repeated_walks_leak_nothing(compiled_walk: ModuleType) -> None:
    # GIVEN well-formed and faulty items of every shape
    items: list[object] = [image for shape in [*SHAPES, MIX] for image in _images(shape, 20)]
    items += [{"a": {"Q": 1}}, {"a": {"N": "1E+999"}}, {"a": {"B": "AAAA="}}, {"a": {"L": [5]}}]
    walk = _compiled_item(compiled_walk)

    def run() -> None:
        for attributes in items:
            with contextlib.suppress(DynamoDBJSONError):
                walk(attributes)

    run()  # warm caches (interned strings, number fast paths)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(50):
            run()
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # WHEN walked 50 times more THEN memory does not grow with the walks (a leaked reference per
    # item would keep 50 x len(items) objects, far more than this bound)
    assert growth < 20 * 1024, growth

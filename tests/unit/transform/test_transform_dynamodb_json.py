"""DynamoDB JSON → plain JSON: every type tag, the number rule, depth and size limits, and
agreement with a reference (boto3's TypeDeserializer + the number rule) on every benchmark shape.

Every test runs once with each walk behind ``item`` (the ``walk`` fixture): the compiled one and the
Python one."""

from __future__ import annotations

import base64
import binascii
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform_lambda.dynamodb_json import (
    MAX_NESTING_DEPTH,
    DynamoDBJSONError,
    is_strict_base64,
    item,
    number,
    value,
)

sys.path.insert(0, str(Path(__file__).parents[3] / "bench"))
from change_batch import MIX, SHAPES, maximal_event

pytestmark = pytest.mark.usefixtures("walk")


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ({"S": "héllo"}, "héllo"),
        ({"S": ""}, ""),
        ({"N": "42"}, 42),
        ({"N": "-7"}, -7),
        ({"N": "12.5"}, 12.5),
        ({"B": "AAEC"}, "AAEC"),
        ({"BOOL": True}, True),
        ({"BOOL": False}, False),
        ({"NULL": True}, None),
        ({"SS": ["a", "b"]}, ["a", "b"]),
        ({"NS": ["1", "2.5"]}, [1, 2.5]),
        ({"BS": ["AAEC", "AwQ="]}, ["AAEC", "AwQ="]),
        ({"L": [{"S": "x"}, {"N": "1"}, {"NULL": True}]}, ["x", 1, None]),
        ({"M": {"a": {"M": {"b": {"BOOL": False}}}}}, {"a": {"b": False}}),
        ({"L": []}, []),
        ({"M": {}}, {}),
    ],
)
def test_each_type_tag_maps_to_plain_json(typed: dict[str, Any], plain: object) -> None:
    # GIVEN one typed attribute value WHEN it is converted THEN the plain value comes out
    assert value(typed) == plain
    # AND the item path (with its inlined fast paths) agrees
    assert item({"attr": typed}) == {"attr": plain}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("9223372036854775807", 2**63 - 1),  # int64 max: still an integer
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775808", "9223372036854775808"),  # beyond 64 bits, not a double: string
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("100000000000000000000", 1e20),  # beyond 64 bits but exact as a double
        ("0.1", 0.1),
        ("-3.25", -3.25),
        ("12.0", 12),  # integral values are integers
        ("1E+2", 100),
        ("1.5E-130", 1.5e-130),  # DynamoDB's smallest magnitudes
        (
            "9.9999999999999999999999999999999999999E+125",
            "9.9999999999999999999999999999999999999E+125",
        ),
        ("0.12345678901234567890", "0.12345678901234567890"),  # 20 digits: kept as text
        ("1.0000000000000002", 1.0000000000000002),  # 17 digits that a double holds
        ("0.1000000000000001", 0.1000000000000001),  # 16 digits that a double holds
        ("9.907439150008064", "9.907439150008064"),  # 16 digits that no double holds
    ],
)
def test_number_rule(text: str, expected: object) -> None:
    # GIVEN a DynamoDB number WHEN converted THEN it follows the documented rule
    result = number(text)
    assert result == expected
    assert type(result) is type(expected)
    # AND alike as an attribute
    result = item({"n": {"N": text}})["n"]
    assert (type(result), result) == (type(expected), expected)


@pytest.mark.parametrize(
    "text", ["", "abc", "1_000", " 1", "1e", "--1", "nan", "inf", "0x10", "١٢"]
)
def test_malformed_numbers_are_rejected(text: str) -> None:
    # GIVEN text that is not a DynamoDB number WHEN converted THEN a DynamoDBJSONError is raised
    with pytest.raises(DynamoDBJSONError):
        number(text)


def test_huge_exponent_does_not_build_a_huge_integer() -> None:
    # GIVEN a number with an absurd exponent WHEN converted THEN it is kept as text, quickly
    assert number("1E+999999999") == "1E+999999999"


@pytest.mark.parametrize(
    "typed",
    [
        {"Q": "x"},  # unknown tag
        {"S": "a", "N": "1"},  # two tags
        {},  # no tag
        {"S": 5},
        {"N": 5},
        {"BOOL": "true"},
        {"NULL": False},
        {"SS": "a"},
        {"SS": [1]},
        {"NS": ["x"]},
        {"B": "not base64!"},
        {"BS": ["AAEC", 7]},
        {"SS": []},  # DynamoDB never writes an empty set
        {"NS": []},
        {"BS": []},
        {"B": "AAAA="},  # padding after a complete group: rejected on every Python version
        {"B": "AAAA=="},
        {"B": "AAAA===="},
        {"B": "AA="},
        {"B": "\x80AA="},  # non-ASCII: a2b_base64 alone raises a plain ValueError
        {"BS": ["AAEC", "AAé="]},
        {"BS": ["AAEC", "AwQ=="]},
        {"L": {"S": "x"}},
        {"L": ["bare string"]},
        {"M": ["not", "a", "map"]},
        {"M": {"a": "bare"}},
    ],
)
def test_invalid_typed_values_raise(typed: dict[str, Any]) -> None:
    # GIVEN a value that is not DynamoDB JSON WHEN converted THEN a DynamoDBJSONError is raised
    with pytest.raises(DynamoDBJSONError):
        item({"attr": typed})


def _nested_maps(levels: int) -> dict[str, Any]:
    typed: dict[str, Any] = {"S": "leaf"}
    for _ in range(levels):
        typed = {"M": {"child": typed}}
    return {"top": typed}


def _nested_lists(levels: int) -> dict[str, Any]:
    typed: dict[str, Any] = {"N": "1"}
    for _ in range(levels):
        typed = {"L": [typed]}
    return {"top": typed}


def test_nesting_to_dynamodb_maximum_depth_works() -> None:
    # GIVEN maps and lists nested 32 levels deep (DynamoDB's maximum)
    # WHEN converted THEN the leaf is reached
    plain: Any = item(_nested_maps(MAX_NESTING_DEPTH))["top"]
    for _ in range(MAX_NESTING_DEPTH - 1):
        plain = plain["child"]
    assert plain == {"child": "leaf"}
    assert item(_nested_lists(MAX_NESTING_DEPTH)) is not None


def test_nesting_deeper_than_dynamodb_allows_is_rejected() -> None:
    # GIVEN 33 levels WHEN converted THEN it is not DynamoDB JSON
    with pytest.raises(DynamoDBJSONError, match="nesting"):
        item(_nested_maps(MAX_NESTING_DEPTH + 1))
    with pytest.raises(DynamoDBJSONError, match="nesting"):
        item(_nested_lists(MAX_NESTING_DEPTH + 1))


def test_item_of_maximum_size_converts() -> None:
    # GIVEN a 400 KB item (DynamoDB's maximum) of strings, numbers and binary
    blob = base64.b64encode(bytes(range(256)) * 400).decode()
    typed = {f"a{i}": {"S": "x" * 1000} for i in range(250)}
    typed |= {f"n{i}": {"N": str(i)} for i in range(1000)} | {"blob": {"B": blob}}
    # WHEN converted THEN every attribute is there, unchanged in size
    plain = item(typed)
    assert len(plain) == 1251
    assert plain["blob"] == blob
    assert sum(len(v) for v in plain.values() if isinstance(v, str)) > 380_000


# --- properties ----------------------------------------------------------------------------------

_texts = st.text(max_size=20)
_binaries = st.binary(max_size=32).map(lambda b: base64.b64encode(b).decode())
_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: d == 0 or -130 <= d.adjusted() <= 125
)


def _typed_and_plain(depth: int) -> st.SearchStrategy[tuple[Any, Any]]:
    leaves = st.one_of(
        _texts.map(lambda s: ({"S": s}, s)),
        _binaries.map(lambda b: ({"B": b}, b)),
        st.booleans().map(lambda b: ({"BOOL": b}, b)),
        st.just(({"NULL": True}, None)),
        _decimals.map(lambda d: ({"N": str(d)}, d)),
        st.lists(_texts, min_size=1, max_size=4, unique=True).map(lambda ss: ({"SS": ss}, ss)),
        st.lists(_decimals, min_size=1, max_size=4, unique=True).map(
            lambda ns: ({"NS": [str(n) for n in ns]}, ns)
        ),
        st.lists(_binaries, min_size=1, max_size=4, unique=True).map(lambda bs: ({"BS": bs}, bs)),
    )
    if depth == 0:
        return leaves
    children = _typed_and_plain(depth - 1)
    return st.one_of(
        leaves,
        st.lists(children, max_size=4).map(
            lambda pairs: ({"L": [t for t, _ in pairs]}, [p for _, p in pairs])
        ),
        st.dictionaries(_texts, children, max_size=4).map(
            lambda pairs: (
                {"M": {k: t for k, (t, _) in pairs.items()}},
                {k: p for k, (_, p) in pairs.items()},
            )
        ),
    )


def _same(plain: Any, expected: Any) -> bool:
    if isinstance(expected, Decimal):
        if isinstance(plain, str):  # kept as text: exactly the decimal, and not double-safe
            return Decimal(plain) == expected
        return isinstance(plain, (int, float)) and Decimal(repr(plain)) == expected
    if isinstance(expected, list):
        return len(plain) == len(expected) and all(map(_same, plain, expected))
    if isinstance(expected, dict):
        return plain.keys() == expected.keys() and all(
            _same(plain[k], expected[k]) for k in expected
        )
    return type(plain) is type(expected) and plain == expected


@given(_typed_and_plain(depth=3))
def test_random_values_round_trip_to_plain_json(pair: tuple[Any, Any]) -> None:
    # GIVEN a random DynamoDB value and the plain value it stands for
    typed, expected = pair
    # WHEN converted THEN the plain JSON value is the same value, numbers without lost digits
    assert _same(value(typed), expected)
    assert _same(item({"attr": typed})["attr"], expected)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_every_int64_stays_an_exact_integer(integer: int) -> None:
    assert number(str(integer)) == integer
    plain = item({"n": {"N": str(integer)}, "ns": {"NS": [str(integer)]}})
    assert (type(plain["n"]), plain["n"], plain["ns"]) == (int, integer, [integer])


@given(_decimals)
def test_numbers_are_exact_or_text(decimal: Decimal) -> None:
    # GIVEN any DynamoDB-range decimal WHEN converted THEN no digit is lost
    result = number(str(decimal))
    if isinstance(result, str):
        assert Decimal(result) == decimal
    elif isinstance(result, int):
        assert result == decimal
    else:
        assert Decimal(repr(result)) == decimal


def _number_by_the_rule(text: str) -> int | float | str:
    # The documented rule, written the slow and obvious way with Decimal.
    exact = Decimal(text)
    if exact == exact.to_integral_value() and -(2**63) <= exact <= 2**63 - 1:
        return int(exact)
    double = float(text)
    return double if Decimal(repr(double)) == exact else text


_plain_decimals = st.builds(
    lambda sign, zeros, whole, point, fraction, trailing: (
        sign + zeros + whole + point + fraction + (trailing if point else "")
    ),
    st.sampled_from(["", "-"]),
    st.sampled_from(["", "0", "000"]),
    st.text("0123456789", max_size=24),
    st.sampled_from(["", "."]),
    st.text("0123456789", max_size=24),
    st.sampled_from(["", "0", "0000"]),
).filter(lambda text: any(c.isdigit() for c in text))


@given(_plain_decimals)
def test_plain_decimals_follow_the_rule_exactly(text: str) -> None:
    # GIVEN a decimal without exponent (leading/trailing zeros, long fractions, huge integers)
    # WHEN converted THEN the result is exactly what the rule says: same value and same JSON type
    result, expected = number(text), _number_by_the_rule(text)
    assert (type(result), result) == (type(expected), expected)
    # AND alike in a map, a list and a number set
    plain = item({"n": {"N": text}, "l": {"L": [{"N": text}]}, "ns": {"NS": [text]}})
    for result in (plain["n"], plain["l"][0], plain["ns"][0]):
        assert (type(result), result) == (type(expected), expected)


def test_attribute_names_equal_to_type_tags_are_names() -> None:
    # GIVEN maps whose attribute names are type tags WHEN converted THEN names stay names
    typed = {
        "S": {"S": "x"},
        "N": {"N": "1"},
        "M": {"M": {"S": {"S": "y"}, "L": {"L": [{"M": {"N": {"S": "z"}}}]}}},
        "BOOL": {"NULL": True},
    }
    assert item(typed) == {"S": "x", "N": 1, "M": {"S": "y", "L": [{"N": "z"}]}, "BOOL": None}
    assert value({"M": {"S": {"S": "only"}}}) == {"S": "only"}


@pytest.mark.parametrize("bad", [[0], [False], [True], ["S"], "S", None, 5, [{"S": "x"}], [[]]])
def test_attribute_values_that_are_not_objects_are_rejected(bad: object) -> None:
    # GIVEN a value or list element that is JSON but not an object WHEN converted THEN rejected
    with pytest.raises(DynamoDBJSONError, match="must be an object"):
        item({"attr": bad})
    with pytest.raises(DynamoDBJSONError, match="must be an object"):
        item({"attr": {"L": [bad]}})


# --- base64 of B values: one answer on every Python version -------------------------------------


@given(st.binary(max_size=40))
def test_base64_as_encoders_write_it_is_accepted(raw: bytes) -> None:
    # GIVEN any bytes, base64-encoded WHEN checked THEN accepted, alone and in a set
    text = base64.b64encode(raw).decode()
    assert is_strict_base64(text)
    assert value({"B": text}) == text
    assert value({"BS": [text]}) == [text]


@given(st.binary(max_size=40), st.integers(min_value=1, max_value=4))
def test_excess_padding_is_rejected(raw: bytes, extra: int) -> None:
    # GIVEN base64 with more "=" than its last group needs (accepted by a2b_base64 strict mode on
    # Python 3.11 and 3.12, rejected on 3.13) WHEN converted THEN rejected, whatever the version
    text = base64.b64encode(raw).decode() + "=" * extra
    assert not is_strict_base64(text)
    with pytest.raises(DynamoDBJSONError, match="not base64"):
        value({"B": text})


@given(st.text("AQw/+=", max_size=12))
def test_strict_base64_is_strict_mode_without_excess_padding(text: str) -> None:
    # GIVEN any short text of base64 characters WHEN checked THEN accepted exactly when strict
    # mode accepts it and its padding only completes the last group of 4
    try:
        binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        assert not is_strict_base64(text)
        return
    padding = len(text) - len(text.rstrip("="))
    assert is_strict_base64(text) == (len(text) % 4 == 0 and padding <= 2)
    if sys.version_info >= (3, 13):  # AND it is the Lambda runtime's own rule
        assert is_strict_base64(text)


# --- agreement with the reference on every shape of the benchmark ------------------------------


def _reference_number(text: str) -> int | float | str:
    exact = Decimal(text)  # raises on anything that is not a decimal number
    return _number_by_the_rule(text) if exact.is_finite() else _not_dynamodb()


def _not_dynamodb() -> Any:
    raise ValueError("not DynamoDB JSON")


def _reference(typed: dict[str, Any]) -> dict[str, Any]:
    """An image through boto3's TypeDeserializer (tag dispatch, M/L recursion), with N values by
    the number rule, B values kept as their (checked) base64 text and sets kept in order.
    Skips where boto3 is not installed (the per-Python transform venvs hold only the transform's
    test dependencies)."""
    types = pytest.importorskip("boto3.dynamodb.types")

    class Reference(types.TypeDeserializer):  # type: ignore[misc,name-defined]
        def _deserialize_n(self, value: str) -> int | float | str:
            return _reference_number(value)

        def _deserialize_b(self, value: str) -> str:
            if base64.b64encode(base64.b64decode(value, validate=True)).decode() != value:
                _not_dynamodb()
            return value

        def _deserialize_ns(self, value: list[str]) -> list[Any]:
            return [self._deserialize_n(member) for member in value]

        def _deserialize_ss(self, value: list[str]) -> list[str]:
            return [self._deserialize_s(member) for member in value]

        def _deserialize_bs(self, value: list[str]) -> list[str]:
            return [self._deserialize_b(member) for member in value]

    reference = Reference()
    return {name: reference.deserialize(attribute) for name, attribute in typed.items()}


def _exactly(plain: Any, expected: Any) -> bool:
    """Equal, with the same JSON type at every level (1 and 1.0 and True differ)."""
    if type(plain) is not type(expected):
        return False
    if isinstance(expected, list):
        return len(plain) == len(expected) and all(map(_exactly, plain, expected))
    if isinstance(expected, dict):
        return plain.keys() == expected.keys() and all(
            _exactly(plain[k], expected[k]) for k in expected
        )
    return bool(plain == expected)


@given(st.sampled_from(sorted(SHAPES)), st.integers(min_value=0, max_value=2**32))
def test_every_benchmark_shape_matches_the_reference(shape: str, seed: int) -> None:
    # GIVEN an item of a benchmark shape (numbers, sets, nesting, large values, orders)
    typed = SHAPES[shape](random.Random(seed), "k", 1)
    # WHEN converted THEN it is exactly what the reference makes of it
    assert _exactly(item(typed), _reference(typed))


@pytest.mark.parametrize("shape", [*SHAPES, MIX])
def test_a_batch_of_every_shape_matches_the_reference(shape: str) -> None:
    # GIVEN a small batch of each shape the benchmark measures
    import orjson  # noqa: PLC0415

    event = maximal_event(seed=7, max_bytes=300_000, shape=shape)
    for record in event["records"]:
        body = orjson.loads(base64.b64decode(record["data"]))["dynamodb"]
        # WHEN each image is converted THEN it is exactly what the reference makes of it
        for image in ("Keys", "NewImage", "OldImage"):
            if image in body:
                assert _exactly(item(body[image]), _reference(body[image]))


_number_texts = st.one_of(
    st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,20})?", fullmatch=True),
    st.floats(allow_nan=False, allow_infinity=False).map(repr).filter(lambda t: "e" not in t),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    _decimals.map(str),
)


@given(_number_texts)
def test_numbers_match_the_reference(text: str) -> None:
    # GIVEN a number text of any form a table holds WHEN converted THEN exactly as the rule says
    assert _exactly(number(text), _reference_number(text))


@given(st.one_of(_number_texts, _plain_decimals, st.text(".-0123456789", max_size=20)))
def test_inlined_number_paths_agree_with_number(text: str) -> None:
    # GIVEN any number-like text as an attribute, a list element and a set member
    typed = {"a": {"N": text}, "l": {"L": [{"N": text}]}, "s": {"NS": [text]}}
    # WHEN converted THEN each place (with its own inlined fast path) answers as number() does
    try:
        expected = number(text)
    except DynamoDBJSONError:
        with pytest.raises(DynamoDBJSONError):
            item(typed)
        return
    assert _exactly(item(typed), {"a": expected, "l": [expected], "s": [expected]})

"""DynamoDB JSON (attribute values with type descriptors) → plain JSON values.

Type mapping: S → string, N → number (see :func:`number`), B → base64 string, SS/NS/BS → arrays,
L → array, M → object, BOOL → true/false, NULL → null. Any other tag, a value of the wrong JSON
type, or nesting deeper than DynamoDB allows raises :class:`DynamoDBJSONError`.

This is the transform's hot path (70-200 typed values per change record). :func:`item` runs the
compiled walk (``_dynamodb_json.c``, built by scripts/build_artifact.py and always in the artifact)
when it is importable: it decides what DynamoDB writes and hands everything else to this module's
Python walk, which stays the authority for every rule and error (:func:`python_item`). Without it
(a source checkout that has not built it), the Python walk does all: :func:`_map` and :func:`_list`
unpack each value's one tag once and handle the common tags inline, the rare tags go through
:func:`_value`. `make bench` measures both on six item shapes (docs/transform.md, Benchmark).
"""

from __future__ import annotations

import binascii
import re
from types import ModuleType
from typing import Any, Final

# DynamoDB: "nested attributes up to 32 levels deep" (Developer Guide, Service quotas: Attributes).
# A top-level M or L attribute is level 1; each M/L inside it adds one.
MAX_NESTING_DEPTH: Final = 32

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# A double's shortest repr has at most 17 significant digits, so a decimal with more cannot be one.
_DOUBLE_MAX_DIGITS: Final = 17

# A DynamoDB number as written in a change record: optional minus, digits, fraction, exponent.
_NUMBER_SYNTAX: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_TOO_DEEP: Final = f"nesting deeper than {MAX_NESTING_DEPTH} levels"
_NOT_AN_OBJECT: Final = "attribute value must be an object with one type tag"
_NOT_ONE_TAG: Final = "attribute value must have exactly one type tag"
_NOT_A_LIST_ELEMENT: Final = "list element must be an object with one type tag"

PlainValue = Any  # None | bool | int | float | str | list[PlainValue] | dict[str, PlainValue]


_compiled_walk: ModuleType | None
try:
    from transform_lambda import _dynamodb_json as _compiled_walk
except ImportError:  # a source checkout without `make compiled-walk`: the Python walk does all
    _compiled_walk = None

# Which walk item() runs, for the transform's summary line: "compiled" or "python".
WALK: Final = "python" if _compiled_walk is None else "compiled"


class DynamoDBJSONError(ValueError):
    """The value is not DynamoDB JSON (unknown type tag, wrong value type, too deep, bad number)."""


def item(attributes: object) -> dict[str, PlainValue]:
    """An item or key (attribute name → typed value) as a plain JSON object."""
    if _compiled_walk is None:
        return _map(attributes, 0)
    # The compiled walk calls back into the Python walk for all it does not decide itself.
    plain: dict[str, PlainValue] = _compiled_walk.item(attributes, python_item, number, _binary)
    return plain


def python_item(attributes: object) -> dict[str, PlainValue]:
    """:func:`item` by the Python walk alone: the reference the compiled walk must answer alike."""
    return _map(attributes, 0)


def value(attribute_value: object) -> PlainValue:
    """One typed attribute value (``{"S": "x"}``) as a plain JSON value."""
    if type(attribute_value) is not dict:
        raise DynamoDBJSONError("attribute value must be an object with one type tag")
    return _value(*_tag_and_value(attribute_value, _NOT_AN_OBJECT), 0)


def number(text: object) -> int | float | str:
    """A DynamoDB number (decimal text, up to 38 significant digits) as an exact JSON value.

    - an integer in the signed 64-bit range → JSON integer;
    - otherwise, a value whose shortest IEEE-754 double form has exactly the same decimal value
      (e.g. ``"12.5"``, ``"0.1"``, ``"1E+20"``) → JSON number;
    - otherwise (more digits than a double holds, or an integer beyond 64 bits) → JSON string with
      DynamoDB's exact decimal text, so no digit is ever lost silently.

    Numbers as DynamoDB writes them (plain decimals, no exponent) are decided without ``Decimal``.
    """
    if type(text) is str and text.isascii():
        if text[:1] == "-":
            unsigned = text[1:]
            int64_limit = _INT64_MIN_DIGITS
        else:
            unsigned = text
            int64_limit = _INT64_MAX_DIGITS
        if unsigned.isdigit():
            # Same-length digit strings compare as their numbers do.
            if len(unsigned) < 19 or (len(unsigned) == 19 and unsigned <= int64_limit):
                return int(text)
            return _long_integer(text, unsigned, int64_limit)
        # At most 15 significant digits (DBL_DIG) always survive a double, so the shortest
        # double is the same decimal: digits with one point, 16 characters at most.
        if len(unsigned) <= 16 and unsigned.replace(".", "", 1).isdigit():
            double = float(text)
            # An integral value with at most 15 digits: int() of its double is exact.
            return int(double) if double.is_integer() else double
        whole, _, fraction = unsigned.partition(".")
        if (whole + fraction).isdigit() and fraction.rstrip("0"):
            digits = (whole + fraction).strip("0")
            if len(digits) > _DOUBLE_MAX_DIGITS:
                return text  # more significant digits than any double has
            double = float(text)
            if repr(double) == text:  # the shortest double is this very text
                return double
    return _number_slow(text)


# The int64 range's ends as digits: a 19-digit text within it compares <= these.
_INT64_MAX_DIGITS: Final = str(INT64_MAX)
_INT64_MIN_DIGITS: Final = str(INT64_MIN)[1:]


def _long_integer(text: str, unsigned: str, int64_limit: str) -> int | float | str:
    """An integer of 19 digits or more (leading zeros included)."""
    digits = unsigned.lstrip("0")
    if len(digits) < 19 or (len(digits) == 19 and digits <= int64_limit):
        return int(text)
    if len(digits.rstrip("0")) > _DOUBLE_MAX_DIGITS:
        return text  # beyond 64 bits and more significant digits than any double has
    return _number_slow(text)


def _number_slow(text: object) -> int | float | str:
    if type(text) is not str or _NUMBER_SYNTAX.fullmatch(text) is None:
        raise DynamoDBJSONError("N value is not a decimal number")
    from decimal import Decimal  # noqa: PLC0415 - only numbers off the fast path need it

    exact = Decimal(text)
    # adjusted() is the exponent of the leading digit: beyond 18 the value cannot fit in 64 bits,
    # and checking first keeps int() away from values such as 1E+999999999.
    if exact.adjusted() <= 18 and exact == exact.to_integral_value():
        integer = int(exact)
        if INT64_MIN <= integer <= INT64_MAX:
            return integer
    double = float(text)
    if Decimal(repr(double)) == exact:
        return double
    return text


def strict_base64_bytes(text: str) -> bytes:
    """The bytes of ``text``, base64 as an encoder writes it: the standard alphabet, length a
    multiple of 4, padding only to complete the last group; ``binascii.Error`` otherwise. The same
    answer on every Python version: ``a2b_base64(strict_mode=True)`` accepts padding after a
    complete group (``"AAAA="``) on 3.11 and 3.12 and rejects it on 3.13 (the Lambda runtime)."""
    if not text.isascii():  # a2b_base64 would raise a plain ValueError for these
        raise binascii.Error("non-ASCII character in base64")
    raw = binascii.a2b_base64(text, strict_mode=True)
    # Padding is only ever "=" or "==" closing a group of 4: no "=" in third-last place.
    if text[-1:] == "=" and (len(text) % 4 or text[-3] == "="):
        raise binascii.Error("excess base64 padding")
    return raw


def is_strict_base64(text: str) -> bool:
    """Whether ``text`` is base64 as :func:`strict_base64_bytes` reads it."""
    try:
        strict_base64_bytes(text)
    except binascii.Error:
        return False
    return True


def _binary(raw: object) -> str:
    if type(raw) is not str:
        raise DynamoDBJSONError("B value must be a base64 string")
    if not is_strict_base64(raw):
        raise DynamoDBJSONError("B value is not base64")
    return raw


def _set_of(raw: object, tag: str) -> list[Any]:
    # DynamoDB never writes an empty set (a set attribute has at least one member).
    if type(raw) is not list:
        raise DynamoDBJSONError(f"{tag} value must be an array")
    if not raw:
        raise DynamoDBJSONError(f"{tag} value must not be empty")
    return raw


def _tag_and_value(attribute_value: Any, not_an_object: str) -> tuple[str, Any]:
    """The one (tag, value) pair of a typed value, for error paths and :func:`value`."""
    try:
        ((tag, raw),) = attribute_value.items()
    except AttributeError:
        raise DynamoDBJSONError(not_an_object) from None
    except ValueError:
        raise DynamoDBJSONError(_NOT_ONE_TAG) from None
    return tag, raw


def _map(attributes: object, depth: int) -> dict[str, PlainValue]:  # noqa: PLR0912 - hot loop
    if type(attributes) is not dict:
        raise DynamoDBJSONError("expected an object of attribute values")
    plain: dict[str, PlainValue] = {}
    for name, attribute_value in attributes.items():
        # Cheaper than unpacking .items(). On decoded JSON, a str tag found this way means the
        # value is an object (a list or string cannot be indexed by a string); other tags are
        # re-checked in the rare branch below.
        try:
            (tag,) = attribute_value
            raw = attribute_value[tag]
        except (TypeError, ValueError, LookupError):
            tag, raw = _tag_and_value(attribute_value, _NOT_AN_OBJECT)
        # The common tags inline, most frequent first (the same chain as in _list).
        if tag == "S":
            if type(raw) is not str:
                raise DynamoDBJSONError("S value must be a string")
            plain[name] = raw
        elif tag == "N":
            # number()'s first cases inlined (same rule, no call): a non-negative integer or
            # decimal of at most 15 digits.
            if type(raw) is str and len(raw) <= 16 and raw.isascii():
                if raw.isdigit():
                    plain[name] = int(raw)
                elif raw.replace(".", "", 1).isdigit():
                    double = float(raw)
                    plain[name] = int(double) if double.is_integer() else double
                else:
                    plain[name] = number(raw)
            else:
                plain[name] = number(raw)
        elif tag == "M":
            if depth >= MAX_NESTING_DEPTH:
                raise DynamoDBJSONError(_TOO_DEEP)
            plain[name] = _map(raw, depth + 1)
        elif tag == "L":
            if depth >= MAX_NESTING_DEPTH:
                raise DynamoDBJSONError(_TOO_DEEP)
            if type(raw) is not list:
                raise DynamoDBJSONError("L value must be an array")
            plain[name] = _list(raw, depth + 1)
        elif tag == "BOOL":
            if type(raw) is not bool:
                raise DynamoDBJSONError("BOOL value must be true or false")
            plain[name] = raw
        elif tag == "NULL":
            if raw is not True:
                raise DynamoDBJSONError("NULL value must be true")
            plain[name] = None
        else:
            if type(attribute_value) is not dict:
                tag, raw = _tag_and_value(attribute_value, _NOT_AN_OBJECT)
            plain[name] = _value(tag, raw, depth)
    return plain


def _list(values: list[Any], depth: int) -> list[PlainValue]:  # noqa: PLR0912 - hot loop
    plain: list[PlainValue] = []
    append = plain.append
    for attribute_value in values:
        try:  # as in _map
            (tag,) = attribute_value
            raw = attribute_value[tag]
        except (TypeError, ValueError, LookupError):
            tag, raw = _tag_and_value(attribute_value, _NOT_A_LIST_ELEMENT)
        if tag == "S":
            if type(raw) is not str:
                raise DynamoDBJSONError("S value must be a string")
            append(raw)
        elif tag == "N":
            if type(raw) is str and len(raw) <= 16 and raw.isascii():
                if raw.isdigit():
                    append(int(raw))
                elif raw.replace(".", "", 1).isdigit():
                    double = float(raw)
                    append(int(double) if double.is_integer() else double)
                else:
                    append(number(raw))
            else:
                append(number(raw))
        elif tag == "M":
            if depth >= MAX_NESTING_DEPTH:
                raise DynamoDBJSONError(_TOO_DEEP)
            append(_map(raw, depth + 1))
        elif tag == "L":
            if depth >= MAX_NESTING_DEPTH:
                raise DynamoDBJSONError(_TOO_DEEP)
            if type(raw) is not list:
                raise DynamoDBJSONError("L value must be an array")
            append(_list(raw, depth + 1))
        elif tag == "BOOL":
            if type(raw) is not bool:
                raise DynamoDBJSONError("BOOL value must be true or false")
            append(raw)
        elif tag == "NULL":
            if raw is not True:
                raise DynamoDBJSONError("NULL value must be true")
            append(None)
        else:
            if type(attribute_value) is not dict:
                tag, raw = _tag_and_value(attribute_value, _NOT_A_LIST_ELEMENT)
            append(_value(tag, raw, depth))
    return plain


def _value(tag: object, raw: object, depth: int) -> PlainValue:  # noqa: PLR0911, PLR0912
    # The tags _map and _list do not handle inline come first.
    if tag == "SS":
        strings = _set_of(raw, "SS")
        # One C-level pass over the member types (a generator would cost a Python frame each).
        if set(map(type, strings)) != _STR_TYPE:
            raise DynamoDBJSONError("SS members must be strings")
        return strings
    if tag == "NS":
        numbers: list[PlainValue] = []
        append = numbers.append
        for member in _set_of(raw, "NS"):
            if type(member) is str and len(member) <= 16 and member.isascii():  # as in _map
                if member.isdigit():
                    append(int(member))
                elif member.replace(".", "", 1).isdigit():
                    double = float(member)
                    append(int(double) if double.is_integer() else double)
                else:
                    append(number(member))
            else:
                append(number(member))
        return numbers
    if tag == "B":
        return _binary(raw)
    if tag == "BS":
        members = _set_of(raw, "BS")
        for member in members:
            _binary(member)
        return members
    if tag == "L":
        if depth >= MAX_NESTING_DEPTH:
            raise DynamoDBJSONError(_TOO_DEEP)
        if type(raw) is not list:
            raise DynamoDBJSONError("L value must be an array")
        return _list(raw, depth + 1)
    if tag == "NULL":
        if raw is not True:
            raise DynamoDBJSONError("NULL value must be true")
        return None
    if tag == "S":
        if type(raw) is not str:
            raise DynamoDBJSONError("S value must be a string")
        return raw
    if tag == "N":
        return number(raw)
    if tag == "M":
        if depth >= MAX_NESTING_DEPTH:
            raise DynamoDBJSONError(_TOO_DEEP)
        return _map(raw, depth + 1)
    if tag == "BOOL":
        if type(raw) is not bool:
            raise DynamoDBJSONError("BOOL value must be true or false")
        return raw
    raise DynamoDBJSONError("unknown type tag")


_STR_TYPE: Final = {str}

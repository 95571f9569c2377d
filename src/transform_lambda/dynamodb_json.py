"""DynamoDB JSON (attribute values with type descriptors) → plain JSON values.

Type mapping: S → string, N → number (see :func:`number`), B → base64 string, SS/NS/BS → arrays,
L → array, M → object, BOOL → true/false, NULL → null. Any other tag, a value of the wrong JSON
type, or nesting deeper than DynamoDB allows raises :class:`DynamoDBJSONError`.

The hot path (:func:`item`) inlines the two commonest tags (S, and N holding a small non-negative
integer) so that most attribute values cost no extra function call.
"""

from __future__ import annotations

import binascii
import re
from typing import Any, Final

# DynamoDB: "nested attributes up to 32 levels deep" (Developer Guide, Service quotas: Attributes).
# A top-level M or L attribute is level 1; each M/L inside it adds one.
MAX_NESTING_DEPTH: Final = 32

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# A DynamoDB number as written in a change record: optional minus, digits, fraction, exponent.
_NUMBER_SYNTAX: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

PlainValue = Any  # None | bool | int | float | str | list[PlainValue] | dict[str, PlainValue]


class DynamoDBJSONError(ValueError):
    """The value is not DynamoDB JSON (unknown type tag, wrong value type, too deep, bad number)."""


def item(attributes: object) -> dict[str, PlainValue]:
    """An item or key (attribute name → typed value) as a plain JSON object."""
    return _map(attributes, 0)


def value(attribute_value: object) -> PlainValue:
    """One typed attribute value (``{"S": "x"}``) as a plain JSON value."""
    if type(attribute_value) is not dict:
        raise DynamoDBJSONError("attribute value must be an object with one type tag")
    return _typed(attribute_value, 0)


def number(text: object) -> int | float | str:
    """A DynamoDB number (decimal text, up to 38 significant digits) as an exact JSON value.

    - an integer in the signed 64-bit range → JSON integer;
    - otherwise, a value whose shortest IEEE-754 double form has exactly the same decimal value
      (e.g. ``"12.5"``, ``"0.1"``, ``"1E+20"``) → JSON number;
    - otherwise (more digits than a double holds, or an integer beyond 64 bits) → JSON string with
      DynamoDB's exact decimal text, so no digit is ever lost silently.
    """
    if type(text) is str and text.isascii():
        if len(text) < 19 and text.isdigit():
            return int(text)
        # Plain decimals of at most 15 significant digits always survive a double (DBL_DIG = 15).
        if (
            len(text) <= 16
            and (text[1:] if text[:1] == "-" else text).replace(".", "", 1).isdigit()
        ):
            double = float(text)
            if not double.is_integer():
                return double
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


def _binary(raw: object) -> str:
    if type(raw) is not str:
        raise DynamoDBJSONError("B value must be a base64 string")
    try:
        binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise DynamoDBJSONError("B value is not base64") from None
    return raw


def _list_of(raw: object, tag: str) -> list[Any]:
    if type(raw) is not list:
        raise DynamoDBJSONError(f"{tag} value must be an array")
    return raw


def _map(attributes: object, depth: int) -> dict[str, PlainValue]:
    if type(attributes) is not dict:
        raise DynamoDBJSONError("expected an object of attribute values")
    plain: dict[str, PlainValue] = {}
    try:
        for name, attribute_value in attributes.items():
            # Fast paths: probing the two commonest tags is cheaper than unpacking items().
            raw = attribute_value.get("S")
            if type(raw) is str and len(attribute_value) == 1:
                plain[name] = raw
                continue
            raw = attribute_value.get("N")
            if (
                type(raw) is str
                and len(attribute_value) == 1
                and len(raw) < 19
                and raw.isdigit()
                and raw.isascii()
            ):
                plain[name] = int(raw)
            else:
                plain[name] = _typed(attribute_value, depth)
    except AttributeError:  # attribute value is not an object
        raise DynamoDBJSONError("attribute value must be an object with one type tag") from None
    return plain


def _list(values: list[Any], depth: int) -> list[PlainValue]:
    plain: list[PlainValue] = []
    append = plain.append
    try:
        for attribute_value in values:
            raw = attribute_value.get("S")
            if type(raw) is str and len(attribute_value) == 1:
                append(raw)
            else:
                append(_typed(attribute_value, depth))
    except AttributeError:
        raise DynamoDBJSONError("list element must be an object with one type tag") from None
    return plain


def _typed(attribute_value: dict[str, Any], depth: int) -> PlainValue:
    try:
        ((tag, raw),) = attribute_value.items()
    except ValueError:
        raise DynamoDBJSONError("attribute value must have exactly one type tag") from None
    if tag == "M" and depth < MAX_NESTING_DEPTH:
        return _map(raw, depth + 1)
    return _value(tag, raw, depth)


def _value(tag: object, raw: object, depth: int) -> PlainValue:  # noqa: PLR0911, PLR0912
    if tag == "S":
        if type(raw) is not str:
            raise DynamoDBJSONError("S value must be a string")
        return raw
    if tag == "N":
        return number(raw)
    if tag == "M":
        if depth >= MAX_NESTING_DEPTH:
            raise DynamoDBJSONError(f"nesting deeper than {MAX_NESTING_DEPTH} levels")
        return _map(raw, depth + 1)
    if tag == "L":
        if depth >= MAX_NESTING_DEPTH:
            raise DynamoDBJSONError(f"nesting deeper than {MAX_NESTING_DEPTH} levels")
        return _list(_list_of(raw, "L"), depth + 1)
    if tag == "BOOL":
        if type(raw) is not bool:
            raise DynamoDBJSONError("BOOL value must be true or false")
        return raw
    if tag == "NULL":
        if raw is not True:
            raise DynamoDBJSONError("NULL value must be true")
        return None
    if tag == "SS":
        strings = _list_of(raw, "SS")
        if any(type(member) is not str for member in strings):
            raise DynamoDBJSONError("SS members must be strings")
        return list(strings)
    if tag == "NS":
        return [number(member) for member in _list_of(raw, "NS")]
    if tag == "B":
        return _binary(raw)
    if tag == "BS":
        return [_binary(member) for member in _list_of(raw, "BS")]
    raise DynamoDBJSONError("unknown type tag")

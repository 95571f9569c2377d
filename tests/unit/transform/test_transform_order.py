"""item_key, event_time_us and change_order: the archive-line fields that group and order."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform_lambda import _json
from transform_lambda.config import Config
from transform_lambda.events import (
    CHANGE_ORDER_DIGITS,
    ChangeSource,
    FirehoseRecord,
    change_order,
    event_time,
    is_sequence_number,
    item_key,
)
from transform_lambda.transform import answer_record

LoadEvent = Callable[[str], dict[str, Any]]

# --- item_key ------------------------------------------------------------------------------------

# N texts as DynamoDB writes them: no leading or trailing zeros, optional sign, fraction, exponent.
_numbers = st.one_of(
    st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(
        lambda d: format(d.normalize(), "f") if d else "0"
    ),
    st.sampled_from(["1E+20", "-1.5E-7", "9.9999999999999999999999999999999999999E+125", "1E-130"]),
)
_base64 = st.binary(max_size=40).filter(bool).map(lambda b: base64.b64encode(b).decode())
_key_values = st.one_of(
    st.text().map(lambda s: {"S": s}),
    _numbers.map(lambda n: {"N": n}),
    _base64.map(lambda b: {"B": b}),
)
_keys = st.dictionaries(st.text(min_size=1), _key_values, min_size=1, max_size=2)


def test_item_key_is_compact_sorted_json_with_numbers_verbatim() -> None:
    # GIVEN a key with a 38-digit number, a binary and a string attribute, names out of order
    keys = {
        "sk": {"N": "12345678901234567890123456789012345678"},
        "pk": {"S": 'Ada "Byron" é\n'},
        "b": {"B": "AAEC/w=="},
        "e": {"N": "-1.5E+20"},
    }
    # WHEN written as item_key THEN names are sorted, numbers keep DynamoDB's text digit for digit
    assert item_key(keys) == (
        '{"b":"AAEC/w==","e":-1.5E+20,"pk":"Ada \\"Byron\\" é\\n",'
        '"sk":12345678901234567890123456789012345678}'
    )


@given(_keys, st.randoms())
def test_item_key_does_not_depend_on_attribute_order(keys: dict[str, Any], random: Any) -> None:
    # GIVEN the same key attributes in another order WHEN written THEN the text is the same
    names = list(keys)
    random.shuffle(names)
    assert item_key({name: keys[name] for name in names}) == item_key(keys)


@given(_keys)
def test_item_key_is_json_holding_the_exact_key(keys: dict[str, Any]) -> None:
    # GIVEN any key DynamoDB can write WHEN written as item_key
    text = item_key(keys)
    # THEN it is JSON whose members are the key's, numbers exact, in sorted order
    parsed = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    assert list(parsed) == sorted(keys)
    for name, typed in keys.items():
        ((tag, raw),) = typed.items()
        assert parsed[name] == (Decimal(raw) if tag == "N" else raw)


@given(_keys)
def test_item_key_is_the_same_bytes_from_orjson_and_json(keys: dict[str, Any]) -> None:
    # GIVEN a key (any Unicode, control characters included) WHEN its line is written by either
    # JSON library THEN the item_key member is the same bytes
    line = {"item_key": item_key(keys)}
    assert orjson.dumps(line) + b"\n" == _json._stdlib_dumps_line(line)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "at least one"),
        ({"pk": {"N": "007"}}, "number"),
        ({"pk": {"N": "1."}}, "number"),
        ({"pk": {"N": ".5"}}, "number"),
        ({"pk": {"N": "+1"}}, "number"),
        ({"pk": {"N": "NaN"}}, "number"),
        ({"pk": {"M": {}}}, "S, N or B"),
        ({"pk": {"BOOL": True}}, "S, N or B"),
        ({"pk": {"N": 7}}, "must be a string"),
        ({"pk": {"S": "a", "N": "1"}}, "one type tag"),
        ({"pk": "a"}, "one type tag"),
    ],
)
def test_item_key_refuses_keys_dynamodb_never_writes(keys: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        item_key(keys)


def _change(load_event: LoadEvent) -> dict[str, Any]:
    change: dict[str, Any] = json.loads(
        base64.b64decode(load_event("firehose_changes.json")["records"][0]["data"])
    )
    return change


def _record(change: object, metadata: object = None) -> FirehoseRecord:
    record: dict[str, Any] = {
        "recordId": "r1",
        "data": base64.b64encode(json.dumps(change).encode()).decode(),
    }
    if metadata is not None:
        record["kinesisRecordMetadata"] = metadata
    return FirehoseRecord(record)


def test_a_key_dynamodb_never_writes_fails_the_record(load_event: LoadEvent) -> None:
    # GIVEN a change record whose key is a number with a leading zero
    change = _change(load_event)
    change["dynamodb"]["Keys"] = {"pk": {"N": "007"}}
    record = _record(change)
    # WHEN answered THEN it is ProcessingFailed with its original data
    answer = answer_record(record, Config())
    assert (answer.result, answer.reason, answer.data) == (
        "ProcessingFailed",
        "bad_attribute_value",
        record.data,
    )


# --- event_time_us and change_order -------------------------------------------------------------

_sequence_numbers = st.one_of(
    st.just("0"), st.integers(min_value=1, max_value=10**129 - 1).map(str)
)
_sources = st.sampled_from([ChangeSource.BACKFILL, ChangeSource.STREAM])
_RANK = {ChangeSource.BACKFILL: 0, ChangeSource.STREAM: 1}


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**17 - 1), _sources, _sequence_numbers),
        min_size=2,
        max_size=10,
    )
)
def test_change_order_text_order_is_the_order_of_time_rank_and_sequence(
    changes: list[tuple[int, ChangeSource, str]],
) -> None:
    # GIVEN changes with any time, source and sequence number
    orders = [change_order(micros, source, seq) for micros, source, seq in changes]
    # THEN each order is exactly 147 digits
    assert all(len(o) == CHANGE_ORDER_DIGITS == 147 and o.isdigit() for o in orders)
    # AND sorting the text sorts by (event_time_us, rank, sequence number), as numbers do
    by_text = sorted(range(len(changes)), key=lambda i: orders[i])
    by_tuple = sorted(
        range(len(changes)),
        key=lambda i: (changes[i][0], _RANK[changes[i][1]], int(changes[i][2])),
    )
    assert [orders[i] for i in by_text] == [orders[i] for i in by_tuple]
    assert sorted(orders) == sorted(orders, key=int)


def test_a_live_change_wins_a_tie_against_a_backfill_image() -> None:
    # GIVEN a backfill image and a live change stamped the same microsecond, the image sent later
    image = change_order(1795687200000000, ChangeSource.BACKFILL, "9" * 129)
    live = change_order(1795687200000000, ChangeSource.STREAM, "1")
    # THEN the live change sorts after the image
    assert live > image


def test_change_order_without_a_sequence_number_is_all_zeros() -> None:
    assert change_order(1, ChangeSource.STREAM, None) == "0" * 16 + "1" + "1" + "0" * 129


_precisions = st.sampled_from([10**6, 10**3, 1])  # divisor from µs to s, ms, µs


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=10**14, max_value=10**17 - 1),  # instants 1973-2286, in µs
            _precisions,
        ),
        min_size=2,
        max_size=10,
    )
)
def test_mixed_precision_times_sort_by_the_instant_they_stand_for(
    stamps: list[tuple[int, int]],
) -> None:
    # GIVEN instants written as ApproximateCreationDateTime in seconds, milliseconds or µs
    written = [(micros // divisor, micros // divisor * divisor) for micros, divisor in stamps]
    # WHEN read by the transform THEN event_time_us is the written instant in µs
    assert [event_time(epoch).micros for epoch, _ in written] == [m for _, m in written]
    # AND change_order sorts them as those instants (text order, whatever the precision)
    orders = [
        change_order(event_time(epoch).micros, ChangeSource.STREAM, None) for epoch, _ in written
    ]
    assert [int(o[:17]) for o in sorted(orders)] == sorted(m for _, m in written)


def test_a_whole_second_sorts_before_half_a_second_later() -> None:
    # GIVEN "…:00Z" (seconds) and "…:00.500Z" (milliseconds): as event_time text they sort wrongly
    seconds, millis = event_time(1795687200), event_time(1795687200500)
    assert seconds.iso > millis.iso
    # THEN as change_order they sort right
    assert change_order(seconds.micros, ChangeSource.STREAM, None) < change_order(
        millis.micros, ChangeSource.STREAM, None
    )


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("0", True),
        ("1", True),
        ("9" * 129, True),
        ("49645308972123318188123476578954098209478267123456780000", True),
        ("1" + "0" * 129, False),  # 130 digits
        ("01", False),
        ("", False),
        ("-1", False),
        ("١٢", False),  # Unicode digits are not Kinesis digits
        ("12a", False),
    ],
)
def test_sequence_numbers_follow_kinesis_pattern(text: str, valid: bool) -> None:
    assert is_sequence_number(text) is valid


@pytest.mark.parametrize("sequence_number", ["abc", "1" * 130, "007", -5, ""])
def test_a_record_with_a_bad_sequence_number_fails(
    load_event: LoadEvent, sequence_number: object
) -> None:
    # GIVEN a change whose Firehose metadata holds a sequence number Kinesis never writes
    record = _record(_change(load_event), {"sequenceNumber": sequence_number, "shardId": "s"})
    # WHEN answered THEN it is ProcessingFailed (its change_order could not be written)
    answer = answer_record(record, Config())
    assert (answer.result, answer.reason) == ("ProcessingFailed", "bad_record_metadata")

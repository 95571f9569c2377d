"""Record → answer: archive line fields, filters, bad records, time precision, response limit."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform_lambda.config import Config, ConfigError, load_config
from transform_lambda.events import FirehoseEvent, FirehoseRecord, event_time
from transform_lambda.transform import (
    RecordAnswer,
    answer_record,
    fit_response,
    response_size,
    transform_batch,
)

LoadEvent = Callable[[str], dict[str, Any]]


def _line(answer: RecordAnswer) -> dict[str, Any]:
    text = base64.b64decode(answer.data).decode("utf-8")
    assert text.endswith("\n")
    assert text.count("\n") == 1
    line: dict[str, Any] = json.loads(text)
    return line


def test_changes_become_archive_lines(load_event: LoadEvent) -> None:
    # GIVEN INSERT, MODIFY, TTL REMOVE and user REMOVE records as Firehose sends them
    event = FirehoseEvent(load_event("firehose_changes.json"))
    # WHEN transformed
    outcome = transform_batch(event, Config())
    insert, modify, ttl, delete = (_line(a) for a in outcome.answers)
    # THEN each is Ok with one plain-JSON line carrying the documented fields
    assert [a.result for a in outcome.answers] == ["Ok"] * 4
    assert list(insert) == [
        "event_id", "event_name", "table_name", "event_time", "keys", "new_image", "old_image",
        "is_ttl_delete", "change_source", "sequence_number", "shard_id", "aws_region", "size_bytes",
        "item_key", "event_time_us", "change_order",
    ]  # fmt: skip
    assert insert["event_time"] == "2026-11-26T10:00:00.123456Z"  # µs precision kept
    assert modify["event_time"] == "2026-11-26T10:01:00.123Z"  # ms precision kept
    assert insert["keys"] == {"pk": "CUSTOMER#42", "sk": "PROFILE"}
    assert insert["old_image"] is None
    assert delete["new_image"] is None
    assert insert["new_image"]["ledger"] == "123456789012345678901234567890"
    assert insert["new_image"]["balance"] == 1024.5
    assert insert["new_image"]["address"] == {
        "city": "London",
        "geo": {"lat": 51.5072, "lon": -0.1276},
    }
    assert modify["old_image"] == {
        "pk": "CUSTOMER#42",
        "sk": "PROFILE",
        "name": "Ada Byron",
        "age": 35,
    }
    assert (ttl["is_ttl_delete"], delete["is_ttl_delete"], insert["is_ttl_delete"]) == (
        True,
        False,
        False,
    )
    assert insert["change_source"] == "stream"
    assert insert["shard_id"] == "shardId-000000000002"
    assert insert["sequence_number"].startswith("4964530897")
    assert (insert["aws_region"], insert["size_bytes"]) == ("eu-west-1", 412)
    # AND the fields that group and order an item's changes
    assert insert["item_key"] == '{"pk":"CUSTOMER#42","sk":"PROFILE"}'
    assert (insert["event_time_us"], modify["event_time_us"]) == (
        1795687200123456,
        1795687260123000,
    )
    assert insert["change_order"] == (
        "01795687200123456" + "1" + insert["sequence_number"].rjust(129, "0")
    )
    # AND partition keys for dynamic partitioning, by the change's UTC date
    wire = outcome.response()["records"][0]
    assert wire["metadata"] == {
        "partitionKeys": {"table_name": "customers", "event_date": "2026-11-26"}
    }
    assert wire["recordId"] == event.raw_records[0]["recordId"]


def test_backfill_records_are_marked(load_event: LoadEvent) -> None:
    # GIVEN a record the CLI's backfill wrote WHEN transformed THEN change_source is "backfill"
    outcome = transform_batch(FirehoseEvent(load_event("firehose_backfill.json")), Config())
    assert _line(outcome.answers[0])["change_source"] == "backfill"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (Config(), ["Ok", "Ok", "Ok", "Ok"]),
        (Config(event_names=frozenset({"INSERT"})), ["Ok", "Dropped", "Dropped", "Dropped"]),
        (Config(event_names=frozenset({"REMOVE"})), ["Dropped", "Dropped", "Ok", "Ok"]),
        (Config(table_names=frozenset({"orders"})), ["Dropped"] * 4),
        (Config(table_names=frozenset({"customers"})), ["Ok"] * 4),
    ],
)
def test_filters_drop_with_empty_data(
    load_event: LoadEvent, config: Config, expected: list[str]
) -> None:
    # GIVEN a configuration filter WHEN the batch is transformed
    outcome = transform_batch(FirehoseEvent(load_event("firehose_changes.json")), config)
    # THEN filtered changes are Dropped with empty data (LocalStack writes data whatever the result)
    assert [a.result for a in outcome.answers] == expected
    assert all(a.data == "" for a in outcome.answers if a.result == "Dropped")


def test_bad_records_fail_alone_with_original_bytes(load_event: LoadEvent) -> None:
    # GIVEN not-base64, not-UTF-8, broken JSON, a JSON array, an unknown tag, a bad eventName
    # and one good record
    event = load_event("firehose_bad_records.json")
    # WHEN transformed
    outcome = transform_batch(FirehoseEvent(event), Config())
    # THEN each bad one is ProcessingFailed carrying its original data; the good one is Ok
    results = [(a.result, a.reason) for a in outcome.answers]
    assert results == [
        ("ProcessingFailed", "not_base64"),
        ("ProcessingFailed", "not_utf8_json"),
        ("ProcessingFailed", "not_utf8_json"),
        ("ProcessingFailed", "not_change_record"),
        ("ProcessingFailed", "bad_attribute_value"),
        ("ProcessingFailed", "not_change_record"),
        ("Ok", None),
    ]
    for answer, record in zip(outcome.answers[:-1], event["records"], strict=False):
        assert answer.data == record["data"]
        assert answer.record_id == record["recordId"]


@pytest.mark.parametrize("excess", ["=", "==", "===="])
def test_record_data_with_excess_padding_fails_on_every_python(
    load_event: LoadEvent, excess: str
) -> None:
    # GIVEN a good change record whose base64 has padding after its last complete group
    event = load_event("firehose_changes.json")
    record = dict(event["records"][0])
    data = base64.b64encode(base64.b64decode(record["data"])[:-1] or b"{}")
    data = data.rstrip(b"=")
    data += b"A" * (-len(data) % 4)  # a complete final group: any "=" after it is excess
    record["data"] = data.decode() + excess
    # WHEN transformed (Python 3.11 and 3.12 decode such text; 3.13, the Lambda runtime, does not)
    outcome = transform_batch(FirehoseEvent({**event, "records": [record]}), Config())
    # THEN the answer is the same everywhere: not base64, original data kept
    assert [(a.result, a.reason, a.data) for a in outcome.answers] == [
        ("ProcessingFailed", "not_base64", record["data"])
    ]


def _record(change: object) -> FirehoseRecord:
    data = base64.b64encode(json.dumps(change).encode()).decode()
    return FirehoseRecord({"recordId": "r1", "data": data})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.pop("tableName"),
        lambda c: c.pop("dynamodb"),
        lambda c: c.pop("eventID"),
        lambda c: c["dynamodb"].pop("Keys"),
        lambda c: c["dynamodb"].pop("ApproximateCreationDateTime"),
        lambda c: c["dynamodb"].__setitem__("ApproximateCreationDateTime", "yesterday"),
        lambda c: c["dynamodb"].__setitem__("ApproximateCreationDateTime", 10**18),
        lambda c: c["dynamodb"].__setitem__("SizeBytes", "big"),
        lambda c: c.__setitem__("eventSource", "aws:somewhere"),
        lambda c: c.__setitem__("recordFormat", "application/xml"),
        lambda c: c.__setitem__("awsRegion", 5),
    ],
)
def test_records_that_are_not_change_records_fail(
    load_event: LoadEvent, mutate: Callable[[dict[str, Any]], object]
) -> None:
    # GIVEN a change record with one required part missing or wrong
    change = json.loads(base64.b64decode(load_event("firehose_changes.json")["records"][0]["data"]))
    mutate(change)
    record = _record(change)
    # WHEN answered THEN it is ProcessingFailed with the original data
    answer = answer_record(record, Config())
    assert (answer.result, answer.data) == ("ProcessingFailed", record.data)


def test_record_without_data_fails_with_empty_data() -> None:
    answer = answer_record(FirehoseRecord({"recordId": "r1"}), Config())
    assert (answer.result, answer.data, answer.reason) == ("ProcessingFailed", "", "no_data")


@pytest.mark.parametrize(
    ("epoch", "iso", "date"),
    [
        (1795687200, "2026-11-26T10:00:00Z", "2026-11-26"),  # LocalStack: whole seconds
        (1795687200.0, "2026-11-26T10:00:00Z", "2026-11-26"),
        (1795687200007, "2026-11-26T10:00:00.007Z", "2026-11-26"),  # MILLISECOND precision
        (1795687200000007, "2026-11-26T10:00:00.000007Z", "2026-11-26"),  # MICROSECOND
        (1795737599999999, "2026-11-26T23:59:59.999999Z", "2026-11-26"),
    ],
)
def test_event_time_keeps_source_precision(epoch: object, iso: str, date: str) -> None:
    assert event_time(epoch)[:2] == (iso, date)


@given(st.integers(min_value=0, max_value=10**17 - 1))
def test_event_time_agrees_with_gmtime(epoch: int) -> None:
    # GIVEN any accepted epoch (s, ms or µs) WHEN formatted THEN date and time are gmtime's
    import time  # noqa: PLC0415

    seconds = epoch if epoch < 10**11 else epoch // 1000 if epoch < 10**14 else epoch // 10**6
    iso, date, micros = event_time(epoch)
    assert micros // 10**6 == seconds
    assert date == time.strftime("%Y-%m-%d", time.gmtime(seconds))
    assert iso.startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))


@pytest.mark.parametrize("epoch", [-1, 10**17, 1.5, True, None, "1795687200"])
def test_event_time_rejects_non_epochs(epoch: object) -> None:
    with pytest.raises(ValueError, match="epoch"):
        event_time(epoch)


# --- 6 MB response limit ------------------------------------------------------------------------


def test_response_size_is_the_serialised_size(load_event: LoadEvent) -> None:
    # GIVEN answers of every kind WHEN sized THEN the count equals json.dumps' output exactly
    for name in ("firehose_changes.json", "firehose_bad_records.json", "firehose_localstack.json"):
        outcome = transform_batch(FirehoseEvent(load_event(name)), Config())
        assert outcome.response_bytes == len(json.dumps(outcome.response()))


def test_answers_that_do_not_fit_turn_into_failures_from_the_end(load_event: LoadEvent) -> None:
    # GIVEN a batch whose Ok answers are larger than the originals and a limit between the two
    event = load_event("firehose_changes.json")
    full = transform_batch(FirehoseEvent(event), Config())
    originals = [r["data"] for r in event["records"]]
    failed_size = response_size(
        [
            RecordAnswer(a.record_id, "ProcessingFailed", o)
            for a, o in zip(full.answers, originals, strict=True)
        ]
    )
    assert failed_size < full.response_bytes
    limit = (failed_size + full.response_bytes) // 2
    # WHEN the batch is transformed under that limit
    outcome = transform_batch(FirehoseEvent(event), Config(), limit=limit)
    # THEN the response fits, earlier answers stay Ok and later ones carry the original data
    assert outcome.response_bytes == len(json.dumps(outcome.response())) <= limit
    turned = [a for a in outcome.answers if a.reason == "response_limit"]
    assert len(turned) == outcome.turned_for_size >= 1
    assert [a.data for a in turned] == originals[len(originals) - len(turned) :]
    results = [a.result for a in outcome.answers]
    assert results == ["Ok"] * (len(results) - len(turned)) + ["ProcessingFailed"] * len(turned)


def test_maximal_batch_fits_in_6_mib() -> None:
    # GIVEN a realistic batch as large as Firehose can send (6 MiB request)
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    sys.path.insert(0, str(Path(__file__).parents[3] / "bench"))
    from change_batch import maximal_event  # noqa: PLC0415

    outcome = transform_batch(FirehoseEvent(maximal_event(max_bytes=6 * 1024 * 1024)), Config())
    # WHEN answered THEN every record is answered and the response is within Lambda's limit
    assert outcome.response_bytes == len(json.dumps(outcome.response()))
    assert outcome.response_bytes <= 6 * 1024 * 1024
    assert outcome.counts()["Ok"] == len(outcome.answers)


def test_fit_response_turns_nothing_when_it_fits() -> None:
    answers = [RecordAnswer("a", "Ok", "QQ==", table_name="t", event_date="2026-01-01")]
    assert fit_response(answers, ["QQ=="], limit=10_000) == 0


# --- configuration ------------------------------------------------------------------------------


def test_config_defaults() -> None:
    config = load_config({})
    assert config.event_names == {"INSERT", "MODIFY", "REMOVE"}
    assert config.table_names == frozenset()
    assert config.log_level == "INFO"


def test_config_parses_lists() -> None:
    config = load_config(
        {"ARCHIVE_EVENT_NAMES": " insert, REMOVE ", "ARCHIVE_TABLE_NAMES": "orders,customers",
         "LOG_LEVEL": "debug"}
    )  # fmt: skip
    assert config.event_names == {"INSERT", "REMOVE"}
    assert config.table_names == {"orders", "customers"}
    assert config.log_level == "DEBUG"


def test_config_errors_name_every_problem() -> None:
    # GIVEN three invalid settings WHEN loaded THEN one clear error names all three
    with pytest.raises(ConfigError) as error:
        load_config({"ARCHIVE_EVENT_NAMES": "INSERT,UPSERT", "ARCHIVE_TABLE_NAMES": "a b",
                     "LOG_LEVEL": "LOUD"})  # fmt: skip
    message = str(error.value)
    assert "UPSERT" in message
    assert "'a b'" in message
    assert "LOUD" in message


# --- properties ----------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
            st.text(max_size=50),
            _json_values.map(lambda v: base64.b64encode(json.dumps(v).encode()).decode()),
        ),
        max_size=8,
    )
)
def test_arbitrary_data_never_raises_and_keeps_the_contract(datas: list[str]) -> None:
    # GIVEN records carrying arbitrary bytes, text or JSON
    event = {"records": [{"recordId": f"r{i}", "data": d} for i, d in enumerate(datas)]}
    # WHEN the batch is transformed
    outcome = transform_batch(FirehoseEvent(event), Config())
    # THEN every record is answered once, in order; failures keep their original data
    response = outcome.response()["records"]
    assert [r["recordId"] for r in response] == [f"r{i}" for i in range(len(datas))]
    for wire, data in zip(response, datas, strict=True):
        assert wire["result"] in ("Ok", "Dropped", "ProcessingFailed")
        if wire["result"] == "ProcessingFailed":
            assert wire["data"] == data
    assert outcome.response_bytes == len(json.dumps(outcome.response()))


def test_record_data_with_non_ascii_text_is_not_base64(load_event: LoadEvent) -> None:
    # GIVEN a record whose data is text with a non-ASCII character (a2b_base64 alone raises a plain
    # ValueError for it, which would have made it an internal error)
    event = load_event("firehose_changes.json")
    record = dict(event["records"][0], data="é" + event["records"][0]["data"][1:])
    # WHEN transformed
    outcome = transform_batch(FirehoseEvent({**event, "records": [record]}), Config())
    # THEN it is answered not_base64 with its original data
    assert [(a.result, a.reason, a.data) for a in outcome.answers] == [
        ("ProcessingFailed", "not_base64", record["data"])
    ]

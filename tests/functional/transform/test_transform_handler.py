"""The Lambda handler end to end: AWS and LocalStack events, logs, configuration errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest

from transform_lambda import config as config_module
from transform_lambda.config import ConfigError
from transform_lambda.handler import lambda_handler
from transform_lambda.transform import ResponseLimitError

LoadEvent = Callable[[str], dict[str, Any]]


@pytest.fixture(autouse=True)
def fresh_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("ARCHIVE_EVENT_NAMES", "ARCHIVE_TABLE_NAMES", "LOG_LEVEL", "METRICS_NAMESPACE",
                 "METRICS_DIMENSIONS", "AWS_LAMBDA_FUNCTION_NAME"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    config_module.get_config.cache_clear()
    yield
    config_module.get_config.cache_clear()


def _assert_valid_emf(line: dict[str, Any], load_event: LoadEvent) -> None:
    """The EMF specification's schema (tests/events/emf_schema.json) and its reference rule: every
    dimension names a root string member, every metric a root number."""
    jsonschema.validate(line, load_event("emf_schema.json"))
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert all(type(line[name]) is str for names in directive["Dimensions"] for name in names)
    assert all(type(line[metric["Name"]]) is int for metric in directive["Metrics"])


def _logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_handler_answers_aws_event_and_logs_a_summary(
    load_event: LoadEvent, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an AWS-shaped Firehose event with four changes, in a function Lambda named
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "change-archive-transform")
    event = load_event("firehose_changes.json")
    # WHEN the handler runs
    response = lambda_handler(event, None)
    # THEN every record is answered Ok, in order, with its recordId
    assert [r["recordId"] for r in response["records"]] == [r["recordId"] for r in event["records"]]
    assert {r["result"] for r in response["records"]} == {"Ok"}
    # AND one JSON summary line is logged, without payload content
    (summary,) = _logs(capsys)
    assert summary["message"] == "transform summary"
    assert (
        summary["Records"],
        summary["Ok"],
        summary["Dropped"],
        summary["ProcessingFailed"],
        summary["TurnedForResponseLimit"],
    ) == (4, 4, 0, 0, 0)
    assert summary["BytesIn"] == sum(len(r["data"]) for r in event["records"])
    assert summary["BytesOut"] == sum(len(r["data"]) for r in response["records"])
    assert summary["response_bytes"] == len(json.dumps(response))
    # AND it is an EMF document: the counts become metrics of the stream and the function
    _assert_valid_emf(summary, load_event)
    (directive,) = summary["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "DynamoDBChangeArchive"
    assert directive["Dimensions"] == [["DeliveryStreamName", "FunctionName"]]
    assert (summary["DeliveryStreamName"], summary["FunctionName"]) == (
        "change-archive-delivery",
        "change-archive-transform",
    )
    assert summary["duration_ms"] >= 0
    assert "Ada" not in json.dumps(summary)


def test_localstack_event_without_record_ids(
    load_event: LoadEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN LocalStack 4.14's event (no recordId, whole-second timestamps, made-up metadata as its
    # firehose/provider.py writes it) and a table filter
    monkeypatch.setenv("ARCHIVE_TABLE_NAMES", "change-archive-table")
    event = load_event("firehose_localstack.json")
    # WHEN the handler runs
    response = lambda_handler(event, None)
    # THEN it answers what it was given: no recordId, Ok line, Dropped with empty data
    ok, dropped = response["records"]
    assert "recordId" not in ok
    assert "recordId" not in dropped
    assert (ok["result"], dropped["result"], dropped["data"]) == ("Ok", "Dropped", "")
    line = json.loads(base64.b64decode(ok["data"]))
    assert line["event_time"] == "2026-11-26T10:00:00Z"
    # AND LocalStack's made-up integer sequenceNumber goes out as its string
    assert line["sequence_number"] == "49600000000000000000000000000000000000000000000000000002"
    assert ok["metadata"]["partitionKeys"] == {
        "table_name": "change-archive-table",
        "event_date": "2026-11-26",
    }


def test_failures_are_logged_per_record_without_payload(
    load_event: LoadEvent, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a batch with six bad records WHEN handled
    lambda_handler(load_event("firehose_bad_records.json"), None)
    logs = _logs(capsys)
    # THEN six warning lines name index, recordId and a reason code, and the summary counts them
    failures = [line for line in logs if line["level"] == "WARNING"]
    assert [f["record_index"] for f in failures] == [0, 1, 2, 3, 4, 5]
    assert all(f["reason"] and f["record_id"] for f in failures)
    assert logs[-1]["ProcessingFailed"] == 6
    assert "Ada" not in json.dumps(logs)
    assert "Lovelace" not in json.dumps(logs)


def test_invalid_configuration_fails_the_invocation_clearly(
    load_event: LoadEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an unknown event name in the environment WHEN invoked THEN a clear error is raised
    monkeypatch.setenv("ARCHIVE_EVENT_NAMES", "INSERT,UPSERT")
    with pytest.raises(ConfigError, match=r"ARCHIVE_EVENT_NAMES.*UPSERT"):
        lambda_handler(load_event("firehose_changes.json"), None)


def test_event_without_records_is_refused() -> None:
    with pytest.raises(ValueError, match="records"):
        lambda_handler({"invocationId": "x"}, None)


def test_empty_batch_gets_empty_answer() -> None:
    assert lambda_handler({"records": []}, None) == {"records": []}


def test_metrics_settings_shape_the_summary(
    load_event: LoadEvent, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a namespace of the operator's and no dimensions
    monkeypatch.setenv("METRICS_NAMESPACE", "Orders/Archive")
    monkeypatch.setenv("METRICS_DIMENSIONS", "")
    # WHEN LocalStack's event (no deliveryStreamArn) is handled
    lambda_handler(load_event("firehose_localstack.json"), None)
    (summary,) = _logs(capsys)
    # THEN the metrics go to that namespace with the empty dimension set
    _assert_valid_emf(summary, load_event)
    (directive,) = summary["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("Orders/Archive", [[]])
    assert "DeliveryStreamName" not in summary
    assert "FunctionName" not in summary


def test_bad_metrics_setting_fails_the_invocation_clearly(
    load_event: LoadEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_DIMENSIONS", "TableName")
    with pytest.raises(ConfigError, match=r"METRICS_DIMENSIONS.*'TableName'"):
        lambda_handler(load_event("firehose_changes.json"), None)


def test_a_response_over_6_mib_is_never_returned(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a 6 MiB request Firehose cannot send: records of only recordId and data (no arrival
    # time, no metadata), each answered ProcessingFailed with a larger answer than its record
    record = {"recordId": "1", "data": "e30="}
    count = (6 * 1024 * 1024 - len('{"records":[]}')) // (len(json.dumps(record)) + 1)
    event = {"invocationId": "i", "records": [dict(record) for _ in range(count)]}
    # WHEN handled THEN the invocation fails (Firehose retries, then writes the batch's original
    # records under processing-failed/) with one ERROR line naming the sizes
    with pytest.raises(ResponseLimitError):
        lambda_handler(event, None)
    (error,) = [line for line in _logs(capsys) if line["level"] == "ERROR"]
    assert error["invocation_id"] == "i"
    assert "limit is 6291456 bytes" in error["detail"]

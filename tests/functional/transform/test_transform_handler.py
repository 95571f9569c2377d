"""The Lambda handler end to end: AWS and LocalStack events, logs, configuration errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from transform_lambda import config as config_module
from transform_lambda.config import ConfigError
from transform_lambda.handler import lambda_handler

LoadEvent = Callable[[str], dict[str, Any]]


@pytest.fixture(autouse=True)
def fresh_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("ARCHIVE_EVENT_NAMES", "ARCHIVE_TABLE_NAMES", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    config_module.get_config.cache_clear()
    yield
    config_module.get_config.cache_clear()


def _logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_handler_answers_aws_event_and_logs_a_summary(
    load_event: LoadEvent, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an AWS-shaped Firehose event with four changes
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
        summary["records"],
        summary["ok"],
        summary["dropped"],
        summary["processing_failed"],
    ) == (4, 4, 0, 0)
    assert summary["bytes_in"] == sum(len(r["data"]) for r in event["records"])
    assert summary["response_bytes"] == len(json.dumps(response))
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
    assert logs[-1]["processing_failed"] == 6
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

"""The summary line as an Embedded Metric Format document, and its configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform_lambda.config import (
    DEFAULT_METRICS_NAMESPACE,
    METRICS_DIMENSIONS,
    ConfigError,
    load_config,
)
from transform_lambda.events import FirehoseEvent
from transform_lambda.structured_log import METRIC_UNITS, embedded_metrics

# The EMF specification's constraints (CloudWatch User Guide, "Specification: Embedded metric
# format"): its published JSON schema plus the limits its text adds (tests/events/emf_schema.json).
EMF_SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "events" / "emf_schema.json").read_text(encoding="utf-8")
)


def assert_valid_emf(document: dict[str, Any]) -> None:
    """The schema, then the rules the schema cannot say: every reference names a root member; a
    metric target is a number (or up to 100 numbers), a dimension target a non-empty string."""
    jsonschema.validate(document, EMF_SCHEMA)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                value = document[name]
                assert isinstance(value, str)
                assert 1 <= len(value) <= 1024
                assert value.strip()
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert len(values) <= 100
            assert all(type(v) in (int, float) for v in values)


_VALUES = {
    "Records": 7,
    "Ok": 4,
    "Dropped": 1,
    "ProcessingFailed": 2,
    "TurnedForResponseLimit": 1,
    "BytesIn": 1000,
    "BytesOut": 1200,
}


def test_summary_metrics_are_a_valid_emf_document() -> None:
    # GIVEN counts, both dimensions and a namespace WHEN the EMF members are built
    document = embedded_metrics(
        namespace="DynamoDBChangeArchive",
        dimensions={"DeliveryStreamName": "change-archive-delivery", "FunctionName": "fn"},
        values=_VALUES,
        timestamp_ms=1795687200123,
    )
    # THEN they form a valid EMF document publishing every count with its unit
    assert_valid_emf(document)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive == {
        "Namespace": "DynamoDBChangeArchive",
        "Dimensions": [["DeliveryStreamName", "FunctionName"]],
        "Metrics": [
            {"Name": "Records", "Unit": "Count"},
            {"Name": "Ok", "Unit": "Count"},
            {"Name": "Dropped", "Unit": "Count"},
            {"Name": "ProcessingFailed", "Unit": "Count"},
            {"Name": "TurnedForResponseLimit", "Unit": "Count"},
            {"Name": "BytesIn", "Unit": "Bytes"},
            {"Name": "BytesOut", "Unit": "Bytes"},
        ],
    }
    assert document["_aws"]["Timestamp"] == 1795687200123
    assert {name: document[name] for name in _VALUES} == _VALUES
    assert (document["DeliveryStreamName"], document["FunctionName"]) == (
        "change-archive-delivery",
        "fn",
    )


@pytest.mark.parametrize(
    ("dimensions", "expected"),
    [
        ({}, [[]]),  # METRICS_DIMENSIONS="": one metric per name, no dimension
        ({"FunctionName": "fn"}, [["FunctionName"]]),
        ({"DeliveryStreamName": None, "FunctionName": "fn"}, [["FunctionName"]]),  # LocalStack
        ({"DeliveryStreamName": None, "FunctionName": None}, [[]]),
    ],
)
def test_dimensions_without_a_value_are_left_out(
    dimensions: dict[str, str | None], expected: list[list[str]]
) -> None:
    # GIVEN configured dimensions, some without a value WHEN the EMF members are built
    document = embedded_metrics(
        namespace="N", dimensions=dimensions, values=_VALUES, timestamp_ms=0
    )
    # THEN only those with a value are dimensions (no empty-string dimension), and it stays valid
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == expected
    assert "DeliveryStreamName" not in document or dimensions.get("DeliveryStreamName")
    assert_valid_emf(document)


def test_the_schema_check_catches_a_broken_document() -> None:
    # GIVEN documents that break the specification THEN the check refuses each
    good = embedded_metrics(
        namespace="N", dimensions={"FunctionName": "fn"}, values=_VALUES, timestamp_ms=0
    )
    no_target = json.loads(json.dumps(good))
    del no_target["Ok"]
    bad_unit = json.loads(json.dumps(good))
    bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Records"
    text_metric = json.loads(json.dumps(good))
    text_metric["Ok"] = "4"
    no_dimension_sets = json.loads(json.dumps(good))
    no_dimension_sets["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = []
    for broken in (no_target, bad_unit, text_metric, no_dimension_sets):
        with pytest.raises((AssertionError, KeyError, jsonschema.ValidationError)):
            assert_valid_emf(broken)


def test_metric_names_and_units_are_the_documented_ones() -> None:
    assert list(METRIC_UNITS) == list(_VALUES)
    assert set(METRIC_UNITS.values()) == {"Count", "Bytes"}


# --- configuration ------------------------------------------------------------------------------


def test_metrics_config_defaults() -> None:
    config = load_config({"AWS_LAMBDA_FUNCTION_NAME": "change-archive-transform"})
    assert config.metrics_namespace == DEFAULT_METRICS_NAMESPACE == "DynamoDBChangeArchive"
    assert config.metrics_dimensions == METRICS_DIMENSIONS == ("DeliveryStreamName", "FunctionName")
    assert config.function_name == "change-archive-transform"
    assert load_config({"METRICS_NAMESPACE": ""}).metrics_namespace == "DynamoDBChangeArchive"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        (" ", ()),
        ("FunctionName", ("FunctionName",)),
        (" FunctionName , DeliveryStreamName ", ("FunctionName", "DeliveryStreamName")),
        ("FunctionName,FunctionName", ("FunctionName",)),
    ],
)
def test_metrics_dimensions_are_a_comma_list(text: str, expected: tuple[str, ...]) -> None:
    assert load_config({"METRICS_DIMENSIONS": text}).metrics_dimensions == expected


@pytest.mark.parametrize(
    "namespace",
    ["Orders/Archive", "My App #1: change-archive_v2.x", "a", "x" * 255],
)
def test_cloudwatch_namespaces_are_accepted(namespace: str) -> None:
    assert load_config({"METRICS_NAMESPACE": namespace}).metrics_namespace == namespace


@pytest.mark.parametrize(
    "namespace", ["AWS/Lambda", ":x", "   ", "x" * 256, "café", "a\tb", "a,b", "a*b"]
)
def test_bad_namespaces_fail_with_one_clear_error(namespace: str) -> None:
    with pytest.raises(ConfigError, match=r"^invalid transform configuration: METRICS_NAMESPACE"):
        load_config({"METRICS_NAMESPACE": namespace})


def test_unknown_dimension_and_bad_namespace_are_both_named() -> None:
    # GIVEN two bad metric settings WHEN loaded THEN one error names both
    with pytest.raises(ConfigError) as error:
        load_config({"METRICS_NAMESPACE": "AWS/X", "METRICS_DIMENSIONS": "FunctionName,Table"})
    message = str(error.value)
    assert "METRICS_NAMESPACE: 'AWS/X'" in message
    assert "METRICS_DIMENSIONS: unknown dimension(s) 'Table'" in message
    assert "\n" not in message


@given(st.text(max_size=300))
def test_any_namespace_is_accepted_only_when_cloudwatch_accepts_it(namespace: str) -> None:
    # GIVEN any text WHEN used as namespace THEN it is refused exactly when it breaks a rule
    allowed = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._/#: -")
    valid = (
        namespace == ""  # unset or empty: the default
        or (
            len(namespace) <= 255
            and set(namespace) <= allowed
            and namespace.strip(" ") != ""
            and not namespace.startswith((":", "AWS/"))
        )
    )
    try:
        load_config({"METRICS_NAMESPACE": namespace})
    except ConfigError:
        assert not valid
    else:
        assert valid


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:firehose:eu-west-1:123456789012:deliverystream/change-archive-delivery",
         "change-archive-delivery"),
        ("arn:aws-cn:firehose:cn-north-1:123456789012:deliverystream/d", "d"),
        ("arn:aws:firehose:eu-west-1:123456789012:deliverystream/", None),
        ("not an arn", None),
        (None, None),
    ],
)  # fmt: skip
def test_delivery_stream_name_comes_from_the_arn(arn: str | None, name: str | None) -> None:
    event = FirehoseEvent({"records": []} if arn is None else {"deliveryStreamArn": arn})
    assert event.delivery_stream_name == name

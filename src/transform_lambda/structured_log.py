"""Structured JSON log lines through the standard ``logging`` module.

One line per invocation (the summary) and one per failed record; never any payload content (it is
customer data). The logger writes its own JSON lines to stdout (CloudWatch Logs) and does not
propagate, so the Lambda runtime's root handler does not print them twice.

The summary line is also an Embedded Metric Format document (:func:`embedded_metrics`): CloudWatch
Logs extracts its counts as metrics, with no API call ("Writing JSON to standard out in the embedded
metric format is sufficient" on Lambda; CloudWatch User Guide, Specification: Embedded metric
format).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

LOGGER_NAME: Final = "transform_lambda"

# The summary's metrics and their CloudWatch units, in the order they are published.
METRIC_UNITS: Final[Mapping[str, str]] = {
    "Records": "Count",
    "Ok": "Count",
    "Dropped": "Count",
    "ProcessingFailed": "Count",
    "TurnedForResponseLimit": "Count",
    "BytesIn": "Bytes",
    "BytesOut": "Bytes",
}


def embedded_metrics(
    *,
    namespace: str,
    dimensions: Mapping[str, str | None],
    values: Mapping[str, int],
    timestamp_ms: int,
) -> dict[str, Any]:
    """The members that make a log line an EMF document publishing ``values`` in ``namespace``.

    ``dimensions`` maps each configured dimension name to its value; one without a value (e.g. no
    ``deliveryStreamArn``, as on LocalStack) is left out of this line's dimension set rather than
    published as an empty string, which CloudWatch refuses. No dimension at all gives the empty
    DimensionSet ``[[]]`` ("A DimensionSet MAY be empty").
    """
    present = {name: value for name, value in dimensions.items() if value}
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(present)],
                    "Metrics": [{"Name": name, "Unit": METRIC_UNITS[name]} for name in values],
                }
            ],
        },
        **present,
        **values,
    }


class JsonFormatter(logging.Formatter):
    """``{"timestamp", "level", "logger", "message", **fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        return json.dumps(line, default=str, separators=(",", ":"))


class StdoutHandler(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at the time (the runtime's, or a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:  # logging must never fail the invocation
            self.handleError(record)


@cache
def get_logger(level: str) -> logging.Logger:
    """The package logger at ``level``, set up once per execution environment."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(level)
    return logger

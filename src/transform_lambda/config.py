"""Function configuration, read from the environment once per execution environment.

- ``ARCHIVE_EVENT_NAMES``: comma list of INSERT, MODIFY, REMOVE to archive (unset/empty: all three);
  changes of other kinds are answered ``Dropped``.
- ``ARCHIVE_TABLE_NAMES``: comma list of table names to archive (unset/empty: every table); changes
  of other tables are answered ``Dropped``.
- ``LOG_LEVEL``: DEBUG, INFO, WARNING or ERROR (default INFO).
- ``METRICS_NAMESPACE``: CloudWatch namespace of the summary line's embedded metrics (unset/empty:
  ``DynamoDBChangeArchive``).
- ``METRICS_DIMENSIONS``: comma list of ``DeliveryStreamName``, ``FunctionName`` (unset: both; set
  but empty: no dimensions).
- ``AWS_LAMBDA_FUNCTION_NAME`` (set by Lambda): the ``FunctionName`` dimension's value.

Nothing is read at import: :func:`get_config` validates on the first invocation and caches the
result; a bad value raises :class:`ConfigError` naming every problem, so the invocation fails loudly
instead of archiving with a wrong filter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Final

from transform_lambda.events import EventName

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LOG_LEVEL: Final = "INFO"

DEFAULT_METRICS_NAMESPACE: Final = "DynamoDBChangeArchive"
METRICS_DIMENSIONS: Final = ("DeliveryStreamName", "FunctionName")

# CloudWatch namespaces: 1-255 of 0-9 A-Z a-z . - _ / # : and space, at least one non-space, not
# starting with ":" (PutMetricData pattern [^:].*) or "AWS/" (reserved). CloudWatch User Guide,
# Concepts: Namespaces; API reference, PutMetricData.
_NAMESPACE: Final = re.compile(r"(?!:)(?!AWS/)(?=.*[^ ])[0-9A-Za-z._/#: -]{1,255}")

# DynamoDB table names: 3-255 of a-z A-Z 0-9 _ - . (DynamoDB Developer Guide, naming rules).
_TABLE_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]{3,255}")


class ConfigError(ValueError):
    """The function's environment variables are invalid."""


class Config:
    """Validated settings of the transform."""

    __slots__ = (
        "event_names",
        "function_name",
        "log_level",
        "metrics_dimensions",
        "metrics_namespace",
        "table_names",
    )

    def __init__(
        self,
        *,
        event_names: frozenset[str] = frozenset(EventName),
        table_names: frozenset[str] = frozenset(),
        log_level: str = DEFAULT_LOG_LEVEL,
        metrics_namespace: str = DEFAULT_METRICS_NAMESPACE,
        metrics_dimensions: tuple[str, ...] = METRICS_DIMENSIONS,
        function_name: str | None = None,
    ) -> None:
        self.event_names = event_names
        self.table_names = table_names  # empty: every table
        self.log_level = log_level
        self.metrics_namespace = metrics_namespace
        self.metrics_dimensions = metrics_dimensions  # names, in the order configured
        self.function_name = function_name

    def __repr__(self) -> str:
        return (
            f"Config(event_names={sorted(self.event_names)}, "
            f"table_names={sorted(self.table_names)}, log_level={self.log_level!r}, "
            f"metrics_namespace={self.metrics_namespace!r}, "
            f"metrics_dimensions={list(self.metrics_dimensions)}, "
            f"function_name={self.function_name!r})"
        )

    def keeps_event(self, event_name: str) -> bool:
        return event_name in self.event_names

    def keeps_table(self, table_name: str) -> bool:
        return not self.table_names or table_name in self.table_names


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def load_config(environ: Mapping[str, str]) -> Config:
    """Validate the environment; raise :class:`ConfigError` listing every invalid setting."""
    problems: list[str] = []

    event_names = [name.upper() for name in _comma_list(environ.get("ARCHIVE_EVENT_NAMES", ""))]
    unknown = sorted(set(event_names) - set(EventName))
    if unknown:
        problems.append(
            f"ARCHIVE_EVENT_NAMES: unknown event name(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(EventName)}"
        )

    table_names = _comma_list(environ.get("ARCHIVE_TABLE_NAMES", ""))
    bad_tables = [name for name in table_names if _TABLE_NAME.fullmatch(name) is None]
    if bad_tables:
        problems.append(
            f"ARCHIVE_TABLE_NAMES: not a DynamoDB table name: {', '.join(map(repr, bad_tables))} "
            "(3-255 characters of A-Z a-z 0-9 _ - .)"
        )

    log_level = environ.get("LOG_LEVEL", "").strip().upper() or DEFAULT_LOG_LEVEL
    if log_level not in LOG_LEVELS:
        problems.append(
            f"LOG_LEVEL: {environ['LOG_LEVEL']!r} is not one of {', '.join(LOG_LEVELS)}"
        )

    metrics_namespace = environ.get("METRICS_NAMESPACE", "") or DEFAULT_METRICS_NAMESPACE
    if _NAMESPACE.fullmatch(metrics_namespace) is None:
        problems.append(
            f"METRICS_NAMESPACE: {metrics_namespace!r} is not a CloudWatch namespace (1-255 of "
            "A-Z a-z 0-9 . - _ / # : and space, not only spaces, not starting with ':' or 'AWS/')"
        )

    dimensions_text = environ.get("METRICS_DIMENSIONS")
    dimensions = (
        list(METRICS_DIMENSIONS) if dimensions_text is None else _comma_list(dimensions_text)
    )
    unknown_dimensions = [name for name in dimensions if name not in METRICS_DIMENSIONS]
    if unknown_dimensions:
        problems.append(
            f"METRICS_DIMENSIONS: unknown dimension(s) {', '.join(map(repr, unknown_dimensions))}; "
            f"allowed: {', '.join(METRICS_DIMENSIONS)} (empty: none)"
        )

    if problems:
        raise ConfigError("invalid transform configuration: " + "; ".join(problems))
    return Config(
        event_names=frozenset(event_names) if event_names else frozenset(EventName),
        table_names=frozenset(table_names),
        log_level=log_level,
        metrics_namespace=metrics_namespace,
        metrics_dimensions=tuple(dict.fromkeys(dimensions)),
        function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME") or None,
    )


@cache
def get_config() -> Config:
    """The configuration of this execution environment (validated on first use, then cached)."""
    return load_config(os.environ)

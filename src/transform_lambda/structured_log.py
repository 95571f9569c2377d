"""Structured JSON log lines through the standard ``logging`` module.

One line per invocation (the summary) and one per failed record; never any payload content (it is
customer data). The logger writes its own JSON lines to stdout (CloudWatch Logs) and does not
propagate, so the Lambda runtime's root handler does not print them twice.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from functools import cache
from typing import Any, Final

LOGGER_NAME: Final = "transform_lambda"


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

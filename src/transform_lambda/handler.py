"""Lambda entry point: ``transform_lambda.handler.lambda_handler`` (thin adapter)."""

from __future__ import annotations

import time
from typing import Any

from transform_lambda import _json
from transform_lambda.config import get_config
from transform_lambda.events import FirehoseEvent
from transform_lambda.structured_log import get_logger
from transform_lambda.transform import transform_batch


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer a Firehose data-transformation event; log one JSON summary line."""
    started = time.perf_counter()
    config = get_config()
    logger = get_logger(config.log_level)
    firehose_event = FirehoseEvent(event)
    outcome = transform_batch(firehose_event, config)
    response = outcome.response()

    request_id = getattr(context, "aws_request_id", None)
    for index, answer in enumerate(outcome.answers):
        if answer.reason is not None:
            logger.warning(
                "record answered ProcessingFailed",
                extra={
                    "fields": {
                        "aws_request_id": request_id,
                        "record_index": index,
                        "record_id": answer.record_id,
                        "reason": answer.reason,
                        "detail": answer.detail,
                    }
                },
            )
    counts = outcome.counts()
    logger.info(
        "transform summary",
        extra={
            "fields": {
                "aws_request_id": request_id,
                "invocation_id": firehose_event.invocation_id,
                "records": len(outcome.answers),
                "ok": counts["Ok"],
                "dropped": counts["Dropped"],
                "processing_failed": counts["ProcessingFailed"],
                "turned_for_response_limit": outcome.turned_for_size,
                "bytes_in": outcome.bytes_in,
                "bytes_out": outcome.bytes_out,
                "response_bytes": outcome.response_bytes,
                "json_library": _json.JSON_LIBRARY,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            }
        },
    )
    return response

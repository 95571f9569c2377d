"""Lambda entry point: ``transform_lambda.handler.lambda_handler`` (thin adapter)."""

from __future__ import annotations

import time
from typing import Any

from transform_lambda import _json, dynamodb_json
from transform_lambda.config import get_config
from transform_lambda.events import FirehoseEvent
from transform_lambda.structured_log import embedded_metrics, get_logger
from transform_lambda.transform import ResponseLimitError, transform_batch


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer a Firehose data-transformation event; log one JSON summary line (EMF metrics)."""
    started = time.perf_counter()
    config = get_config()
    logger = get_logger(config.log_level)
    firehose_event = FirehoseEvent(event)
    request_id = getattr(context, "aws_request_id", None)
    try:
        outcome = transform_batch(firehose_event, config)
    except ResponseLimitError as error:
        logger.error(
            "response limit exceeded: the invocation fails and Firehose retries it",
            extra={
                "fields": {
                    "aws_request_id": request_id,
                    "invocation_id": firehose_event.invocation_id,
                    "detail": str(error),
                }
            },
        )
        raise
    response = outcome.response()

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
    dimension_values = {
        "DeliveryStreamName": firehose_event.delivery_stream_name,
        "FunctionName": config.function_name,
    }
    metrics = embedded_metrics(
        namespace=config.metrics_namespace,
        dimensions={name: dimension_values[name] for name in config.metrics_dimensions},
        values={
            "Records": len(outcome.answers),
            "Ok": counts["Ok"],
            "Dropped": counts["Dropped"],
            "ProcessingFailed": counts["ProcessingFailed"],
            "TurnedForResponseLimit": outcome.turned_for_size,
            "BytesIn": outcome.bytes_in,
            "BytesOut": outcome.bytes_out,
        },
        timestamp_ms=int(time.time() * 1000),
    )
    logger.info(
        "transform summary",
        extra={
            "fields": {
                "aws_request_id": request_id,
                "invocation_id": firehose_event.invocation_id,
                "response_bytes": outcome.response_bytes,
                "json_library": _json.JSON_LIBRARY,
                "dynamodb_json_walk": dynamodb_json.WALK,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                **metrics,
            }
        },
    )
    return response

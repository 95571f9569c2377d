"""boto3 clients for the pipeline, pointed at AWS or at LocalStack (`AWS_ENDPOINT_URL`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_firehose import FirehoseClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

__all__ = ["client", "resolve_endpoint_url"]

# The one retry layer for whole-call errors (throttling, 5xx): botocore's standard mode, 5 calls in
# all. `total_max_attempts` counts the first call; botocore's `max_attempts` would count retries
# only (5 -> 6 calls). Source: botocore.config.Config, `retries`.
_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 5})


def resolve_endpoint_url(explicit: str | None = None) -> str | None:
    """The endpoint to use: the explicit one, else `AWS_ENDPOINT_URL`, else None (real AWS)."""
    return explicit or os.environ.get("AWS_ENDPOINT_URL") or None


@overload
def client(
    service: Literal["dynamodb"], *, endpoint_url: str | None = ..., region: str | None = ...
) -> DynamoDBClient: ...
@overload
def client(
    service: Literal["firehose"], *, endpoint_url: str | None = ..., region: str | None = ...
) -> FirehoseClient: ...
@overload
def client(
    service: Literal["kinesis"], *, endpoint_url: str | None = ..., region: str | None = ...
) -> KinesisClient: ...
@overload
def client(
    service: Literal["s3"], *, endpoint_url: str | None = ..., region: str | None = ...
) -> S3Client: ...
@overload
def client(
    service: Literal["sts"], *, endpoint_url: str | None = ..., region: str | None = ...
) -> STSClient: ...
@overload
def client(service: str, *, endpoint_url: str | None = ..., region: str | None = ...) -> Any: ...
def client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client for `service`.

    The endpoint is `endpoint_url`, else `AWS_ENDPOINT_URL`, else AWS's own; the region is `region`,
    else boto3's usual lookup (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile).
    """
    url = resolve_endpoint_url(endpoint_url)
    config = _RETRIES
    if url is not None and service == "s3":
        # LocalStack at 127.0.0.1/localhost has no per-bucket DNS names: use path-style requests.
        config = config.merge(Config(s3={"addressing_style": "path"}))
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=url, region_name=region, config=config
    )

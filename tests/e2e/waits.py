"""Every wait and poll default of the end-to-end tests and their stack, in one place.

LocalStack writes each batch to S3 before the call returns (seconds); AWS buffers for
delivery_processor_buffer_interval + delivery_buffering_interval (60 s + 60 s by default).
PIPELINE_E2E_TIMEOUT (seconds) overrides the archive wait of every test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from change_archive.archive import ArchivedRecord, collect_changes
from change_archive.aws import client
from change_archive.stack import Stack

# How long a test waits for its changes to reach the archive.
LOCALSTACK_ARCHIVE_TIMEOUT = 120.0
AWS_ARCHIVE_TIMEOUT = 600.0
# A backfill writes thousands of records through the same path: more time on both.
LOCALSTACK_BACKFILL_TIMEOUT = 300.0
AWS_BACKFILL_TIMEOUT = 900.0
# After everything arrived, look once more for late duplicates.
SETTLE_SECONDS = 5.0
# S3's LastModified and this machine's clock may differ slightly: look back this much further.
CLOCK_SKEW = timedelta(seconds=5)
# Between two listings of the archive.
LOCALSTACK_POLL_INTERVAL = 1.0
AWS_POLL_INTERVAL = 10.0

# Provisioning: a table, stream or function is ready within seconds on LocalStack; its
# Kinesis-source delivery stream is ACTIVE after 13-30 s (docs/localstack.md).
RESOURCE_READY_TIMEOUT = 60.0
DELIVERY_STREAM_ACTIVE_TIMEOUT = 120.0


def archive_timeout(on_localstack: bool, *, backfill: bool = False) -> float:
    """Seconds a test waits for the archive: PIPELINE_E2E_TIMEOUT, else the default above."""
    override = os.environ.get("PIPELINE_E2E_TIMEOUT")
    if override:
        return float(override)
    if backfill:
        return LOCALSTACK_BACKFILL_TIMEOUT if on_localstack else AWS_BACKFILL_TIMEOUT
    return LOCALSTACK_ARCHIVE_TIMEOUT if on_localstack else AWS_ARCHIVE_TIMEOUT


def poll_interval(on_localstack: bool) -> float:
    return LOCALSTACK_POLL_INTERVAL if on_localstack else AWS_POLL_INTERVAL


def wait_for_archive(
    stack: Stack,
    on_localstack: bool,
    *,
    match: Callable[[Mapping[str, Any]], bool],
    done: Callable[[list[ArchivedRecord]], bool],
    started: datetime,
    backfill: bool = False,
) -> list[ArchivedRecord]:
    """The archive records that ``match``, written since ``started``, once ``done`` holds for
    them; polls at most :func:`archive_timeout` (ArchiveTimeoutError after that)."""
    return collect_changes(
        client("s3"),
        stack.archive_bucket_name,
        stack.archive_prefix,
        match=match,
        done=done,
        timeout=archive_timeout(on_localstack, backfill=backfill),
        poll_interval=poll_interval(on_localstack),
        since=started - CLOCK_SKEW,
    )


def settled_archive(
    stack: Stack,
    on_localstack: bool,
    *,
    match: Callable[[Mapping[str, Any]], bool],
    started: datetime,
) -> list[ArchivedRecord]:
    """After :data:`SETTLE_SECONDS`, one full pass over the archive records that ``match``,
    written since ``started``: late duplicates would show here."""
    time.sleep(SETTLE_SECONDS)
    return collect_changes(
        client("s3"),
        stack.archive_bucket_name,
        stack.archive_prefix,
        match=match,
        done=lambda _: True,
        timeout=0,
        poll_interval=poll_interval(on_localstack),
        since=started - CLOCK_SKEW,
    )

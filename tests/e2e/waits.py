"""Every wait and poll default of the end-to-end tests and their stack, in one place.

LocalStack writes each batch to S3 before the call returns (seconds); AWS buffers for
delivery_processor_buffer_interval + delivery_buffering_interval (60 s + 60 s by default).
PIPELINE_E2E_TIMEOUT (seconds) overrides the archive wait of every test.
"""

from __future__ import annotations

import os

# How long a test waits for its changes to reach the archive.
LOCALSTACK_ARCHIVE_TIMEOUT = 120.0
AWS_ARCHIVE_TIMEOUT = 600.0
# A backfill writes thousands of records through the same path: more time on both.
LOCALSTACK_BACKFILL_TIMEOUT = 300.0
AWS_BACKFILL_TIMEOUT = 900.0
# After everything arrived, look once more for late duplicates.
SETTLE_SECONDS = 5.0
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

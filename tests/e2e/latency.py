"""End-to-end latency: collected by the tests, printed in pytest's terminal summary."""

from __future__ import annotations

import statistics

import pytest

LATENCY_KEY = pytest.StashKey[list[str]]()


def summary(latencies: list[float]) -> str:
    """One line: min/median/max seconds from a DynamoDB write to its archive object."""
    return (
        f"end-to-end latency (DynamoDB write -> archive object's S3 LastModified, whole"
        f" seconds) over {len(latencies)} changes: min {min(latencies):.1f} s, median"
        f" {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s"
    )

"""Unit-test fixtures shared by the packages' tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no endpoint, so boto3 clients reach moto's mock and nothing else."""
    # CI exports AWS_ENDPOINT_URL for LocalStack; moto only intercepts AWS's own endpoints.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class FakeClock:
    """A monotonic clock that only moves when slept on (or when a test sets ``now``)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock for code that takes ``clock=`` and ``sleep=`` (rate limits, checkpoints)."""
    return FakeClock()

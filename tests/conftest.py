"""Shared test set-up: Hypothesis profiles and the one reader of tests/events/*.json.

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``default`` keeps ``make test`` quick; ``nightly``
runs at least 10,000 examples per property.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

EVENTS_DIR = Path(__file__).parent / "events"

settings.register_profile("default", max_examples=150, deadline=None)
settings.register_profile(
    "nightly",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


@pytest.fixture(scope="session")
def load_event() -> Callable[[str], dict[str, Any]]:
    """``load_event("firehose_changes.json")`` → a fresh copy of that event."""
    return _load_event

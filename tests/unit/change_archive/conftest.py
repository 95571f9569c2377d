"""Fixtures for change_archive's unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/ is not a package: reach the error-object builder shared with the end-to-end tests.
sys.path.insert(0, str(Path(__file__).parents[2]))

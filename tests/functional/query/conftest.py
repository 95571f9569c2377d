"""tests/ is not a package: make archive_builder importable by the query tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

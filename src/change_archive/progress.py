"""The one progress display of every long command: a tqdm bar on stderr.

stdout stays for results (tables, JSON, archive lines); the bar goes to stderr and is left out when
stderr is not a terminal, so scripts and CI logs get only each command's final summary line.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_bar(
    *,
    description: str,
    total: int | None = None,
    unit: str = "record",
    initial: int = 0,
    **options: Any,
) -> tqdm[Any]:
    """A progress bar for ``total`` units (``None``: a counter with a rate, no percentage).

    ``initial`` is work done before this run (a resumed backfill), so the rate and the time left
    count only what is left.
    """
    return tqdm(
        total=total,
        initial=initial,
        desc=description,
        unit=unit,
        unit_scale=True,
        file=sys.stderr,
        disable=None,  # off when stderr is not a TTY
        dynamic_ncols=True,
        leave=True,
        **options,
    )

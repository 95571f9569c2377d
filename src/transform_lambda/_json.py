"""The JSON library of the hot path: orjson when it is bundled, the standard library otherwise.

Both give the same contract: ``loads`` takes UTF-8 bytes and raises ``ValueError`` for anything that
is not UTF-8 JSON; ``dumps_line`` returns compact UTF-8 JSON plus a newline and raises
``ValueError``/``TypeError`` for what it cannot write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

try:
    import orjson

    HAVE_ORJSON = True
except ImportError:  # pragma: no cover - exercised by the artifact test without orjson
    HAVE_ORJSON = False


def _stdlib_loads(raw: bytes) -> Any:
    # Decode first: json.loads(bytes) would also accept UTF-16/32, which a change record never is.
    return json.loads(raw.decode("utf-8"))


def _stdlib_dumps_line(obj: Any) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"


loads: Callable[[bytes], Any]
dumps_line: Callable[[Any], bytes]

if HAVE_ORJSON:
    JSON_LIBRARY = "orjson"
    loads = orjson.loads
    # A partial, not a wrapper function: one Python call less per record.
    dumps_line = partial(orjson.dumps, option=orjson.OPT_APPEND_NEWLINE)
else:  # pragma: no cover - see above
    JSON_LIBRARY = "json"
    loads = _stdlib_loads
    dumps_line = _stdlib_dumps_line

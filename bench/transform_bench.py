"""`make bench`: the transform on one maximal Firehose batch, side by side with the alternatives.

Measured in one run, on the same batch: this handler; the seed article's pass-through blueprint;
a naive transform (boto3's TypeDeserializer + stdlib json); and the floor (base64 decode + JSON
parse + JSON serialise + base64 encode with the handler's JSON library). Then the handler's import
time (``python -X importtime``) and its peak memory for the batch. Figures are printed, never
asserted: the targets are listed next to them.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

from change_batch import maximal_event  # noqa: E402

from transform_lambda import _json  # noqa: E402
from transform_lambda.handler import lambda_handler  # noqa: E402

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


# --- the seed article's blueprint (print per record, as published) ------------------------------
def seed_blueprint(event: dict[str, Any], context: Any) -> dict[str, Any]:
    output = []
    for record in event["records"]:
        print(record["recordId"])
        payload = base64.b64decode(record["data"]).decode("utf-8")
        print(f"the actual data is : {payload}")
        output.append(
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": base64.b64encode(payload.encode("utf-8")).decode("utf-8"),
            }
        )
    print(f"Successfully processed {len(event['records'])} records.")
    return {"records": output}


# --- naive: boto3 TypeDeserializer + stdlib json --------------------------------------------------
def _naive_default(value: object) -> object:
    from boto3.dynamodb.types import Binary  # noqa: PLC0415

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode()
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(type(value).__name__)


def naive_transform(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from boto3.dynamodb.types import Binary, TypeDeserializer  # noqa: PLC0415

    class JsonTypeDeserializer(TypeDeserializer):
        # In a change record B values are base64 text; TypeDeserializer expects bytes.
        def _deserialize_b(self, value: str) -> Binary:
            return Binary(base64.b64decode(value))

    deserializer = JsonTypeDeserializer()

    def image(typed: dict[str, Any] | None) -> dict[str, Any] | None:
        if typed is None:
            return None
        return {name: deserializer.deserialize(value) for name, value in typed.items()}

    output = []
    for record in event["records"]:
        try:
            change = json.loads(base64.b64decode(record["data"]))
            body = change["dynamodb"]
            line = {
                "event_id": change["eventID"],
                "event_name": change["eventName"],
                "table_name": change["tableName"],
                "event_time": body["ApproximateCreationDateTime"],
                "keys": image(body["Keys"]),
                "new_image": image(body.get("NewImage")),
                "old_image": image(body.get("OldImage")),
                "sequence_number": record["kinesisRecordMetadata"]["sequenceNumber"],
                "shard_id": record["kinesisRecordMetadata"]["shardId"],
            }
            text = json.dumps(line, default=_naive_default) + "\n"
            data = base64.b64encode(text.encode()).decode()
            output.append({"recordId": record["recordId"], "result": "Ok", "data": data})
        except Exception:
            output.append(
                {
                    "recordId": record["recordId"],
                    "result": "ProcessingFailed",
                    "data": record["data"],
                }
            )
    return {"records": output}


# --- floor: decode + parse + serialise + encode, same JSON library as the handler ---------------
def floor(event: dict[str, Any], context: Any) -> dict[str, Any]:
    loads, dumps_line = _json.loads, _json.dumps_line
    a2b, b2a = base64.b64decode, base64.b64encode
    return {
        "records": [
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": b2a(dumps_line(loads(a2b(record["data"])))).decode(),
            }
            for record in event["records"]
        ]
    }


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        saved = sys.stdout
        yield
        sys.stdout = saved


def time_handler(handler: Handler, event: dict[str, Any], repeats: int) -> list[float]:
    timings = []
    with quiet_stdout():
        handler(event, None)  # warm-up (first-call configuration, lazy imports)
        for _ in range(repeats):
            gc.collect()
            started = time.perf_counter()
            handler(event, None)
            timings.append(time.perf_counter() - started)
    return timings


def import_time_ms(runs: int, *, cached_bytecode: bool) -> float:
    """Median cumulative import time of transform_lambda.handler in a fresh interpreter.

    Without cached bytecode, the package is copied to a fresh directory and imported with ``-B``:
    on Lambda /var/task is read-only, so the package is compiled at every cold start (the
    standard library's bytecode is cached there, as it is here).
    """
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            command = [sys.executable, "-X", "importtime", "-c", "import transform_lambda.handler"]
            source = ROOT / "src"
            if not cached_bytecode:
                source = Path(scratch)
                shutil.copytree(
                    ROOT / "src" / "transform_lambda",
                    source / "transform_lambda",
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
                command.insert(1, "-B")
            env = dict(os.environ, PYTHONPATH=str(source))
            completed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
        match = re.search(r"\|\s*(\d+) \|\s*transform_lambda\.handler$", completed.stderr, re.M)
        if match is None:
            raise RuntimeError("no import-time line for transform_lambda.handler")
        results.append(int(match.group(1)) / 1000)
    return statistics.median(results)


_MEMORY_PROBE = """
import gc, json, re, sys, tracemalloc
from pathlib import Path
from change_batch import maximal_event
from transform_lambda.handler import lambda_handler

def kib(field):
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\\s+(\\d+) kB", status, re.M)[1])

event = maximal_event()
event_bytes = len(json.dumps(event))
gc.collect()
Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
before = kib("VmRSS")
sys.stdout = open("/dev/null", "w")
lambda_handler(event, None)
rss_growth = (kib("VmHWM") - before) * 1024
gc.collect()
tracemalloc.start()
lambda_handler(event, None)
traced_peak = tracemalloc.get_traced_memory()[1]
sys.stdout = sys.__stdout__
print(json.dumps({"rss_growth": rss_growth, "traced_peak": traced_peak}))
"""


def peak_memory() -> tuple[int, int]:
    """(tracemalloc peak of Python allocations, peak RSS growth) of one handler call on the batch,
    measured in a fresh interpreter so that freed memory of earlier runs cannot hide the peak."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench")]))
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _MEMORY_PROBE], env=env, capture_output=True, text=True, check=True
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return int(figures["traced_peak"]), int(figures["rss_growth"])


def _status_kib(status: Path, field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", status.read_text(), re.M)
    return int(match.group(1)) if match else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per implementation")
    args = parser.parse_args()

    event = maximal_event()
    records = event["records"]
    event_bytes = len(json.dumps(event))
    base64_bytes = sum(len(record["data"]) for record in records)
    print(
        f"batch: {len(records)} change records, {base64_bytes / 1e6:.2f} MB of base64 data, "
        f"{event_bytes / 1e6:.2f} MB event (limit 6 MiB); JSON library: {_json.JSON_LIBRARY}; "
        f"Python {sys.version.split()[0]}"
    )

    candidates: list[tuple[str, Handler]] = [
        ("this handler", lambda_handler),
        ("seed blueprint (pass-through, prints)", seed_blueprint),
        ("naive (TypeDeserializer + json)", naive_transform),
        (f"floor (b64+{_json.JSON_LIBRARY} parse/dump+b64)", floor),
    ]
    medians: dict[str, float] = {}
    print(f"\n{'implementation':<42} {'median ms':>10} {'min ms':>8} {'MB/s':>7}")
    for name, handler in candidates:
        timings = time_handler(handler, event, args.repeats)
        medians[name] = statistics.median(timings)
        print(
            f"{name:<42} {medians[name] * 1000:>10.1f} {min(timings) * 1000:>8.1f} "
            f"{base64_bytes / 1e6 / medians[name]:>7.1f}"
        )
    ours = medians["this handler"]
    naive = medians["naive (TypeDeserializer + json)"]
    floor_time = medians[f"floor (b64+{_json.JSON_LIBRARY} parse/dump+b64)"]
    cached = import_time_ms(5, cached_bytecode=True)
    uncached = import_time_ms(5, cached_bytecode=False)
    traced_peak, rss_growth = peak_memory()

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print("\nagainst the targets")
    speed_up, over_floor = naive / ours, ours / floor_time
    print(f"  speed-up over naive  {speed_up:5.2f}x  (target >= 2.5x)  {verdict(speed_up >= 2.5)}")
    print(
        f"  cost over the floor  {over_floor:5.2f}x  (target <= 1.3x)  {verdict(over_floor <= 1.3)}"
    )
    print(
        f"  import time          {cached:5.1f} ms with cached bytecode, {uncached:.1f} ms compiled "
        f"(read-only /var/task)  (target <= 50 ms)  {verdict(max(cached, uncached) <= 50)}"
    )
    print(
        f"  peak memory          {traced_peak / 1e6:5.1f} MB Python allocations = "
        f"{traced_peak / event_bytes:.2f}x the event; RSS growth {rss_growth / 1e6:.1f} MB = "
        f"{rss_growth / event_bytes:.2f}x   (target <= 3x)  "
        f"{verdict(max(traced_peak, rss_growth) <= 3 * event_bytes)}"
    )


if __name__ == "__main__":
    main()

"""Benchmark the state reduction (`pipeline state`): DuckDB against a plain-Python reduction.

Writes an archive of LINES change lines (gzip NDJSON objects of 10,000 lines, 10 changes per item,
5 % duplicates, a fifth of the items removed at the end), then reduces it to the table's state both
ways, each in a fresh process, and prints lines per second and peak memory (VmHWM) side by side:
DuckDB with the CLI's default memory limit for speed, then with a small limit at a quarter of the
lines and at all of them: it spills beyond the limit, so its peak memory should not grow with the
archive; the plain-Python reduction's does. Goal: DuckDB >= 5x the plain-Python lines per second.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from change_archive.query import (
    DEFAULT_MEMORY_LIMIT,
    ChangeArchive,
    local_archive_files,
    write_state,
)

LINES_PER_OBJECT = 10_000
CHANGES_PER_ITEM = 10
START_US = 1_795_764_000_000_000
SMALL_MEMORY_LIMIT = "192MB"


def make_archive(root: Path, lines: int, seed: int = 1) -> None:
    """LINES archive lines as the transform writes them (with item_key, event_time_us,
    change_order), shuffled across gzip objects."""
    rng = random.Random(seed)
    items = max(1, lines // CHANGES_PER_ITEM)
    records: list[bytes] = []
    sequence = 0
    for change in range(CHANGES_PER_ITEM):
        for index in range(items):
            if len(records) >= lines:
                break
            sequence += 1
            event_us = START_US + change * 60_000_000 + index
            removed = change == CHANGES_PER_ITEM - 1 and index % 5 == 0
            keys = {"pk": f"customer#{index}", "sk": "profile"}
            image = None if removed else {**keys, "name": f"n{index}", "visits": change}
            line = {
                "event_id": f"{index}-{change}",
                "event_name": "REMOVE" if removed else ("INSERT" if change == 0 else "MODIFY"),
                "table_name": "customers",
                "event_time": "2026-11-27T07:20:00.000000Z",
                "keys": keys,
                "new_image": image,
                "old_image": None,
                "is_ttl_delete": False,
                "change_source": "stream",
                "sequence_number": str(sequence),
                "shard_id": "shardId-000000000000",
                "aws_region": "eu-west-1",
                "size_bytes": 120,
                "item_key": json.dumps(keys, separators=(",", ":"), sort_keys=True),
                "event_time_us": event_us,
                "change_order": f"{event_us:017d}1{sequence:0>129}",
            }
            encoded = json.dumps(line, separators=(",", ":")).encode() + b"\n"
            records.append(encoded)
            if rng.random() < 0.05:
                records.append(encoded)
    rng.shuffle(records)
    records = records[:lines]
    folder = root / "year=2026/month=11/day=27/hour=07"
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(records), LINES_PER_OBJECT)):
        data = b"".join(records[start : start + LINES_PER_OBJECT])
        (folder / f"delivery-{number:05d}.jsonl.gz").write_bytes(gzip.compress(data, 1))


def reduce_with_duckdb(root: Path, output: Path, memory_limit: str) -> int:
    with tempfile.TemporaryDirectory(prefix="state-bench-") as work:
        archive = ChangeArchive(Path(work), memory_limit=memory_limit)
        try:
            archive.load(local_archive_files(root))
            with output.open("w", encoding="utf-8") as file:
                written, _ = write_state(archive, archive.state_sql(), "jsonl", file.write)
        finally:
            archive.close()
    return written


def reduce_with_python(root: Path, output: Path) -> int:
    """The plain way: every line parsed with json, duplicates dropped by event_id, the greatest
    change_order kept per item, removed items left out."""
    seen: set[str] = set()
    latest: dict[str, tuple[str, Any]] = {}
    for path in sorted(root.rglob("*.jsonl.gz")):
        for raw in gzip.decompress(path.read_bytes()).splitlines():
            line = json.loads(raw)
            if line["event_id"] in seen:
                continue
            seen.add(line["event_id"])
            key = line["item_key"]
            current = latest.get(key)
            if current is None or line["change_order"] > current[0]:
                latest[key] = (line["change_order"], line)
    written = 0
    with output.open("w", encoding="utf-8") as file:
        for key in sorted(latest):
            line = latest[key][1]
            if line["event_name"] != "REMOVE":
                file.write(json.dumps(line["new_image"], separators=(",", ":")) + "\n")
                written += 1
    return written


def run_one(way: str, root: Path) -> None:
    """In this process: reduce, print {seconds, items, max_rss_mb} as JSON. ``way`` is
    ``python`` or ``duckdb:<memory limit>``."""
    output = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    started = time.perf_counter()
    if way == "python":
        items = reduce_with_python(root, output)
    else:
        items = reduce_with_duckdb(root, output, way.split(":", 1)[1])
    seconds = time.perf_counter() - started
    output.unlink()
    # VmHWM: this process's peak resident memory (ru_maxrss would carry the parent's over exec).
    status = Path("/proc/self/status").read_text()
    max_rss_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps({"seconds": seconds, "items": items, "max_rss_mb": max_rss_mb}))


def measure(way: str, root: Path) -> dict[str, float]:
    result = subprocess.run(  # noqa: S603 - this interpreter running this file
        [sys.executable, __file__, "--run", way, str(root)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("root", nargs="?", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.run:
        run_one(arguments.run, arguments.root)
        return
    with tempfile.TemporaryDirectory(prefix="state-bench-archive-") as temp:
        full, quarter = Path(temp) / "full", Path(temp) / "quarter"
        print(f"state reduction: writing {arguments.lines:,} change lines ...", flush=True)
        make_archive(full, arguments.lines)
        make_archive(quarter, arguments.lines // 4)
        small = f"duckdb:{SMALL_MEMORY_LIMIT}"
        rows = [
            ("plain Python", arguments.lines, measure("python", full)),
            (
                f"DuckDB ({DEFAULT_MEMORY_LIMIT})",
                arguments.lines,
                measure(f"duckdb:{DEFAULT_MEMORY_LIMIT}", full),
            ),
            (f"DuckDB ({SMALL_MEMORY_LIMIT})", arguments.lines // 4, measure(small, quarter)),
            (f"DuckDB ({SMALL_MEMORY_LIMIT})", arguments.lines, measure(small, full)),
        ]
    header = ("reduction", "lines", "items", "seconds", "lines/s", "peak MB")
    print("{:<18} {:>10} {:>9} {:>8} {:>11} {:>8}".format(*header))
    for name, lines, figures in rows:
        print(
            f"{name:<18} {lines:>10,} {int(figures['items']):>9,} {figures['seconds']:>8.2f}"
            f" {lines / figures['seconds']:>11,.0f} {figures['max_rss_mb']:>8.0f}"
        )
    speedup = rows[0][2]["seconds"] / rows[1][2]["seconds"]
    goal = "met" if speedup >= 5 else "NOT met"
    print(
        f"DuckDB is {speedup:.1f}x plain Python on {arguments.lines:,} lines (goal >= 5x: {goal})"
    )
    growth = rows[3][2]["max_rss_mb"] / rows[2][2]["max_rss_mb"]
    print(
        f"DuckDB peak memory under {SMALL_MEMORY_LIMIT}, 4x the lines: x{growth:.2f}"
        " (plain Python keeps every event id and item in memory)"
    )


if __name__ == "__main__":
    main()

"""Backfill runs against moto's DynamoDB and Kinesis: exactly once, batching, retries, resume."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cli_support import MotoStack

from change_archive.backfill import Backfill, Checkpoint, Options, Target, page_stamp_us
from change_archive.change_stream import (
    MAX_BYTES_PER_CALL,
    MAX_RECORDS_PER_CALL,
    RetryPolicy,
    entry_size,
)
from change_archive.demo_items import generated_items, large_item, nested_item
from change_archive.seed import write_items


def _target(env: MotoStack) -> Target:
    s = env.stack
    return Target(s.table_name, s.region, s.change_stream_name, ("pk", "sk"))


def _fill(env: MotoStack, count: int) -> list[dict[str, Any]]:
    items = generated_items("pk", "sk", count=count)
    write_items(env.dynamodb, env.stack.table_name, items)
    return items


def _keys(records: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter(
        (r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in records
    )


class Recording:
    """Wraps moto's Kinesis client: records every PutRecords call, can fail or stop some."""

    def __init__(self, inner: Any, *, fail_first: set[str] | None = None) -> None:
        self.inner = inner
        self.calls: list[list[dict[str, Any]]] = []
        self.fail_first = set(fail_first or ())
        self.always_fail: set[str] = set()
        self.interrupt_after: int | None = None

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(Records)
        passed, results = [], []
        for record in Records:
            pk = json.loads(record["Data"])["dynamodb"]["Keys"]["pk"]["S"]
            if pk in self.always_fail or pk in self.fail_first:
                self.fail_first.discard(pk)
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
            else:
                passed.append(record)
                results.append(None)
        sent = iter(
            self.inner.put_records(StreamName=StreamName, Records=passed)["Records"]
            if passed
            else []
        )
        merged = [r if r is not None else next(sent) for r in results]
        return {"FailedRecordCount": sum("ErrorCode" in r for r in merged), "Records": merged}


def _run(
    env: MotoStack,
    kinesis: Any,
    *,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> Backfill:
    run = Backfill(
        env.dynamodb,
        kinesis,
        _target(env),
        Options(**{"retry": RetryPolicy(max_attempts=4), **options}),
        checkpoint,
        sleep=lambda _: None,
    )
    run.run()
    return run


def test_every_item_is_sent_exactly_once_as_a_backfill_insert(moto_stack: MotoStack) -> None:
    # GIVEN 1,200 small items, one with every type and one of nearly 400 KB
    items = _fill(moto_stack, 1200)
    special = [nested_item("pk", "sk"), large_item("pk", "sk")]
    write_items(moto_stack.dynamodb, moto_stack.stack.table_name, special)

    # WHEN they are backfilled in 3 segments with small pages
    run = _run(moto_stack, moto_stack.kinesis, segments=3, page_size=100)

    # THEN the stream holds each item once, in the destination's format, item as NewImage
    records = moto_stack.stream_records()
    assert set(_keys(records).values()) == {1}
    assert len(records) == 1202
    assert (run.totals.scanned, run.totals.sent, run.totals.failed) == (1202, 1202, 0)
    by_pk = {r["dynamodb"]["Keys"]["pk"]["S"]: r for r in records}
    nested = by_pk["nested#0001"]
    assert nested["eventSource"] == "change-archive:backfill"
    assert nested["eventName"] == "INSERT"
    assert nested["tableName"] == moto_stack.stack.table_name
    assert base64.b64decode(nested["dynamodb"]["NewImage"]["avatar"]["B"]) == bytes(range(256))
    sample = items[17]
    assert by_pk[sample["pk"]["S"]]["dynamodb"]["NewImage"] == sample


def test_calls_respect_500_records(moto_stack: MotoStack) -> None:
    # GIVEN 1,100 small items, scanned in pages larger than one call
    _fill(moto_stack, 1100)
    kinesis = Recording(moto_stack.kinesis)

    # WHEN backfilled
    _run(moto_stack, kinesis, segments=1, page_size=1100)

    # THEN calls were cut at 500 records and everything arrived once
    assert [len(call) for call in kinesis.calls] == [500, 500, 100]
    assert set(_keys(moto_stack.stream_records()).values()) == {1}


def test_calls_respect_5_mib(moto_stack: MotoStack) -> None:
    # GIVEN 40 items of ~400 KB (16 MB in all) handed over as one page (a DynamoDB Scan page
    # holds at most 1 MB, so only the send step can be given this much at once)
    big = [large_item("pk", "sk", key=f"large#{n:04d}") for n in range(40)]
    kinesis = Recording(moto_stack.kinesis)
    run = Backfill(moto_stack.dynamodb, kinesis, _target(moto_stack), Options(segments=1), None)

    # WHEN the page is sent
    assert run.send_page(0, big, created_at_us=0)

    # THEN each call stayed within 5 MiB (partition keys included), was cut for bytes, not
    # count, and every item arrived once
    sizes = [sum(entry_size(e) for e in call) for call in kinesis.calls]
    assert all(size <= MAX_BYTES_PER_CALL for size in sizes)
    assert all(len(call) < MAX_RECORDS_PER_CALL for call in kinesis.calls)
    assert len(sizes) == 4
    assert set(_keys(moto_stack.stream_records()).values()) == {1}
    assert len(moto_stack.stream_records()) == 40


def test_partial_failures_are_retried_and_each_item_lands_once(moto_stack: MotoStack) -> None:
    # GIVEN every 7th record fails on its first attempt
    items = _fill(moto_stack, 700)
    flaky = {item["pk"]["S"] for item in items[::7]}
    kinesis = Recording(moto_stack.kinesis, fail_first=flaky)

    # WHEN backfilled
    run = _run(moto_stack, kinesis, segments=2)

    # THEN the failures were resent once each and nothing is missing or doubled
    assert run.totals.retried == len(flaky)
    assert run.totals.failed == 0
    assert set(_keys(moto_stack.stream_records()).values()) == {1}
    assert len(moto_stack.stream_records()) == 700


def test_a_record_failing_every_attempt_stops_its_segment_before_the_page(
    moto_stack: MotoStack, tmp_path: Path
) -> None:
    # GIVEN one record that always fails, in a one-segment scan of 50-item pages
    items = _fill(moto_stack, 300)
    kinesis = Recording(moto_stack.kinesis)
    scan_order = moto_stack.dynamodb.scan(TableName=moto_stack.stack.table_name)["Items"]
    poisoned = scan_order[120]["pk"]["S"]  # third page
    kinesis.always_fail = {poisoned}
    checkpoint = Checkpoint.fresh(tmp_path / "cp.json", moto_stack.stack.table_name, 1)

    # WHEN backfilled
    run = _run(moto_stack, kinesis, checkpoint=checkpoint, segments=1, page_size=50)

    # THEN it reports the failure, and the checkpoint stays after page 2 (100 items)
    assert run.totals.failed == 1
    assert "still reported failed after 4 puts each (InternalFailure)" in run.totals.errors[0]
    saved = Checkpoint.load(tmp_path / "cp.json", moto_stack.stack.table_name, 1)
    assert saved.open[0] == {k: scan_order[99][k] for k in ("pk", "sk")}

    # WHEN the fault is gone and the run resumes
    kinesis.always_fail = set()
    resumed = _run(moto_stack, kinesis, checkpoint=saved, segments=1, page_size=50)

    # THEN every item is in the stream; only the failed page's other records came twice, each
    # time with the same event id (the run id is the checkpoint's), so the duplicates collapse
    records = moto_stack.stream_records()
    counts = _keys(records)
    assert len(counts) == len(items)
    assert sum(n - 1 for n in counts.values()) == 49
    ids: dict[tuple[str, str], set[str]] = {}
    for record in records:
        keys = record["dynamodb"]["Keys"]
        ids.setdefault((keys["pk"]["S"], keys["sk"]["S"]), set()).add(record["eventID"])
    assert all(len(found) == 1 for found in ids.values())
    assert resumed.totals.scanned == 200
    assert saved.complete


def test_resume_after_an_interruption_sends_only_unacknowledged_pages(
    moto_stack: MotoStack, tmp_path: Path
) -> None:
    # GIVEN 1,000 items and a run interrupted (Ctrl-C) after 6 PutRecords calls
    _fill(moto_stack, 1000)
    path = tmp_path / "cp.json"
    kinesis = Recording(moto_stack.kinesis)
    kinesis.interrupt_after = 6
    with pytest.raises(KeyboardInterrupt):
        _run(
            moto_stack,
            kinesis,
            checkpoint=Checkpoint.fresh(path, moto_stack.stack.table_name, 2),
            segments=2,
            page_size=60,
        )
    first = _keys(moto_stack.stream_records())
    assert 0 < len(first) < 1000

    # WHEN resumed from the checkpoint file
    kinesis.interrupt_after = None
    resumed = _run(
        moto_stack,
        kinesis,
        checkpoint=Checkpoint.load(path, moto_stack.stack.table_name, 2),
        segments=2,
        page_size=60,
    )

    # THEN all items are there; duplicates only from pages in flight (≤ one page per segment)
    counts = _keys(moto_stack.stream_records())
    assert len(counts) == 1000
    assert max(counts.values()) <= 2
    assert sum(n - 1 for n in counts.values()) <= 2 * 60
    assert resumed.totals.scanned < 1000


def test_dry_run_sends_nothing_and_writes_no_checkpoint(
    moto_stack: MotoStack, tmp_path: Path
) -> None:
    _fill(moto_stack, 130)
    kinesis = Recording(moto_stack.kinesis)
    run = _run(moto_stack, kinesis, segments=2, dry_run=True)
    assert kinesis.calls == []
    assert moto_stack.stream_records() == []
    assert (run.totals.scanned, run.totals.sent) == (130, 130)
    assert list(tmp_path.glob("*.checkpoint.json")) == []


def test_rate_limit_spreads_the_records_over_time(moto_stack: MotoStack) -> None:
    # GIVEN 600 items and a cap of 200 records/s
    _fill(moto_stack, 600)
    clock = {"now": 0.0}

    def sleep(seconds: float) -> None:
        clock["now"] += seconds

    run = Backfill(
        moto_stack.dynamodb,
        moto_stack.kinesis,
        _target(moto_stack),
        Options(segments=1, max_records_per_second=200, page_size=100),
        None,
        sleep=sleep,
        clock=lambda: clock["now"],
    )

    # WHEN backfilled
    run.run()

    # THEN the run waited (600 - 200 burst) / 200 = 2 s in all
    assert clock["now"] == pytest.approx(2.0)
    assert run.totals.sent == 600


def test_a_record_over_1_mib_is_reported_failed_and_the_rest_sent(moto_stack: MotoStack) -> None:
    # GIVEN a page whose middle item would encode to more than Kinesis's 1 MiB record limit
    # (DynamoDB caps items at 400 KB, but escaping can inflate the JSON: control characters)
    huge = {"pk": {"S": "huge"}, "sk": {"S": "x"}, "text": {"S": "\x01" * 200_000}}
    items = [*generated_items("pk", "sk", count=2), huge]
    run = Backfill(
        moto_stack.dynamodb, moto_stack.kinesis, _target(moto_stack), Options(segments=1), None
    )

    # WHEN the page is sent
    acknowledged = run.send_page(0, items, created_at_us=0)

    # THEN the page counts as acknowledged (resending cannot help), the item is named as failed
    assert acknowledged
    assert (run.totals.sent, run.totals.failed) == (2, 1)
    assert '{"pk":{"S":"huge"},"sk":{"S":"x"}}' in run.totals.errors[0]
    assert "1048576-byte Kinesis record limit" in run.totals.errors[0]
    assert len(moto_stack.stream_records()) == 2


class SlowScan:
    """Wraps moto's DynamoDB: segment 0 pages slowly, segment 1 fails on its first page."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.pages: Counter[int] = Counter()
        self.lock = threading.Lock()

    def scan(self, **request: Any) -> Any:
        segment = request["Segment"]
        with self.lock:
            self.pages[segment] += 1
        if segment == 1:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Scan")
        time.sleep(0.05)
        return self.inner.scan(**request)


def test_a_failing_segment_stops_the_others_at_once(moto_stack: MotoStack) -> None:
    # GIVEN 400 items scanned in pages of 10 by two segments, the second of which fails
    _fill(moto_stack, 400)
    dynamodb = SlowScan(moto_stack.dynamodb)
    run = Backfill(
        dynamodb,
        moto_stack.kinesis,
        _target(moto_stack),
        Options(segments=2, page_size=10),
        None,
    )

    # WHEN backfilled
    with pytest.raises(ClientError, match="AccessDenied"):
        run.run()

    # THEN segment 0 stopped after the page it was on (a page or two; a few on a loaded
    # machine), not after all of its ~20 pages
    assert dynamodb.pages[1] == 1
    assert dynamodb.pages[0] <= 5


def test_each_page_is_stamped_with_the_second_before_its_read(moto_stack: MotoStack) -> None:
    # GIVEN a clock that moves 0.7 s on every reading, and a scan that records when it read
    _fill(moto_stack, 30)
    clock = {"us": 1_720_740_233_400_000}
    reads: list[int] = []

    def now_us() -> int:
        clock["us"] += 700_000
        return clock["us"]

    class Timed:
        def scan(self, **request: Any) -> Any:
            reads.append(now_us())
            return moto_stack.dynamodb.scan(**request)

    run = Backfill(
        Timed(),  # type: ignore[arg-type]
        moto_stack.kinesis,
        _target(moto_stack),
        Options(segments=1, page_size=10),
        None,
        now_us=now_us,
    )

    # WHEN backfilled (three pages, and the empty last one)
    run.run()

    # THEN every record's time is its page's stamp: at or before the read, a whole second
    stamps = sorted(
        {r["dynamodb"]["ApproximateCreationDateTime"] for r in moto_stack.stream_records()}
    )
    assert len(stamps) == 3
    for stamp, read in zip(stamps, reads, strict=False):
        assert stamp % 1_000_000 == 0
        assert stamp <= read
        assert stamp == page_stamp_us(read - 700_000)

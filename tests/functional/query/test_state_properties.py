"""Property: `state --as-of T` equals a model's state at T, for random histories pushed through
the real transform, shuffled, duplicated and archived under their arrival partitions."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from archive_builder import (
    Delivery,
    change_record,
    from_epoch_us,
    write_archive,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from change_archive.query import ChangeArchive, epoch_us, local_archive_files
from transform_lambda.dynamodb_json import item

START_US = 1_795_687_200_000_000  # 2026-11-26T10:00:00Z
MAX_LATENESS = timedelta(hours=2)

VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(lambda n: {"N": str(n)}),
    st.integers(10**39, 10**40 - 1).map(lambda n: {"N": str(n)}),  # 40 digits: a JSON string
    st.sampled_from(["0.1", "12.5", "1E+20", "0.12345678901234567890", "-3"]).map(
        lambda n: {"N": n}
    ),
    st.text(max_size=8).map(lambda s: {"S": s}),
    st.booleans().map(lambda b: {"BOOL": b}),
)

OPERATION = st.tuples(
    st.sampled_from(["put", "put", "remove", "ttl", "backfill"]),
    st.integers(1, 3_000_000),  # µs since the key's previous change
    st.sampled_from(["s", "ms", "us"]),
    VALUES,
)


@dataclass(frozen=True)
class Change:
    """One change as the model sees it."""

    key_index: int
    time_us: int  # the true time
    event_time_us: int  # as the archive orders it (source precision; backfill: floored second)
    backfill: bool
    sequence: int
    image: dict[str, Any] | None  # DynamoDB JSON; None: removed


def key_of(index: int) -> dict[str, Any]:
    """The item's key; odd items list the sort key first (readers must sort the names)."""
    partition, sort = ("pk", {"S": f"user#{index}ü"}), ("sk", {"N": str(index * 7)})
    return dict([sort, partition] if index % 2 else [partition, sort])


def history(operations: list[list[tuple[str, int, str, dict[str, Any]]]]) -> list[Change]:
    """Per key, apply the operations in time order; number the changes in true time order."""
    drafts = []
    for key_index, ops in enumerate(operations):
        now = START_US + key_index * 1_234_567
        image: dict[str, Any] | None = None
        for version, (asked, gap, precision, value) in enumerate(ops):
            now += gap
            # Nothing to remove or back fill while the item is absent: write it instead.
            kind = "put" if asked in ("remove", "ttl", "backfill") and image is None else asked
            if kind == "put":
                image = {**key_of(key_index), "v": value, "version": {"N": str(version)}}
            elif kind in ("remove", "ttl"):
                image = None
            divisor = {"s": 1_000_000, "ms": 1000, "us": 1}[precision]
            stamp = now // 1_000_000 * 1_000_000 if kind == "backfill" else now // divisor * divisor
            drafts.append((now, key_index, kind, precision, stamp, image))
    drafts.sort(key=lambda draft: draft[0])
    return [
        Change(key_index, now, stamp, kind == "backfill", 1000 + number, image)
        for number, (now, key_index, kind, _precision, stamp, image) in enumerate(drafts)
    ]


def deliveries_of(
    changes: list[Change], operations: list[list[Any]], rng: random.Random
) -> list[Delivery]:
    """Each change as the change record its source wrote, plus duplicates, shuffled."""
    precisions = {}
    for key_index, ops in enumerate(operations):
        for op in ops:
            precisions.setdefault(key_index, []).append(op[2])
    deliveries = []
    counters: dict[int, int] = {}
    extra_sequence = 10**6
    for change in changes:
        position = counters.get(change.key_index, 0)
        counters[change.key_index] = position + 1
        precision = precisions[change.key_index][position]
        keys = key_of(change.key_index)
        if change.backfill:
            epoch, name = change.event_time_us, "INSERT"
        else:
            epoch = change.event_time_us // {"s": 1_000_000, "ms": 1000, "us": 1}[precision]
            name = "REMOVE" if change.image is None else "MODIFY"
        record = change_record(
            event_id=f"event-{change.sequence}",
            event_name=name,
            epoch=epoch,
            keys=keys,
            new_image=change.image,
            ttl=change.image is None and rng.random() < 0.5,
            backfill=change.backfill,
        )
        arrival = from_epoch_us(change.time_us) + MAX_LATENESS * rng.random()
        deliveries.append(Delivery(record, str(change.sequence), arrival))
        if rng.random() < 0.3:  # Firehose redelivers the same record
            deliveries.append(Delivery(record, str(change.sequence), arrival))
        if rng.random() < 0.2:  # the record reaches the stream twice: a later sequence number
            extra_sequence += 1
            later = arrival + timedelta(seconds=rng.randint(0, 60))
            deliveries.append(
                Delivery(record, str(extra_sequence), min(later, arrival + MAX_LATENESS))
            )
    rng.shuffle(deliveries)
    return deliveries


def model_state(changes: list[Change], as_of_us: int) -> list[str]:
    """The items as of ``as_of_us``: per key, the last change by (event time, live over backfill,
    sequence number) with event time <= as_of_us, unless it removed the item."""
    latest: dict[int, Change] = {}
    for change in sorted(changes, key=lambda c: (c.event_time_us, not c.backfill, c.sequence)):
        if change.event_time_us <= as_of_us:
            latest[change.key_index] = change
    return sorted(
        json.dumps(item(change.image), sort_keys=True)
        for change in latest.values()
        if change.image is not None
    )


def archive_state(archive: ChangeArchive, as_of_us: int) -> list[str]:
    sql = archive.state_sql(from_epoch_us(as_of_us))
    return sorted(
        json.dumps(json.loads(image), sort_keys=True)
        for (image,) in archive.execute(
            f"SELECT CAST(new_image AS VARCHAR) FROM ({sql})"
        ).fetchall()
    )


@settings(
    # A quarter of the profile's examples: each one archives, loads and queries a database.
    max_examples=max(10, settings().max_examples // 4),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(st.lists(OPERATION, min_size=1, max_size=8), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
    dynamic_partitioning=st.booleans(),
    new_lines=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_state_as_of_any_time_equals_the_model(
    tmp_path_factory: Any,
    operations: list[list[Any]],
    seed: int,
    dynamic_partitioning: bool,
    new_lines: float,
) -> None:
    # GIVEN random histories archived through the real transform, shuffled and duplicated; lines
    # with the ordering fields, lines from before them (derived by the readers), or a mix
    rng = random.Random(seed)
    changes = history(operations)
    root = tmp_path_factory.mktemp("archive")
    write_archive(
        root,
        deliveries_of(changes, operations, rng),
        rng,
        dynamic_partitioning=dynamic_partitioning,
        new_lines=new_lines,
    )
    times = sorted({c.event_time_us + delta for c in changes for delta in (-1, 0, 1)})
    times += [START_US - 1, max(times) + 10**9]
    work = tmp_path_factory.mktemp("duckdb")
    archive = ChangeArchive(work, threads=1)
    try:
        # WHEN the whole archive is read, THEN the state at every change's time (and ±1 µs) is
        # the model's
        archive.load(local_archive_files(root))
        for as_of_us in times:
            assert archive_state(archive, as_of_us) == model_state(changes, as_of_us), as_of_us
    finally:
        archive.close()
    # WHEN only the partitions needed for T (with the lateness bound) are read, THEN too
    for as_of_us in rng.sample(times, k=min(3, len(times))):
        work = tmp_path_factory.mktemp("duckdb")
        archive = ChangeArchive(work, threads=1)
        try:
            files = local_archive_files(root, until=from_epoch_us(as_of_us), lateness=MAX_LATENESS)
            archive.load(files)
            assert archive_state(archive, as_of_us) == model_state(changes, as_of_us)
        finally:
            archive.close()


def test_epoch_us_round_trips() -> None:
    # GIVEN a time in µs WHEN turned into a datetime and back THEN it is unchanged
    assert epoch_us(from_epoch_us(START_US + 123_457)) == START_US + 123_457


def test_forty_digit_number_comes_back_digit_for_digit(tmp_path: Path) -> None:
    # GIVEN an item holding a 40-digit N, archived through the transform
    digits = "1234567890123456789012345678901234567890"
    change = Change(0, START_US, START_US, False, 1000, {**key_of(0), "v": {"N": digits}})
    root = tmp_path / "archive"
    write_archive(
        root, deliveries_of([change], [[("put", 1, "us", {})]], random.Random(1)), random.Random(1)
    )
    archive = ChangeArchive(tmp_path, threads=1)
    try:
        archive.load(local_archive_files(root))
        # WHEN the state is read THEN the number is the same digits (a JSON string, per the rules)
        sql = f"SELECT CAST(new_image AS VARCHAR) FROM ({archive.state_sql()})"
        (image,) = archive.execute(sql).fetchone() or ("",)
    finally:
        archive.close()
    assert f'"v":"{digits}"' in image

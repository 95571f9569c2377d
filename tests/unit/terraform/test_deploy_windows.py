"""No change lost across deploys: what Terraform itself plans, checked on its own output.

- First apply: the streaming destination is enabled only after the delivery stream exists (a
  Kinesis-sourced delivery stream starts reading at LATEST). A plan with a mocked provider cannot
  show an order; `terraform graph` can.
- Replacement: a force-new change of the delivery stream is planned create-then-delete (both run
  at once) and leaves the table and its streaming destination alone; an in-place change stays.
  terraform/tests/root.tftest.hcl makes those plans; `terraform test -json -verbose` prints them.

Needs `terraform` on PATH with its providers reachable (`init -backend=false` runs in a copy).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
STREAMING_DESTINATION = "module.table.aws_dynamodb_kinesis_streaming_destination.this"
DELIVERY_STREAM = "module.delivery_stream.aws_kinesis_firehose_delivery_stream.this"
DRAIN_WAIT = "module.delivery_stream.time_sleep.replacement_drain"
TABLE = "module.table.aws_dynamodb_table.this"
_EDGE = re.compile(r'^\s*"([^"]+)"\s*->\s*"([^"]+)"', re.MULTILINE)


def parse_edges(dot: str) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for source, target in _EDGE.findall(dot):
        edges[source].add(target)
    return edges


def depends_on(edges: dict[str, set[str]], start: str, target: str) -> bool:
    """Whether `start` depends on `target`, directly or not (edges point to dependencies)."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return False


def planned_actions(json_lines: str) -> dict[str, dict[str, list[str]]]:
    """Per test run, each resource's planned actions, from `terraform test -json -verbose`."""
    runs: dict[str, dict[str, list[str]]] = {}
    for line in json_lines.splitlines():
        message: dict[str, Any] = json.loads(line)
        if message.get("type") == "test_plan":
            runs[message["@testrun"]] = {
                change["address"]: change["change"]["actions"]
                for change in message["test_plan"].get("resource_changes", [])
            }
    return runs


def test_depends_on_follows_paths() -> None:
    # GIVEN a -> b -> c / THEN a depends on c, c not on a
    edges = parse_edges('"a" -> "b";\n"b" -> "c";\n')
    assert depends_on(edges, "a", "c")
    assert not depends_on(edges, "c", "a")


def test_planned_actions_reads_test_plans() -> None:
    # GIVEN a plan message and another message / THEN only the plan's actions are read
    lines = "\n".join(
        [
            json.dumps({"type": "test_run", "@testrun": "x"}),
            json.dumps(
                {
                    "type": "test_plan",
                    "@testrun": "x",
                    "test_plan": {
                        "resource_changes": [{"address": "a.b", "change": {"actions": ["update"]}}]
                    },
                }
            ),
        ]
    )
    assert planned_actions(lines) == {"x": {"a.b": ["update"]}}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    copy = tmp_path_factory.mktemp("terraform") / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    subprocess.run(  # noqa: S603 - terraform from PATH, fixed arguments
        [terraform, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=copy,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return terraform, copy


def test_streaming_destination_waits_for_the_delivery_stream(root: tuple[str, Path]) -> None:
    # GIVEN the root module's graph
    terraform, copy = root
    dot = subprocess.run(  # noqa: S603 - terraform from PATH, fixed arguments
        [terraform, "graph"], cwd=copy, check=True, capture_output=True, text=True, timeout=300
    ).stdout
    edges = parse_edges(dot)
    # THEN enabling the destination comes after the delivery stream, not the other way round
    assert depends_on(edges, STREAMING_DESTINATION, DELIVERY_STREAM)
    assert not depends_on(edges, DELIVERY_STREAM, STREAMING_DESTINATION)


def test_delivery_stream_replacement_overlaps(root: tuple[str, Path]) -> None:
    # GIVEN the root tests' plans (a mocked provider; the runs assert the names)
    terraform, copy = root
    completed = subprocess.run(  # noqa: S603 - terraform from PATH, fixed arguments
        [terraform, "test", "-json", "-verbose", "-no-color"],
        check=False,  # a failure is reported below, with terraform's output
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-2000:]
    runs = planned_actions(completed.stdout)

    # WHEN a force-new setting changes (dynamic partitioning switched on)
    replacement = runs["delivery_stream_replacement_overlaps"]
    # THEN the new delivery stream is created before the old one is deleted, a new drain wait
    # keeps the old one running meanwhile, and the table's streaming destination is untouched
    assert replacement[DELIVERY_STREAM] == ["create", "delete"]
    assert "create" in replacement[DRAIN_WAIT]
    assert replacement[STREAMING_DESTINATION] == ["no-op"]
    assert replacement[TABLE] == ["no-op"]

    # WHEN a setting Firehose updates in place changes / THEN the stream stays
    assert runs["delivery_setting_changed_in_place"][DELIVERY_STREAM] == ["update"]

"""First apply: the streaming destination is enabled only after the delivery stream exists.

A Kinesis-sourced delivery stream starts reading at LATEST, so the order is the guarantee; a plan
with a mocked provider cannot show it, `terraform graph` can. Needs `terraform` on PATH (with its
providers reachable: `init -backend=false` runs in a copy of terraform/).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
STREAMING_DESTINATION = "module.table.aws_dynamodb_kinesis_streaming_destination.this"
DELIVERY_STREAM = "module.delivery_stream.aws_kinesis_firehose_delivery_stream.this"
_EDGE = re.compile(r'^\s*"([^"]+)"\s*->\s*"([^"]+)"', re.MULTILINE)


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


def parse_edges(dot: str) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for source, target in _EDGE.findall(dot):
        edges[source].add(target)
    return edges


def test_depends_on_follows_paths() -> None:
    # GIVEN a -> b -> c / THEN a depends on c, c not on a
    edges = parse_edges('"a" -> "b";\n"b" -> "c";\n')
    assert depends_on(edges, "a", "c")
    assert not depends_on(edges, "c", "a")


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    root = tmp_path_factory.mktemp("terraform") / "terraform"
    shutil.copytree(TERRAFORM, root, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    subprocess.run(  # noqa: S603 - terraform from PATH, fixed arguments
        [terraform, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=300,
    )
    dot = subprocess.run(  # noqa: S603 - terraform from PATH, fixed arguments
        [terraform, "graph"], cwd=root, check=True, capture_output=True, text=True, timeout=300
    ).stdout
    return parse_edges(dot)


def test_streaming_destination_waits_for_the_delivery_stream(graph: dict[str, set[str]]) -> None:
    # GIVEN the root module's graph / THEN enabling the destination comes after the delivery stream
    assert depends_on(graph, STREAMING_DESTINATION, DELIVERY_STREAM)
    # AND not the other way round (the delivery stream must not wait for DynamoDB)
    assert not depends_on(graph, DELIVERY_STREAM, STREAMING_DESTINATION)

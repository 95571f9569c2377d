"""The archive-view SQL: one source for DuckDB (the CLI) and Athena (Terraform's named queries)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import hcl2
import pytest
import sqlglot

from change_archive.query_sql import REPOSITORY_SQL_DIR, QuerySQLError, read_sql, render, view_sql

REPO = Path(__file__).resolve().parents[3]
TRINO_VALUES = {
    "changes_table": '"change_archive"."changes"',
    "change_log": '"change_archive"."change_log"',
    "distinct_changes": '"change_archive"."distinct_changes"',
}


def trino_views() -> dict[str, str]:
    """The SQL as the Terraform module renders it (main.tf's locals.queries)."""
    derived = read_sql("item_key_trino").strip()
    return {
        "change_log": view_sql("change_log", {**TRINO_VALUES, "derived_item_key": derived}),
        "distinct_changes": view_sql("distinct_changes", TRINO_VALUES),
        "latest_state": view_sql("state", {**TRINO_VALUES, "as_of_filter": ""}),
        "state_as_of": view_sql(
            "state", {**TRINO_VALUES, "as_of_filter": "WHERE event_time_us <= ?"}
        ),
    }


@pytest.mark.parametrize("name", ["change_log", "distinct_changes", "latest_state", "state_as_of"])
def test_every_view_parses_as_trino_sql(name: str) -> None:
    # GIVEN the SQL Terraform puts into the named queries WHEN sqlglot parses it as Trino
    statement = trino_views()[name]
    if name != "state_as_of":
        statement = f'CREATE OR REPLACE VIEW "change_archive"."{name}" AS\n{statement}'
    parsed = sqlglot.parse_one(statement, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    # THEN it is one statement that reads what it should
    assert parsed is not None
    tables = {table.name for table in parsed.find_all(sqlglot.exp.Table)}
    assert tables & {"changes", "change_log", "distinct_changes"}


LINES = [
    # An old line (no ordering fields) in seconds, one in ms, a new line with the fields.
    {"event_id": "a", "event_name": "INSERT", "event_time": "2026-11-27T07:20:00Z",
     "keys": {"sk": 5, "pk": "user#1"}, "new_image": {"pk": "user#1", "sk": 5, "v": 1},
     "change_source": "stream", "sequence_number": "7"},
    {"event_id": "b", "event_name": "MODIFY", "event_time": "2026-11-27T07:20:00.500Z",
     "keys": {"pk": "user#1", "sk": 5}, "new_image": {"pk": "user#1", "sk": 5, "v": 2},
     "change_source": "backfill", "sequence_number": None},
    {"event_id": "c", "event_name": "REMOVE", "event_time": "2026-11-27T07:20:00.500001Z",
     "keys": {"pk": "user#2"}, "new_image": None, "change_source": "stream",
     "sequence_number": "9", "item_key": '{"pk":"user#2"}', "event_time_us": 1795764000500001,
     "change_order": f"{1795764000500001:017d}1" + "9".rjust(129, "0")},
]  # fmt: skip


def test_change_log_derives_the_fields_as_the_transform_writes_them(tmp_path: Path) -> None:
    # GIVEN old and new archive lines
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES))
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE changes AS SELECT * FROM read_json(?, format = 'newline_delimited',"
        " columns = {event_id: 'VARCHAR', event_name: 'VARCHAR', event_time: 'VARCHAR',"
        " keys: 'JSON', new_image: 'JSON', change_source: 'VARCHAR', sequence_number: 'VARCHAR',"
        " item_key: 'VARCHAR', event_time_us: 'BIGINT', change_order: 'VARCHAR'})",
        [str(path)],
    )
    # (columns of the Glue table this test does not need)
    for column in ("table_name", "old_image", "shard_id", "aws_region"):
        connection.execute(f"ALTER TABLE changes ADD COLUMN {column} VARCHAR")
    connection.execute("ALTER TABLE changes ADD COLUMN is_ttl_delete BOOLEAN")
    connection.execute("ALTER TABLE changes ADD COLUMN size_bytes BIGINT")
    derived = read_sql("item_key_duckdb").strip()
    sql = view_sql("change_log", {"changes_table": "changes", "derived_item_key": derived})
    # WHEN change_log reads them
    rows = connection.execute(
        f"SELECT event_id, item_key, event_time_us, change_order FROM ({sql}) ORDER BY event_id"
    ).fetchall()
    # THEN old lines get the fields the transform writes (names sorted, µs, 147 digits)
    assert rows[0] == (
        "a",
        '{"pk":"user#1","sk":5}',
        1795764000000000,
        f"{1795764000000000:017d}1" + "7".rjust(129, "0"),
    )
    assert rows[1] == (
        "b",
        '{"pk":"user#1","sk":5}',
        1795764000500000,
        f"{1795764000500000:017d}0" + "0" * 129,
    )
    # AND a line that has them keeps its own
    assert rows[2][1:] == (
        LINES[2]["item_key"],
        LINES[2]["event_time_us"],
        LINES[2]["change_order"],
    )
    assert all(len(order) == 147 for *_, order in rows)


def test_template_without_a_value_is_an_error() -> None:
    # GIVEN a template WHEN a value is missing THEN a clear error, as templatefile() gives
    with pytest.raises(QuerySQLError, match=r"\$\{changes_table\}"):
        render("SELECT 1 FROM ${changes_table}", {})


def test_sql_files_live_where_terraform_reads_them_and_terraformignore_keeps_them() -> None:
    # GIVEN the repository WHEN the SQL directory is looked for THEN it is under terraform/
    assert REPOSITORY_SQL_DIR == REPO / "terraform/modules/archive-queries/sql"
    assert sorted(p.name for p in REPOSITORY_SQL_DIR.glob("*.sql")) == [
        "change_log.sql", "distinct_changes.sql", "item_key_duckdb.sql", "item_key_trino.sql",
        "state.sql",
    ]  # fmt: skip
    # AND .terraformignore excludes neither terraform/modules/*/sql nor *.sql
    ignored = [
        line.strip()
        for line in (REPO / ".terraformignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not any(
        pattern.endswith(".sql") or "archive-queries" in pattern or pattern in ("terraform/",)
        for pattern in ignored
    )


@pytest.mark.slow
def test_an_installed_wheel_reads_the_sql_as_package_data(tmp_path: Path) -> None:
    # GIVEN a wheel built from the repository
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            Path(name).name: archive.read(name).decode()
            for name in archive.namelist()
            if name.startswith("change_archive/sql/")
        }
    # THEN it holds the same SQL files
    assert packaged == {p.name: p.read_text() for p in REPOSITORY_SQL_DIR.glob("*.sql")}
    # AND the package, installed from the wheel alone (unpacked: what pip install does), reads
    # them from there
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    script = (
        "from change_archive import query_sql; import sys;"
        "text = query_sql.read_sql('state');"
        f"sys.exit(0 if 'recency' in text and query_sql.__file__.startswith({str(site)!r}) else 1)"
    )
    subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {script}"],
        check=True,
        timeout=120,
    )


def test_localstack_switches_the_athena_queries_off() -> None:
    # GIVEN localstack.tfvars (LocalStack community: no Athena, no Glue) WHEN read
    settings = hcl2.loads((REPO / "terraform/localstack.tfvars").read_text())
    # THEN the queries and the catalog they need are off
    assert settings["enable_archive_queries"] is False
    assert settings["enable_archive_catalog"] is False

"""The SQL of the archive views, shared with Terraform's Athena named queries.

The files live in ``terraform/modules/archive-queries/sql`` because HCP Terraform uploads only
``terraform/`` and Terraform reads them at plan time (``templatefile``). An installed wheel carries
the same files as the package ``change_archive.sql`` (``[tool.setuptools.package-dir]`` in
pyproject.toml); a source checkout reads them from the repository.

Templates use Terraform's ``${name}`` interpolation, so one text renders identically in both; a
name without a value is an error in both.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

from change_archive.archive import ArchiveError

SQL_PACKAGE: Final = "change_archive.sql"
# src/change_archive/query_sql.py -> repository root
REPOSITORY_SQL_DIR: Final = (
    Path(__file__).resolve().parents[2] / "terraform" / "modules" / "archive-queries" / "sql"
)
_PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class QuerySQLError(ArchiveError):
    """The SQL files cannot be found or a template lacks a value."""


@cache
def read_sql(name: str) -> str:
    """The text of ``<name>.sql``: package data when installed, else the repository's file."""
    filename = f"{name}.sql"
    try:
        return resources.files(SQL_PACKAGE).joinpath(filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, TypeError, FileNotFoundError, NotADirectoryError):
        pass
    path = REPOSITORY_SQL_DIR / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuerySQLError(
            f"{filename} not found: neither package data of {SQL_PACKAGE} (an installed wheel)"
            f" nor {path} (a source checkout)"
        ) from None


def render(template: str, values: dict[str, str]) -> str:
    """``${name}`` replaced by ``values[name]``, as Terraform's ``templatefile`` does."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise QuerySQLError(f"SQL template needs a value for ${{{name}}}")
        return values[name]

    return _PLACEHOLDER.sub(value, template)


def view_sql(name: str, values: dict[str, str]) -> str:
    """``<name>.sql`` rendered with ``values`` (the ``;`` and trailing newline left out)."""
    return render(read_sql(name), values).strip().rstrip(";")

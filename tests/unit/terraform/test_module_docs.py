"""The Inputs/Outputs tables of each Terraform README match its variables.tf and outputs.tf.

terraform-docs is not obtainable here, so the READMEs are kept by hand; these tests catch drift:
a variable or output missing from (or extra in) a table, and a Default cell that disagrees with
the variable's default (``required`` when it has none).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
MODULE_DIRS = [TERRAFORM, *sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())]

REQUIRED = "required"
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Table:
    """A README table: each row's name, and its Default cell when the table has that column."""

    names: list[str]
    defaults: dict[str, str]


def _unquote(key: str) -> str:
    return key.strip('"')


def _literal(value: Any, where: str) -> Any:
    """A python-hcl2 value as plain data (strings come quoted; expressions are refused)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"' and "${" not in value:
            return json.loads(value)
        raise AssertionError(f"{where}: default {value!r} is an expression, not a literal")
    if isinstance(value, list):
        return [_literal(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        return {
            _unquote(key): _literal(item, f"{where}.{key}")
            for key, item in value.items()
            if not key.startswith("__")
        }
    raise AssertionError(f"{where}: unexpected value {value!r}")


def _blocks(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        parsed = hcl2.load(file)
    return {_unquote(name): body for block in parsed.get(kind, []) for name, body in block.items()}


def variable_defaults(module: Path) -> dict[str, Any]:
    """Each variable's literal default, or _NO_DEFAULT when it is required."""
    return {
        name: _literal(body["default"], f"{module.name}/variables.tf: {name}")
        if "default" in body
        else _NO_DEFAULT
        for name, body in _blocks(module / "variables.tf", "variable").items()
    }


def output_names(module: Path) -> list[str]:
    return list(_blocks(module / "outputs.tf", "output"))


def _cells(line: str) -> list[str]:
    # A cell may hold an escaped pipe (\|); split on the others only.
    cells, current, previous = [], "", ""
    for char in line.strip().strip("|"):
        if char == "|" and previous != "\\":
            cells.append(current.strip())
            current = ""
        else:
            current += char
        previous = char
    cells.append(current.strip())
    return cells


def readme_table(readme: str, heading: str) -> Table:
    """The first table under ``## <heading>``; the Name column's backticks are removed."""
    lines = readme.splitlines()
    try:
        start = lines.index(f"## {heading}")
    except ValueError:
        raise AssertionError(f"no '## {heading}' section") from None
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append(_cells(line))
        elif rows:
            break
    if len(rows) < 2:
        raise AssertionError(f"no table under '## {heading}'")
    header, body = rows[0], rows[2:]
    name_at = header.index("Name")
    default_at = header.index("Default") if "Default" in header else None
    names = [row[name_at].strip("`") for row in body]
    defaults = {}
    if default_at is not None:
        defaults = {row[name_at].strip("`"): row[default_at] for row in body}
    return Table(names, defaults)


def default_drift(documented: Mapping[str, str], actual: Mapping[str, Any]) -> list[str]:
    """Default cells that disagree with variables.tf: `required` ⇔ no default, else the literal."""
    problems = []
    for name, cell in documented.items():
        if name not in actual:
            continue  # reported as an extra row
        expected = actual[name]
        if expected is _NO_DEFAULT:
            if cell != REQUIRED:
                problems.append(f"{name}: documented {cell}, but it is required")
            continue
        if cell == REQUIRED:
            problems.append(f"{name}: documented as required, but defaults to {expected!r}")
            continue
        try:
            value = json.loads(cell.strip("`"))
        except json.JSONDecodeError:
            problems.append(f"{name}: Default cell {cell} is not a literal")
            continue
        if value != expected:
            problems.append(f"{name}: documented default {value!r}, variables.tf has {expected!r}")
    return problems


def name_drift(documented: list[str], actual: list[str]) -> list[str]:
    problems = [f"{name}: missing from the table" for name in actual if name not in documented]
    problems += [
        f"{name}: in the table, not in the module" for name in documented if name not in actual
    ]
    twice = sorted(name for name in set(documented) if documented.count(name) > 1)
    problems += [f"{name}: listed twice" for name in twice]
    return problems


@pytest.fixture(params=MODULE_DIRS, ids=lambda path: path.relative_to(REPO).as_posix())
def module(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_inputs_table_matches_variables(module: Path) -> None:
    # GIVEN the module's variables and its README's Inputs table
    actual = variable_defaults(module)
    table = readme_table((module / "README.md").read_text(encoding="utf-8"), "Inputs")

    # WHEN they are compared
    problems = name_drift(table.names, list(actual)) + default_drift(table.defaults, actual)

    # THEN every variable is documented once, with its default (or as required)
    assert not table.defaults or set(table.defaults) == set(table.names)
    assert not problems, f"{module.name}/README.md Inputs drifted:\n" + "\n".join(problems)


def test_outputs_table_matches_outputs(module: Path) -> None:
    # GIVEN the module's outputs and its README's Outputs table
    actual = output_names(module)
    table = readme_table((module / "README.md").read_text(encoding="utf-8"), "Outputs")

    # WHEN / THEN every output is documented once and nothing else is
    problems = name_drift(table.names, actual)
    assert not problems, f"{module.name}/README.md Outputs drifted:\n" + "\n".join(problems)


SAMPLE = """# sample

## Inputs

| Name | Description | Type | Default |
|---|---|---|---|
| `name` | A \\| pipe. | `string` | required |
| `size` | Size. | `number` | `64` |
| `gone` | Removed long ago. | `bool` | `true` |

## Outputs

| Name | Description |
|---|---|
| `arn` | ARN. |
"""


def test_drift_is_reported() -> None:
    # GIVEN a table whose rows and defaults differ from the variables
    table = readme_table(SAMPLE, "Inputs")
    actual = {"name": "x", "size": 128, "mode": _NO_DEFAULT}

    # WHEN compared
    problems = name_drift(table.names, list(actual)) + default_drift(table.defaults, actual)

    # THEN the missing, extra, wrongly-required and wrong-default rows are all named
    assert problems == [
        "mode: missing from the table",
        "gone: in the table, not in the module",
        "name: documented as required, but defaults to 'x'",
        "size: documented default 64, variables.tf has 128",
    ]
    assert readme_table(SAMPLE, "Outputs").names == ["arn"]


def test_missing_section_is_reported() -> None:
    # GIVEN a README without an Outputs table / WHEN read / THEN it is an error, not an empty table
    with pytest.raises(AssertionError, match="no '## Outputs' section"):
        readme_table(SAMPLE.split("## Outputs", maxsplit=1)[0], "Outputs")

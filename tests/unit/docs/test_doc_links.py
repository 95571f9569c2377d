"""Every relative link in the project's Markdown points at a file that exists (and a heading in it).

Anchors follow GitHub's rule: lower-case, punctuation other than `-` and `_` removed, spaces to `-`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def markdown_files() -> list[Path]:
    skip = {".git", "node_modules", ".terraform", "build", "dist", ".localstack", ".pytest_cache"}

    def kept(path: Path) -> bool:
        parts = path.relative_to(REPO).parts
        return not skip.intersection(parts) and not any(p.startswith(".venv") for p in parts)

    return sorted(p for p in REPO.rglob("*.md") if kept(p))


def anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {anchor(h) for h in HEADING.findall(text)}


def broken_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    problems = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append(f"{target}: no heading #{fragment} in {resolved.name}")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path: Path) -> None:
    # GIVEN a Markdown file of the project / WHEN its relative links are resolved
    problems = broken_links(path)
    # THEN each names an existing file, and an existing heading when it has an anchor
    assert not problems, f"{path.relative_to(REPO)}:\n" + "\n".join(problems)


def test_a_broken_link_is_reported(tmp_path: Path) -> None:
    # GIVEN a file with a missing target and a missing anchor
    (tmp_path / "a.md").write_text("# Title\n[x](b.md) [y](#nope) [z](#title)\n", encoding="utf-8")
    # WHEN checked / THEN both are reported, the good anchor is not
    assert broken_links(tmp_path / "a.md") == [
        "b.md: no such file",
        "#nope: no heading #nope in a.md",
    ]

"""The documentation agrees with the repository: the README stays short, links resolve,
and the configuration table in docs/operations.md lists exactly what .env.example does."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
OPERATIONS = DOCS / "operations.md"
ENV_EXAMPLE = ROOT / ".env.example"

README_MAX_LINES = 150
# A variable line of .env.example, set or commented out: "NAME=" or "# NAME=".
ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*(?:__\w+)?)=")
# The first cell of a configuration row: one variable name in backticks.
TABLE_NAME = re.compile(r"`([A-Z][A-Z0-9_]*(?:__\w+)?)`")
# Markdown links: [text](target#fragment); either part may be empty.
LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
# Documented in the table but not in .env.example, each with the reason. Once a name is
# added to .env.example it must leave this set (test_allowed_gaps_are_still_gaps).
NOT_IN_ENV_EXAMPLE: set[str] = set()


def env_example_names() -> list[str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    return [match.group(1) for line in lines if (match := ENV_LINE.match(line))]


def configuration_rows() -> list[list[str]]:
    """The cells of each body row of the first table under '## Configuration'."""
    lines = OPERATIONS.read_text().splitlines()
    start = lines.index("## Configuration")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break  # the table has ended
    header, separator, *body = rows
    assert header[0] == "variable", header
    assert set("".join(separator)) <= set("-: "), separator
    return body


def configuration_names() -> list[str]:
    names = []
    for cells in configuration_rows():
        match = TABLE_NAME.fullmatch(cells[0])
        assert match, f"the first cell must be one `VARIABLE` in backticks: {cells[0]!r}"
        assert len(cells) == 3 and all(cells), f"variable | default | what it does: {cells}"
        names.append(match.group(1))
    return names


def test_configuration_table_lists_each_variable_once() -> None:
    names = configuration_names()
    assert names
    assert sorted(name for name in set(names) if names.count(name) > 1) == []


def test_every_env_example_variable_is_in_the_configuration_table() -> None:
    missing = sorted(set(env_example_names()) - set(configuration_names()))
    assert missing == [], "add a row to the table in docs/operations.md"


def test_every_configuration_variable_is_in_env_example() -> None:
    missing = sorted(set(configuration_names()) - set(env_example_names()) - NOT_IN_ENV_EXAMPLE)
    assert missing == [], "add a line to .env.example (commented out if it has a default)"


def test_allowed_gaps_are_still_gaps() -> None:
    names = set(env_example_names())
    assert set(configuration_names()) >= NOT_IN_ENV_EXAMPLE
    assert NOT_IN_ENV_EXAMPLE.isdisjoint(names), "now in .env.example: drop it from the set"


def test_readme_is_a_five_minute_read() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES


def anchors(document: Path) -> set[str]:
    """The fragments GitHub gives a document's headings (lower case, no punctuation)."""
    text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in HEADING.findall(text)
    }


def test_readme_maps_every_document_in_docs() -> None:
    linked = {
        target for target, _ in LINK.findall(README.read_text()) if target.startswith("docs/")
    }
    assert linked, "the README links no document in docs/"
    missing = sorted(target for target in linked if not (ROOT / target).is_file())
    assert missing == []
    unlisted = sorted(
        path.relative_to(ROOT).as_posix()
        for path in DOCS.glob("*.md")
        if path.relative_to(ROOT).as_posix() not in linked
    )
    assert unlisted == [], "give each document a line in the README's map"


def test_relative_links_in_the_documentation_resolve() -> None:
    broken = []
    for document in [README, ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]:
        for target, fragment in LINK.findall(document.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = document.parent / target if target else document
            if not path.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target}")
            elif fragment and path.suffix == ".md" and fragment not in anchors(path):
                broken.append(f"{document.relative_to(ROOT)}: {target}#{fragment}")
    assert broken == []

"""The repository tests on its own: fixtures inside it, nothing read from beside the checkout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.outside_reads import OutsideReads
from tests.paths import FIXTURES, ROOT

ROOT_AT = Path("/work/clone")


@pytest.mark.parametrize(
    ("path", "outside"),
    [
        ("/work/shared/fixtures/pipecat/session-detail-seed.json", True),  # beside the checkout
        ("/work/clone/.." + "/shared/fixtures/x.json", True),  # the same, spelled relative
        ("/work/other-clone/tests/x.json", True),
        ("/work/clone/tests/fixtures/pipecat/session-detail-seed.json", False),
        ("/work/clone/bot/app.py", False),
        ("/tmp/pytest-of-root/db.sqlite", False),  # temp files are the tests' own
        ("/usr/lib/python3.11/json/__init__.py", False),
    ],
)
def test_a_read_beside_the_checkout_is_caught(path: str, outside: bool) -> None:
    guard = OutsideReads(ROOT_AT, temp=Path("/tmp"))
    guard.audit("open", (path, "r", 0))
    assert guard.is_outside(path) is outside
    assert (path in guard.found) is outside


@pytest.mark.parametrize(
    ("path", "outside"),
    [
        ("/tmp/shared/fixtures/pipecat/session-detail-seed.json", True),  # the handed folder, still
        ("/tmp/pytest-of-root/pytest-3/test_x0/db.sqlite", False),  # the tests' own temp files
        ("/tmp/ci-clone/tests/fixtures/slack/block-actions.json", False),
    ],
)
def test_a_checkout_in_the_temp_folder_keeps_its_temp_files(path: str, outside: bool) -> None:
    guard = OutsideReads(Path("/tmp/ci-clone"), temp=Path("/tmp"))
    assert guard.is_outside(path) is outside


def test_only_open_events_count() -> None:
    guard = OutsideReads(ROOT_AT)
    guard.audit("os.listdir", ("/work/shared",))
    guard.audit("open", (3, "r", 0))  # a file descriptor, not a path
    assert guard.found == set()


def test_every_shared_fixture_kind_is_in_the_repository() -> None:
    names = {p.name for p in (FIXTURES / "pipecat").glob("*.json")}
    assert {"agent-status-healthy.json", "agents-list.json", "logs-session-error.json"} <= names
    assert (FIXTURES / "slack" / "message-shortcut.json").is_file()


def test_no_source_reaches_beside_the_checkout() -> None:
    pattern = re.compile(r"\.\./shared|/shared/fixtures|parents\[\d\]\s*/\s*[\"']shared[\"']")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "tests", "bench", "scripts")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix in {".py", ""}
        and path != Path(__file__)
        and pattern.search(path.read_text(errors="ignore"))
    ]
    assert offenders == []


def test_no_source_cites_a_document_outside_the_repository() -> None:
    """Docstrings and comments point at code in the repository (or ARCHITECTURE.md), never at a
    design note or a fixture folder a reader of the repository does not have."""
    pattern = re.compile(r"design\.md|(?<![\w/])shared/fixtures")
    files = [ROOT / "pyproject.toml"] + [
        path
        for folder in ("bot", "tests", "bench", "scripts")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix in {".py", ".md", ""} and path != Path(__file__)
    ]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text(errors="ignore").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_the_architecture_map_points_at_what_exists() -> None:
    """ARCHITECTURE.md is read instead of the code: a file or module it names that was moved or
    removed sends a newcomer nowhere. Paths (`bot/…`, `tests/…`, globs too) and dotted modules
    (`bot.alerts.delivery`) in backticks must resolve."""
    text = re.sub(r"```.*?```", "", (ROOT / "ARCHITECTURE.md").read_text(), flags=re.S)
    names = set(re.findall(r"`([^`\n]+)`", text))
    paths = {n for n in names if re.fullmatch(r"(bot|tests|bench|scripts|docs|\.ci)/[\w./*-]*", n)}
    modules = {n for n in names if re.fullmatch(r"bot(\.\w+)+", n)}
    missing = [p for p in sorted(paths) if not any(ROOT.glob(p.rstrip("/")))]
    missing += [
        m
        for m in sorted(modules)
        if not (ROOT / f"{m.replace('.', '/')}.py").is_file() and not (ROOT / m.replace(".", "/")).is_dir()
    ]
    assert len(paths) > 50
    assert missing == []

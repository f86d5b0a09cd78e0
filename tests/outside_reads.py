"""A guard that the suite reads nothing beside the checkout.

The repository must test on its own: a clone with nothing next to it has to pass. The material we
are handed lives next to the checkout (the shared folder), so a test that reads from there passes here
and fails for everyone else. An audit hook sees every `open()` of the run (tests, fixtures, the
app under test in this process) and records paths that are beside the checkout but not inside it;
the session fails if any were read.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

#: The folder we are handed material in, beside the checkout.
HANDED = "shared"


class OutsideReads:
    def __init__(self, root: Path, temp: Path | None = None) -> None:
        self.root = root.resolve()
        # A checkout may itself live in the temp folder (CI clones anywhere): the tests' own temp
        # files are then "beside" it, and are fine. The handed-material folder never is.
        self.temp = (temp or Path(tempfile.gettempdir())).resolve()
        self.found: set[str] = set()

    def is_outside(self, path: str | os.PathLike[str]) -> bool:
        """True for a path beside the checkout (a sibling of the repository root, or under one)."""
        absolute = Path(os.path.abspath(os.fspath(path)))
        if not absolute.is_relative_to(self.root.parent) or absolute.is_relative_to(self.root):
            return False
        return not absolute.is_relative_to(self.temp) or absolute.is_relative_to(self.root.parent / HANDED)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], str | os.PathLike):
            return
        if self.is_outside(args[0]):
            self.found.add(os.fspath(args[0]))

    def install(self) -> None:
        sys.addaudithook(self.audit)

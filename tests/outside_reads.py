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
from pathlib import Path
from typing import Any


class OutsideReads:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.found: set[str] = set()

    def is_outside(self, path: str | os.PathLike[str]) -> bool:
        """True for a path beside the checkout (a sibling of the repository root, or under one)."""
        absolute = Path(os.path.abspath(os.fspath(path)))
        return absolute.is_relative_to(self.root.parent) and not absolute.is_relative_to(self.root)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], str | os.PathLike):
            return
        if self.is_outside(args[0]):
            self.found.add(os.fspath(args[0]))

    def install(self) -> None:
        sys.addaudithook(self.audit)

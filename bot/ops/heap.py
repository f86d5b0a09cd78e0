"""The app's heap after start-up, kept out of the garbage collector's full passes.

Everything built at start (imported modules, the Bolt app, SQLAlchemy's tables, pydantic's
validators: about 140 000 objects) lives as long as the process. A full (generation 2) pass
walks all of it: bench/ack.py caught one at 80 ms in the middle of a burst of commands, stalling
every ack waiting behind it. `gc.freeze()` moves what exists at start into the permanent
generation, which no pass walks; what the app allocates afterwards is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Freeze what exists now; the number of objects frozen."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    return gc.get_freeze_count()

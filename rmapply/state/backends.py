"""Which StateStore holds a project's state: the one place that names a backend's class.

Plan, refresh and apply see only the StateStore protocol (rmapply/state/store.py); a new backend
is its own module, a value of ``[state] backend`` and a branch here (docs/architecture.md,
"State backends"), and it passes the contract suite of tests/state/contract.py.
"""

from __future__ import annotations

from pathlib import Path

from rmapply.config import StateSection
from rmapply.state.store import RESTORE_COMMAND, LocalStateStore, StateStore


def open_state_store(
    section: StateSection,
    directory: Path,
    *,
    local_file: Path | None = None,
    ignore_previous_state: bool = False,
    restore_command: str = RESTORE_COMMAND,
) -> StateStore:
    """The store ``[state]`` of the project in ``directory`` names.

    ``local_file``: a local state file there whatever ``[state] backend`` says (``--local``
    rehearsals keep their own state). ``ignore_previous_state``: start empty beside traces of
    an earlier state; ``restore_command``: the restore command as the user should type it.
    """
    if local_file is not None:
        return LocalStateStore(
            local_file,
            keep_versions=section.versions,
            ignore_previous_state=ignore_previous_state,
            restore_command=restore_command,
        )
    return LocalStateStore(
        directory / section.path,
        keep_versions=section.versions,
        ignore_previous_state=ignore_previous_state,
        restore_command=restore_command,
    )

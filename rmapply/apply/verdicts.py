"""The verdict on a request of unknown outcome, and the commands that settle one by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rmapply.state import ResourceRecord


class Outcome(StrEnum):
    """How a pending operation was settled."""

    ADOPTED = "adopted"  # the lost create did happen: the one matching job is now in state
    DONE = "done"  # the lost submit/delete/cancel did happen: recorded
    NOT_DONE = "not done"  # it did not happen (or is re-planned safely): dropped
    UNRESOLVED = "unresolved"  # cannot tell: stays pending, shown with commands by every plan


@dataclass(frozen=True)
class Resolution:
    """The verdict on one pending operation, and what to write into the state for it."""

    address: str
    action: str
    outcome: Outcome
    message: str
    remote_id: str | None = None
    record: ResourceRecord | None = None  # to upsert (adopted / done)
    remove: bool = False  # the resource is gone (a delete that happened)
    candidates: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


def settle_commands(
    address: str, placeholder: str, candidates: Sequence[str] = ()
) -> tuple[str, ...]:
    """``rmapply import ADDRESS ID`` for each candidate (else a placeholder), then forget-intent."""
    imports = [f"rmapply import {address} {c}" for c in candidates] or [
        f"rmapply import {address} {placeholder}"
    ]
    return (*imports, f"rmapply state forget-intent {address}")

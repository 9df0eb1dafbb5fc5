"""Where apply events go on the command line: JSON lines, plain lines, or plain lines with a
live board of progress bars redrawn below them on a terminal."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

import click

from rmapply.apply.events import ApplyEvent, OutcomeResolved, ProgressReported
from rmapply.apply.recovery import Resolution
from rmapply.apply.watch import JobStatus
from rmapply.output.apply_events import EventLines, ProgressBoard, json_line
from rmapply.output.dialect import versioned
from rmapply.state import StateDocument
from rmapply.wire import JobState


class EventPrinter:
    """Prints apply events as they come from every worker: JSON lines, plain lines, or lines
    with a live board of progress bars redrawn below them on a terminal."""

    def __init__(self, stream: TextIO, *, json_lines: bool, live: bool) -> None:
        self.stream = stream
        self.json_lines = json_lines
        self.live = live and not json_lines
        self.lines = EventLines(show_progress=not self.live)
        self.board = ProgressBoard()
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()
        self._gone = False

    def __call__(self, event: ApplyEvent) -> None:
        """Show one event (thread-safe)."""
        with self._lock:
            if self.json_lines:
                self._write(json_line(event) + "\n")
                return
            text = self.lines.lines(event)
            changed = self.live and self.board.update(event)
            if text or (changed and self._due(event)):
                self._redraw(text)

    def data(self, payload: dict[str, Any]) -> None:
        """A non-event record of the JSON stream (the plan, the summary)."""
        with self._lock:
            self._write(json.dumps(versioned(payload), separators=(",", ":")) + "\n")

    def echo(self, text: str) -> None:
        """A plain line (between events; keeps the board below it)."""
        with self._lock:
            self._redraw([text])

    def close(self) -> None:
        """Leave the board as it is (its last state stays on screen)."""
        with self._lock:
            self._drawn = 0

    def _due(self, event: ApplyEvent) -> bool:
        # a terminal is redrawn at most ten times a second for progress alone
        if not isinstance(event, ProgressReported):
            return True
        now = time.monotonic()
        if now - self._last_draw < 0.1:
            return False
        self._last_draw = now
        return True

    def _redraw(self, text: list[str]) -> None:
        out = []
        if self.live and self._drawn:
            out.append(f"\x1b[{self._drawn}F\x1b[J")  # up to the board's first line, clear below
        out.extend(line + "\n" for line in text)
        frame = self.board.frame(shutil.get_terminal_size((100, 24)).columns) if self.live else []
        out.extend(line + "\n" for line in frame)
        self._drawn = len(frame)
        self._write("".join(out))

    def _write(self, text: str) -> None:
        if self._gone:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            # the reader went away (``rmapply apply ... | head``): the apply goes on to the end
            # and records everything; only the showing stops
            self._gone = True
            _silence(self.stream)


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s file at /dev/null, so that later writes and the flush at exit pass."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (a test's buffer): nothing to redirect
        pass


def is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def open_printer(json_lines: bool) -> Iterator[EventPrinter]:
    """The printer for this command's stdout (live on a terminal), closed at the end."""
    printer = EventPrinter(sys.stdout, json_lines=json_lines, live=is_terminal(sys.stdout))
    try:
        yield printer
    finally:
        printer.close()


def report_resolutions(
    printer: EventPrinter, resolutions: list[Resolution], at: datetime | None = None
) -> None:
    """Say how each request of unknown outcome from an earlier apply was settled (an
    ``outcome_resolved`` event each, with the commands that settle an unresolved one)."""
    at = at or datetime.now(UTC)
    for r in resolutions:
        printer(
            OutcomeResolved(
                at, r.address, r.action, r.outcome.value, r.remote_id, r.message, r.commands
            )
        )


def status_line(row: JobStatus) -> str:
    """One line of ``rmapply status``: the job's state, progress, what it waits for, its id."""
    state = row.state or ("gone" if row.gone else "unreadable")
    parts = [f"{row.address}: {state}"]
    if row.percentage is not None and state == JobState.ACTIVE:
        parts.append(f"{row.percentage:.0f}%")
    if row.step:
        parts.append(row.step)
    if row.inputs is not None:
        parts[-1] += ","
        parts.append(row.inputs.text())
    parts.append(f"[id={row.job_id}]")
    if row.estimated_cost is not None:
        parts.append(f"estimated cost {row.estimated_cost:g}")
    if row.error:
        parts.append(f"({row.error})")
    return " ".join(parts)


def print_status(rows: Sequence[JobStatus], document: StateDocument, *, json_lines: bool) -> None:
    """``rmapply status``: one line (or JSON object) per job, then the pending operations."""
    if json_lines:
        for row in rows:
            click.echo(json.dumps(versioned(row.to_json()), separators=(",", ":")))
        for op in document.pending.values():
            pending = {
                "address": op.address,
                "pending": op.action,
                "sentAt": op.sent_at.isoformat(),
            }
            click.echo(json.dumps(versioned(pending), separators=(",", ":")))
        return
    if not rows and not document.pending:
        click.echo("No jobs in state.")
    for row in rows:
        click.echo(status_line(row))
    for op in sorted(document.pending.values(), key=lambda o: o.address):
        click.echo(
            f"{op.address}: {op.action} of unknown outcome (sent {op.sent_at.isoformat()}); "
            "'rmapply plan' shows how to settle it"
        )

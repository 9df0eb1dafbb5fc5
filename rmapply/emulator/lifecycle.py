"""The simulated clock and the job lifecycle derived from it (state, progress, timestamps, cost).

Nothing runs in the background: a job's state is a pure function of its schedule (fixed when it is
submitted) and the simulated time at which it is read.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from rmapply.wire import JobState, ProgressState, Quality

QUEUE_SECONDS = 5
BASE_RUN_SECONDS = 60
RUN_SECONDS_PER_UNIT = 30
FAIL_MARKER = "[fail]"
QUALITY_FACTOR = {Quality.DRAFT: 0.5, Quality.MEDIUM: 1.0, Quality.EXTRA: 1.5}


def estimated_cost(
    giga_pixels: float | None,
    mega_points: float | None,
    mesh_quality: Quality | None,
    job_quality: Quality | None,
) -> float:
    """The documented cost formula: round((gigaPixels + megaPoints / 10) * factor, 2)."""
    quality = mesh_quality or job_quality or Quality.MEDIUM
    return round(((giga_pixels or 0.0) + (mega_points or 0.0) / 10) * QUALITY_FACTOR[quality], 2)


def run_seconds(giga_pixels: float | None, mega_points: float | None) -> int:
    """Simulated processing time of a job: 60 s plus 30 s per (gigaPixels + megaPoints / 10)."""
    units = max(0.0, giga_pixels or 0.0) + max(0.0, mega_points or 0.0) / 10
    return BASE_RUN_SECONDS + math.ceil(RUN_SECONDS_PER_UNIT * units)


class SimClock:
    """Simulated milliseconds since the epoch: wall time scaled by ``speed`` plus ``advance()``.

    The clock is anchored at a checkpoint (wall ms, simulated ms); it runs ``speed`` simulated
    seconds per real second from there. ``platform_now_ms`` is the wall clock plus everything ever
    advanced: tokens expire and rate limits refill in real time, and ``advance()`` moves them on.
    """

    def __init__(
        self,
        speed: float,
        anchor: tuple[int, int, float] | None = None,
        advanced_ms: int = 0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        now = self._wall_ms()
        if anchor is None:
            sim = now
        else:
            # Time kept running while the emulator was stopped, at the speed it had then.
            wall_at, sim_at, old_speed = anchor
            sim = sim_at + max(0, round((now - wall_at) * old_speed))
        self._anchor = (now, sim)
        self._speed = speed
        self._advanced_ms = advanced_ms

    def _wall_ms(self) -> int:
        return int(self._wall() * 1000)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    @property
    def advanced_ms(self) -> int:
        """Total milliseconds added by ``advance()`` over the clock's life."""
        return self._advanced_ms

    def now_ms(self) -> int:
        """The simulated time, in milliseconds since the epoch."""
        with self._lock:
            wall_at, sim_at = self._anchor
            return sim_at + int((self._wall_ms() - wall_at) * self._speed)

    def platform_now_ms(self) -> int:
        """The clock of tokens and rate limits: wall time plus everything advanced."""
        return self._wall_ms() + self._advanced_ms

    def advance(self, seconds: float) -> None:
        """Move simulated time (and token time) forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        step = int(seconds * 1000)
        with self._lock:
            wall_at, sim_at = self._anchor
            self._anchor = (wall_at, sim_at + step)
            self._advanced_ms += step

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (the current simulated time is kept)."""
        if speed < 0:
            raise ValueError("speed must not be negative")
        now = self.now_ms()
        with self._lock:
            self._anchor = (self._wall_ms(), now)
            self._speed = speed

    def checkpoint(self) -> tuple[int, int, float]:
        """(wall ms, simulated ms, speed) to persist so a restart continues this clock."""
        sim = self.now_ms()
        return (self._wall_ms(), sim, self._speed)


class Schedule(NamedTuple):
    """When a submitted job starts and ends, and how; fixed at submission (times in sim ms)."""

    submitted_ms: int | None = None
    started_ms: int | None = None
    run_ms: int = 0
    ends_ms: int | None = None
    outcome: JobState = JobState.SUCCESS
    cancelled_ms: int | None = None

    @classmethod
    def at_submission(cls, now_ms: int, run_s: int, fails: bool) -> Schedule:
        """Queue for QUEUE_SECONDS, then run; a failing job fails halfway through its run."""
        started = now_ms + QUEUE_SECONDS * 1000
        run_ms = run_s * 1000
        ends = started + (run_ms // 2 if fails else run_ms)
        outcome = JobState.FAILED if fails else JobState.SUCCESS
        return cls(now_ms, started, run_ms, ends, outcome)

    def end_ms(self) -> int | None:
        """When the job is over (ended or cancelled), if submitted."""
        if self.ends_ms is None:
            return None
        if self.cancelled_ms is not None:
            return min(self.ends_ms, self.cancelled_ms)
        return self.ends_ms


class Snapshot(NamedTuple):
    """A job's lifecycle as seen at one simulated instant."""

    state: JobState
    progress_state: ProgressState
    percentage: int
    step: str
    submitted_ms: int | None
    started_ms: int | None
    ended_ms: int | None
    executed_fraction: float


# one for every unsubmitted job (immutable): a listing reads a thousand of them at a time
_UNSUBMITTED = Snapshot(JobState.UNSUBMITTED, ProgressState.UNSUBMITTED, 0, "", None, None, None, 0)


def snapshot(schedule: Schedule, now_ms: int, calibration: bool = False) -> Snapshot:
    """Derive state, progress and timestamps of a job at ``now_ms``."""
    if schedule.submitted_ms is None or schedule.started_ms is None:
        return _UNSUBMITTED
    end = schedule.end_ms()
    assert end is not None
    run = max(1, schedule.run_ms)
    if now_ms >= end:
        cancelled = schedule.cancelled_ms is not None and schedule.cancelled_ms < (
            schedule.ends_ms or end
        )
        state = JobState.CANCELLED if cancelled else schedule.outcome
        started = schedule.started_ms if schedule.started_ms <= end else None
        fraction = min(1.0, max(0.0, (end - schedule.started_ms) / run))
        percentage = 100 if state is JobState.SUCCESS else int(fraction * 100)
        return Snapshot(
            state, ProgressState.OVER, percentage, "", schedule.submitted_ms, started, end, fraction
        )
    if now_ms < schedule.started_ms:
        return Snapshot(
            JobState.ACTIVE,
            ProgressState.ACTIVE,
            0,
            "PrepareStep",
            schedule.submitted_ms,
            None,
            None,
            0.0,
        )
    fraction = (now_ms - schedule.started_ms) / run
    return Snapshot(
        JobState.ACTIVE,
        ProgressState.ACTIVE,
        min(99, int(fraction * 100)),
        _step(fraction, calibration),
        schedule.submitted_ms,
        schedule.started_ms,
        None,
        fraction,
    )


def _step(fraction: float, calibration: bool) -> str:
    """The step name shown by /progress for the part of the run reached."""
    if fraction < 0.1:
        return "PrepareStep"
    if fraction < 0.8:
        return "Calibration" if calibration else "Reconstruction"
    return "Production"


def nominal_units(cost: float | None, run_ms: int) -> float:
    """Processing units a complete run costs: the estimated cost, else 0.05 per simulated minute."""
    if cost is not None:
        return cost
    return round(run_ms / 1000 / 1200, 2)

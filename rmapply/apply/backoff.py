"""The poll schedule the progress endpoint asks for: 15, 30, 60, 120 s, restarting on movement."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rmapply.errors import ConfigError

# The jobs-progress description of the API: poll with back-off 15, 30, 60, 120 s and restart the
# sequence whenever the percentage changes.
API_POLL_INTERVALS: tuple[float, ...] = (15.0, 30.0, 60.0, 120.0)
POLL_SCALE_ENV = "RMAPPLY_POLL_SCALE"


@dataclass(frozen=True)
class PollSchedule:
    """Back-off intervals, multiplied by ``scale`` (1 against the service; small against an
    emulator whose clock runs fast)."""

    intervals: tuple[float, ...] = API_POLL_INTERVALS
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.intervals or any(i <= 0 for i in self.intervals):
            raise ValueError("poll intervals must be positive")
        if self.scale <= 0:
            raise ValueError("poll scale must be positive")

    def delay(self, step: int) -> float:
        """Seconds to wait before poll number ``step`` (0-based) since the last movement."""
        index = min(max(step, 0), len(self.intervals) - 1)
        return self.intervals[index] * self.scale


@dataclass
class PollCursor:
    """Where one job is in its schedule: the step, and the percentage last seen."""

    schedule: PollSchedule
    step: int = 0
    last_percentage: float | None = None

    def after_poll(self, percentage: float | None) -> float:
        """Record a poll's percentage and return the seconds until the next poll."""
        if percentage is not None and percentage != self.last_percentage:
            # movement (and the first answer) restarts the sequence
            self.last_percentage = percentage
            self.step = 0
        else:
            self.step += 1
        return self.schedule.delay(self.step)


def poll_scale(option: float | None, *, emulator_speed: float | None = None) -> float:
    """The scale to use: ``--poll-scale``, else ``RMAPPLY_POLL_SCALE``, else 1/speed of a local
    emulator, else 1 (the API's own schedule)."""
    if option is not None:
        return _positive(option, "--poll-scale")
    text = os.environ.get(POLL_SCALE_ENV, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(
                f"{POLL_SCALE_ENV}={text!r} is not a number",
                hint="use a positive factor such as 0.01, or unset it",
            ) from None
        return _positive(value, POLL_SCALE_ENV)
    if emulator_speed and emulator_speed > 0:
        return 1.0 / emulator_speed
    return 1.0


def _positive(value: float, where: str) -> float:
    if value <= 0:
        raise ConfigError(f"{where} must be positive, not {value}", hint="e.g. 0.01 or 1")
    return value

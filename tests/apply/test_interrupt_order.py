"""Ctrl-C while ``apply --wait`` waits on a chain: every event is given before apply returns its
summary, even a poll still on the wire when Ctrl-C came (after the summary nothing is shown)."""

from __future__ import annotations

import _thread
import sys
import threading
import time

from rmapply.apply.events import ApplyEvent, ProgressReported, WaitStopped
from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.state import LocalStateStore
from tests.apply.conftest import desired_state, in_chain_join, job_spec, run_apply

SUMMARY = "summary returned"  # the test's own mark in the event list, where apply returned


def _ctrl_c_once_joined_with_a_poll_on_the_wire(
    events: list[ApplyEvent | str], done: threading.Event
) -> None:
    """Ctrl-C (as a terminal sends it) once the main thread waits in the chain's join and the
    waiter has shown progress, so that a poll is on the wire (every request takes 300 ms)."""
    main = threading.main_thread().ident
    assert main is not None
    while not done.is_set():
        polled = any(isinstance(e, ProgressReported) for e in events)
        if polled and in_chain_join(sys._current_frames().get(main)):
            time.sleep(0.05)  # the next poll is sent 30 ms after the last: on the wire now
            _thread.interrupt_main()
            return
        time.sleep(0.005)


def test_ctrl_c_while_waiting_shows_every_event_before_the_summary(
    emulator_factory, token: str, store: LocalStateStore, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0, latency_ms=300)  # a job takes minutes; a poll 300 ms
    events: list[ApplyEvent | str] = []
    done = threading.Event()
    ctrl_c = threading.Thread(
        target=_ctrl_c_once_joined_with_a_poll_on_the_wire, args=(events, done), daemon=True
    )
    ctrl_c.start()
    try:
        with RealityModelingClient(
            slow.base_url, StaticToken(token), retry=RetryPolicy.fast()
        ) as client:
            summary = run_apply(
                desired_state(itwin_id, {"a": job_spec("A")}),
                store,
                client,
                events=events,  # type: ignore[arg-type]
                wait=True,
                wait_timeout=60,
            )
            events.append(SUMMARY)
            time.sleep(0.7)  # a poll still on the wire would have come back meanwhile
    finally:
        done.set()
        ctrl_c.join()
    assert summary.interrupted
    assert summary.still_running == ("jobs.a",)
    # the summary is the last thing: no progress after it, and 'Stopped waiting' before it
    assert events[-1] == SUMMARY, events[events.index(SUMMARY) :]
    assert (
        [e for e in events if isinstance(e, WaitStopped)]
        == [e for e in events[: events.index(SUMMARY)] if isinstance(e, WaitStopped)]
        != []
    )

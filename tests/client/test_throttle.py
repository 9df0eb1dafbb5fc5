"""The client's pacer (AIMD token bucket) on an injected clock: plain values, no threads."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmapply.client.throttle import INCREASE, Pause, Throttle


class Clock:
    """A clock that moves only when told to, and a sleep that moves it (or records only)."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 1000.0
        self.frozen = frozen
        self.slept: list[float] = []
        self.while_asleep: Callable[[], None] = lambda: None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if not self.frozen:
            self.now += seconds
        self.while_asleep()


def throttle(clock: Clock, **options: float) -> Throttle:
    return Throttle(clock=clock, sleep=clock.sleep, **options)


def paced_at(clock: Clock, sends_per_second: float, retry_after: float = 1.0) -> Throttle:
    """A throttle that sent at ``sends_per_second`` for two seconds, then got its first 429."""
    pacer = throttle(clock)
    for _ in range(int(2 * sends_per_second)):
        epoch = pacer.acquire()
        pacer.answered()
        clock.now += 1 / sends_per_second
    pause = pacer.rate_limited(epoch, retry_after)
    assert pause is not None
    return pacer


def send_for(pacer: Throttle, clock: Clock, seconds: float) -> int:
    """Send as fast as the pacer allows for ``seconds`` of clock (or until it stops pacing),
    every answer good."""
    end = clock.now + seconds
    sent = 0
    while clock.now < end and pacer.paced:
        pacer.acquire()
        pacer.answered()
        sent += 1
    return sent


def test_nothing_is_paced_or_slept_before_the_first_429() -> None:
    clock = Clock()
    pacer = throttle(clock)
    for _ in range(1000):
        pacer.acquire()
        pacer.answered()
    assert (pacer.paced, clock.slept) == (False, [])


def test_the_first_429_paces_at_half_the_rate_the_client_was_sending() -> None:
    clock = Clock()
    pacer = paced_at(clock, 40.0)
    assert pacer.paced
    assert pacer.rate == pytest.approx(20.0, rel=0.05)


def test_each_later_429_halves_the_rate() -> None:
    clock = Clock()
    pacer = paced_at(clock, 40.0)
    clock.now += 60  # long after the pause: what was admitted since says nothing
    before = pacer.rate
    pause = pacer.rate_limited(pacer.acquire(), 2.0)
    assert pause == Pause(2.0, pacer.rate)
    assert pacer.rate == pytest.approx(before / 2)


def test_good_answers_raise_the_rate_by_the_same_amount_every_second() -> None:
    clock = Clock()
    pacer = paced_at(clock, 40.0)  # 20 requests/s; each second of good answers adds 5% of 40
    clock.now += 1.0  # the pause
    start = pacer.rate
    send_for(pacer, clock, 5.0)
    after_five = pacer.rate
    send_for(pacer, clock, 5.0)
    gain_per_second = INCREASE * 2 * start
    assert after_five - start == pytest.approx(5 * gain_per_second, rel=0.1)
    # additive: the next five seconds add as much again, not more because the rate is higher
    assert pacer.rate - after_five == pytest.approx(after_five - start, rel=0.1)


def test_a_rate_that_climbs_back_to_its_maximum_stops_pacing() -> None:
    clock = Clock()
    pacer = throttle(clock, max_rate=30.0)
    for _ in range(80):
        epoch = pacer.acquire()
        pacer.answered()
        clock.now += 1 / 40
    assert pacer.rate_limited(epoch, 1.0) is not None
    assert (pacer.paced, pacer.rate) == (True, pytest.approx(20.0, rel=0.05))
    clock.now += 1.0
    climb = (30.0 - 20.0) / (INCREASE * 2 * 19.0)  # seconds of good answers to get back to 30
    send_for(pacer, clock, climb + 2.0)
    assert (pacer.paced, pacer.rate) == (False, 30.0)


def test_an_idle_spell_does_not_count_as_good_answers() -> None:
    clock = Clock()
    pacer = paced_at(clock, 40.0)
    halved = pacer.rate
    clock.now += 600
    pacer.acquire()
    pacer.answered()
    # at most two intervals of the pace count, however long the client was idle
    assert pacer.rate - halved <= INCREASE * 2 * halved * 2 / halved + 1e-9


def test_retry_after_is_the_floor_of_the_pause() -> None:
    clock = Clock()
    pacer = paced_at(clock, 400.0, retry_after=4.0)  # at 200/s a token comes every 5 ms
    assert pacer.remaining() == 4.0
    pacer.acquire()
    assert clock.slept == [4.0]


def test_429s_of_requests_sent_before_the_pause_make_no_second_pause_but_may_lengthen_it() -> None:
    clock = Clock()
    pacer = throttle(clock)
    epochs = [pacer.acquire() for _ in range(8)]  # eight workers' requests in flight
    clock.now += 0.5
    first = pacer.rate_limited(epochs[0], 1.0)
    rate = pacer.rate
    assert first is not None
    clock.now += 0.1
    assert [pacer.rate_limited(e, 1.0) for e in epochs[1:]] == [None] * 7
    assert pacer.rate == rate  # halved once for the whole burst
    assert pacer.remaining() == pytest.approx(1.0)  # each Retry-After counts from its answer


def test_after_a_pause_waiting_workers_are_let_out_one_by_one_at_the_rate() -> None:
    clock = Clock(frozen=True)  # every worker asks at the same instant, in the pause
    pacer = paced_at(clock, 4.0)  # 2 requests/s
    waits = []
    for _ in range(6):
        pacer.acquire()
        waits.append(clock.slept.pop())
    interval = 1 / pacer.rate
    assert waits == pytest.approx([1.0 + i * interval for i in range(6)])


def test_a_worker_waiting_for_its_slot_when_a_new_pause_begins_queues_behind_the_pause() -> None:
    clock = Clock()
    pacer = paced_at(clock, 4.0)
    clock.now += 1.0
    epoch = pacer.acquire()  # the first slot after the pause: at once

    def pause_meanwhile() -> None:
        if len(clock.slept) == 1:  # while the second worker waits, the first gets a 429
            pacer.rate_limited(epoch, 3.0)

    clock.while_asleep = pause_meanwhile
    started = clock.now
    pacer.acquire()
    assert clock.now - started >= 3.0


def test_a_pause_lengthened_just_after_a_send_keeps_the_next_send_one_interval_away() -> None:
    clock = Clock()
    pacer = paced_at(clock, 4.0)  # 2 requests/s: one every 0.5 s
    old_epoch = 0
    clock.now += 1.0
    pacer.acquire()  # the first one out, at the end of the pause
    clock.now += 0.1
    pacer.rate_limited(old_epoch, 0.0)  # a late 429 of the first burst: a pause until now
    sent = clock.now
    pacer.acquire()
    assert clock.now - (sent - 0.1) == pytest.approx(1 / pacer.rate)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("send")),
            st.tuples(st.just("good")),
            st.tuples(st.just("429"), st.integers(0, 2), st.floats(0, 120)),
            st.tuples(st.just("idle"), st.floats(0, 100)),
        ),
        max_size=80,
    ),
    st.floats(0.05, 5),
    st.floats(5, 2000),
)
def test_the_rate_stays_within_its_bounds_and_the_bucket_never_holds_more_than_its_capacity(
    steps: list[tuple], min_rate: float, max_rate: float
) -> None:
    clock = Clock()
    pacer = throttle(clock, min_rate=min_rate, max_rate=max_rate)
    epochs = [0]
    for step in steps:
        if step[0] == "send":
            before = clock.now
            epochs.append(pacer.acquire())
            assert clock.now >= before
        elif step[0] == "good":
            pacer.answered()
        elif step[0] == "429":
            epoch = epochs[-1 - min(step[1], len(epochs) - 1)]
            pause = pacer.rate_limited(epoch, step[2])
            if pause is not None:
                assert pause.seconds >= step[2]
                assert pacer.remaining() >= step[2] - 1e-9
        else:
            clock.now += step[1]
        assert min_rate <= pacer.rate <= max_rate
        assert pacer.tokens() <= pacer.capacity + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.floats(0.5, 50), st.floats(0, 30), st.integers(2, 20))
def test_no_request_goes_before_the_pause_ends_and_then_none_faster_than_the_rate(
    sends_per_second: float, retry_after: float, workers: int
) -> None:
    clock = Clock(frozen=True)
    pacer = paced_at(clock, sends_per_second, retry_after=retry_after)
    resume = clock.now + pacer.remaining()
    slots = []
    for _ in range(workers):
        pacer.acquire()
        slots.append(clock.now + (clock.slept.pop() if clock.slept else 0.0))
    assert min(slots) >= resume - 1e-9
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(gap >= 1 / pacer.rate - 1e-9 for gap in gaps)

"""EventBridge schedules on the local cloud: AWS expression rules and firing on an injected clock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from localcloud.scheduler import FakeClock, Scheduler, parse_schedule

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
ARN = "arn:aws:events:us-east-1:123456789012:rule/lockgate-drift"


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.deliveries: list[tuple[str, dict[str, Any]]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, name: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries.append((name, event))
            if len(self.deliveries) <= self.fail_first:
                raise RuntimeError("target unavailable")

    @property
    def times(self) -> list[str]:
        return [event["time"] for _, event in self.deliveries]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


# ---------------------------------------------------------------- rate()
@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_valid_rate_expressions_parse_to_their_interval(expression: str, interval: timedelta) -> None:
    # GIVEN / WHEN a rate expression AWS accepts / THEN its next occurrence is one interval later
    assert parse_schedule(expression).next_after(T0) == T0 + interval


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(1 hours)", "singular"),
        ("rate(0 minutes)", "positive whole number"),
        ("rate(-5 minutes)", "positive whole number"),
        ("rate(1.5 hours)", "positive whole number"),
        ("rate(2 weeks)", "minute(s), hour(s) or day(s)"),
        ("rate(5)", "value and a unit"),
        ("every 5 minutes", "rate(value unit) or cron"),
    ],
)
def test_invalid_rate_expressions_are_refused_naming_the_problem(expression: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        parse_schedule(expression)


# ---------------------------------------------------------------- cron()
@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        # daily at noon UTC; the start itself is excluded
        ("cron(0 12 * * ? *)", T0, at(27, 12)),
        # day-of-week 1 is SUNDAY in AWS cron (Unix cron would read Monday)
        ("cron(0 12 ? * 1 *)", T0, at(29, 12)),
        ("cron(0 12 ? * SUN *)", T0, at(29, 12)),
        ("cron(0 8 ? * MON-FRI *)", T0, at(27, 8)),
        # L: last day of the month; a bare L in day-of-week is the last day of the week (Saturday)
        ("cron(0 12 L * ? *)", T0, at(30, 12)),
        ("cron(0 12 ? * L *)", T0, at(28, 12)),
        ("cron(0 12 ? * 6L *)", T0, at(27, 12)),  # last Friday of November 2026
        # W: nearest weekday — 15 November 2026 is a Sunday, so Monday the 16th
        ("cron(0 9 15W * ? *)", at(1), at(16, 9)),
        # #: the third Friday of November 2026
        ("cron(0 12 ? * 6#3 *)", at(1), at(20, 12)),
        # every 15 minutes, and the year field
        ("cron(0/15 * * * ? *)", at(26, 12, 7), at(26, 12, 15)),
        ("cron(0 0 1 1 ? 2028)", T0, datetime(2028, 1, 1, tzinfo=UTC)),
    ],
)
def test_cron_follows_aws_semantics(expression: str, start: datetime, expected: datetime) -> None:
    assert parse_schedule(expression).next_after(start) == expected


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("cron(0 12 * * ?)", "6 fields"),
        ("cron(0 12 * * ? * *)", "6 fields"),
        ("cron(0 12 * * 1 *)", "must be '?'"),
        ("cron(0 12 ? * ? *)", "must be '?'"),
        ("cron(0 25 * * ? *)", "cron"),
    ],
)
def test_invalid_cron_expressions_are_refused(expression: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("(", r"\(").replace("?", r"\?")):
        parse_schedule(expression)


# ---------------------------------------------------------------- the scheduler
def test_a_fake_clock_advanced_an_hour_fires_a_15_minute_rate_four_times_in_order(clock: FakeClock) -> None:
    # GIVEN a rate(15 minutes) rule added at 12:00
    recorder = Recorder()
    scheduler = Scheduler(recorder, clock=clock)
    scheduler.add_rule("lockgate-drift", "rate(15 minutes)", arn=ARN)

    # WHEN the clock jumps one hour and the scheduler ticks
    clock.advance(timedelta(hours=1))
    events = scheduler.tick()

    # THEN each missed occurrence is delivered once, oldest first, stamped with its scheduled time
    expected = [
        "2026-11-26T12:15:00Z",
        "2026-11-26T12:30:00Z",
        "2026-11-26T12:45:00Z",
        "2026-11-26T13:00:00Z",
    ]
    assert [e["time"] for e in events] == expected
    assert recorder.times == expected
    assert scheduler.tick() == []
    (rule,) = scheduler.rules()
    assert rule.last_fire == at(26, 13) and rule.next_fire == at(26, 13, 15)


def test_rate_counts_from_when_the_rule_is_added_and_cron_from_the_calendar(clock: FakeClock) -> None:
    # GIVEN a clock at 12:07 and two rules added then
    clock.set(at(26, 12, 7))
    recorder = Recorder()
    scheduler = Scheduler(recorder, clock=clock)
    scheduler.add_rule("hourly-cron", "cron(0 * * * ? *)", arn=ARN + "-cron")
    scheduler.add_rule("half-hourly-rate", "rate(30 minutes)", arn=ARN + "-rate")

    # WHEN an hour passes
    clock.advance(timedelta(hours=1))
    scheduler.tick()

    # THEN the rate fires 30 and 60 minutes after it was added, the cron on the hour, in time order
    assert [(name, e["time"]) for name, e in recorder.deliveries] == [
        ("half-hourly-rate", "2026-11-26T12:37:00Z"),
        ("hourly-cron", "2026-11-26T13:00:00Z"),
        ("half-hourly-rate", "2026-11-26T13:07:00Z"),
    ]


def test_the_delivered_event_has_eventbridges_scheduled_event_shape(clock: FakeClock) -> None:
    recorder = Recorder()
    scheduler = Scheduler(recorder, clock=clock, region="eu-west-1", account_id="111122223333")
    scheduler.add_rule("nightly", "cron(0 0 * * ? *)", arn=ARN)

    clock.set(at(27, 0, 0, month=11) + timedelta(seconds=30))
    (event,) = scheduler.tick()

    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "111122223333" and event["region"] == "eu-west-1"
    assert event["time"] == "2026-11-27T00:00:00Z"
    assert event["resources"] == [ARN]
    assert event["detail"] == {}
    assert len(event["id"]) == 36


def test_fire_delivers_now_without_moving_the_schedule(clock: FakeClock) -> None:
    recorder = Recorder()
    scheduler = Scheduler(recorder, clock=clock)
    scheduler.add_rule("lockgate-drift", "rate(1 hour)", arn=ARN)
    clock.advance(timedelta(minutes=10))

    event = scheduler.fire("lockgate-drift")

    assert recorder.deliveries == [("lockgate-drift", event)]
    assert event["time"] == "2026-11-26T12:10:00Z"
    assert scheduler.rules()[0].next_fire == at(26, 13)
    assert scheduler.fire("lockgate-drift", at=at(1, 8))["time"] == "2026-11-01T08:00:00Z"
    with pytest.raises(KeyError, match="no scheduled rule named 'missing'"):
        scheduler.fire("missing")


def test_disabled_rules_do_not_fire_and_do_not_catch_up_when_enabled(clock: FakeClock) -> None:
    recorder = Recorder()
    scheduler = Scheduler(recorder, clock=clock)
    scheduler.add_rule("paused", "rate(5 minutes)", arn=ARN, enabled=False)

    clock.advance(timedelta(hours=1))
    assert scheduler.tick() == []

    scheduler.set_enabled("paused", True)
    clock.advance(timedelta(minutes=5))
    assert [e["time"] for e in scheduler.tick()] == ["2026-11-26T13:05:00Z"]


def test_a_failing_target_does_not_stop_later_deliveries(clock: FakeClock) -> None:
    # GIVEN a target that fails on its first delivery
    recorder = Recorder(fail_first=1)
    scheduler = Scheduler(recorder, clock=clock)
    scheduler.add_rule("lockgate-drift", "rate(1 minute)", arn=ARN)

    # WHEN two occurrences are due
    clock.advance(timedelta(minutes=2))
    events = scheduler.tick()

    # THEN both were attempted
    assert len(events) == 2 and len(recorder.deliveries) == 2


def test_the_background_thread_fires_as_the_clock_moves_and_survives_errors(clock: FakeClock) -> None:
    recorder = Recorder(fail_first=1)
    scheduler = Scheduler(recorder, clock=clock, poll_seconds=0.01)
    scheduler.add_rule("lockgate-drift", "rate(1 minute)", arn=ARN)
    scheduler.start()
    try:
        clock.advance(timedelta(minutes=1))
        _wait_for(lambda: len(recorder.deliveries) == 1)
        clock.advance(timedelta(minutes=1))
        _wait_for(lambda: len(recorder.deliveries) == 2)
    finally:
        scheduler.stop()
    assert recorder.times == ["2026-11-26T12:01:00Z", "2026-11-26T12:02:00Z"]


def test_readding_a_rule_keeps_its_place_and_removing_it_stops_it(clock: FakeClock) -> None:
    recorder = Recorder()
    scheduler = Scheduler(recorder, clock=clock)
    scheduler.add_rule("r", "rate(10 minutes)", arn=ARN)
    clock.advance(timedelta(minutes=7))

    scheduler.add_rule("r", "rate(10 minutes)", arn=ARN)  # a redeploy
    assert scheduler.rules()[0].next_fire == at(26, 12, 10)
    scheduler.add_rule("r", "rate(1 hour)", arn=ARN)  # a changed schedule restarts the count
    assert scheduler.rules()[0].next_fire == at(26, 13, 7)

    scheduler.remove_rule("r")
    clock.advance(timedelta(days=1))
    assert scheduler.tick() == [] and scheduler.rules() == []


def test_add_rule_refuses_an_invalid_expression(clock: FakeClock) -> None:
    scheduler = Scheduler(Recorder(), clock=clock)
    with pytest.raises(ValueError, match="singular"):
        scheduler.add_rule("bad", "rate(1 hours)", arn=ARN)
    assert scheduler.rules() == []


def test_fake_clock_is_aware_utc_and_refuses_naive_times() -> None:
    clock = FakeClock(T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="negative"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now().tzinfo is not None


def _wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)

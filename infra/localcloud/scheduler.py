"""EventBridge schedules for the local cloud: ``rate()`` and ``cron()`` with AWS semantics.

moto stores scheduled rules but never fires them. :class:`Scheduler` keeps its own table of
rules, computes each rule's next occurrence with AWS's rules (AWS cron is not Unix cron: six
fields, ``?``, day-of-week 1 = Sunday, ``L``, ``W``, ``#``; the ``aws-croniter`` package does
the calendar work) and hands each due occurrence, as the event EventBridge would send, to a
``deliver`` callable supplied by the runtime. Time comes from an injectable :class:`Clock`, so
tests and the accelerated demo drive the schedule with a :class:`FakeClock`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aws_croniter import AwsCroniter

logger = logging.getLogger(__name__)

DeliverFn = Callable[[str, dict[str, Any]], None]  # (rule name, scheduled event) -> None

# A clock jumped far ahead would otherwise queue millions of occurrences of a fast rule.
MAX_CATCH_UP_PER_TICK = 1000


# ---------------------------------------------------------------- clocks
class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def _aware_utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {when.isoformat()}")
    return when.astimezone(UTC)


class FakeClock:
    """A clock that moves only when told to (tests, and the demo's accelerated time)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError(f"cannot advance a clock by a negative delta ({delta})")
        with self._lock:
            self._now += delta

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = _aware_utc(when)


# ---------------------------------------------------------------- schedule expressions
class Schedule(Protocol):
    expression: str

    def next_after(self, t: datetime) -> datetime:
        """The first occurrence strictly after ``t``."""
        ...


@dataclass(frozen=True)
class RateSchedule:
    """``rate(value unit)``: fires every ``interval``, counting from when the rule was added."""

    expression: str
    interval: timedelta

    def next_after(self, t: datetime) -> datetime:
        return _aware_utc(t) + self.interval


@dataclass(frozen=True)
class CronSchedule:
    """``cron(min hour day-of-month month day-of-week year)`` in AWS's dialect, UTC."""

    expression: str
    fields: str

    def next_after(self, t: datetime) -> datetime:
        found = AwsCroniter(self.fields).get_next(_aware_utc(t), n=1)
        if not found or found[0] is None:
            raise ValueError(f"{self.expression} has no occurrence after {t.isoformat()}")
        return _aware_utc(found[0])


_RATE = re.compile(r"^rate\((?P<body>.*)\)$")
_CRON = re.compile(r"^cron\((?P<body>.*)\)$")
_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def parse_schedule(expression: str) -> RateSchedule | CronSchedule:
    """Parse an EventBridge schedule expression.

    Raises ``ValueError`` naming what is wrong, following EventBridge's own validation.

    >>> parse_schedule("rate(15 minutes)").interval
    datetime.timedelta(seconds=900)
    """
    text = expression.strip()
    if rate := _RATE.match(text):
        return _parse_rate(expression, rate.group("body"))
    if cron := _CRON.match(text):
        return _parse_cron(expression, cron.group("body"))
    raise ValueError(f"schedule expression {expression!r} must be rate(value unit) or cron(six fields)")


def _parse_rate(expression: str, body: str) -> RateSchedule:
    parts = body.split()
    if len(parts) != 2:
        raise ValueError(f"{expression!r}: rate() takes a value and a unit, e.g. rate(5 minutes)")
    value_text, unit = parts
    if not value_text.isdigit() or int(value_text) <= 0:
        raise ValueError(
            f"{expression!r}: the rate value must be a positive whole number, got {value_text!r}"
        )
    value = int(value_text)
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _RATE_UNITS:
        raise ValueError(f"{expression!r}: unit must be minute(s), hour(s) or day(s), got {unit!r}")
    if value == 1 and unit != singular:
        raise ValueError(f"{expression!r}: a value of 1 takes the singular unit {singular!r}")
    if value != 1 and unit == singular:
        raise ValueError(f"{expression!r}: a value above 1 takes the plural unit '{singular}s'")
    return RateSchedule(expression=expression, interval=value * _RATE_UNITS[singular])


def _parse_cron(expression: str, body: str) -> CronSchedule:
    fields = body.split()
    if len(fields) != 6:
        raise ValueError(
            f"{expression!r}: AWS cron has 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}"
        )
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError(
            f"{expression!r}: exactly one of day-of-month ({day_of_month!r}) and day-of-week "
            f"({day_of_week!r}) must be '?'"
        )
    if day_of_week == "L":
        # AWS reads a bare L in day-of-week as the last day of the week (Saturday, 7).
        fields[4] = "7"
    normalised = " ".join(fields)
    try:
        schedule = CronSchedule(expression=expression, fields=normalised)
        schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))
    except ValueError as exc:  # AwsCroniterExpressionError is a ValueError
        raise ValueError(f"{expression!r}: {exc}") from exc
    return schedule


# ---------------------------------------------------------------- the scheduler
@dataclass
class ScheduledRule:
    name: str
    expression: str
    arn: str
    event_bus: str
    enabled: bool
    next_fire: datetime
    last_fire: datetime | None


def _event_time(when: datetime) -> str:
    return _aware_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


class Scheduler:
    """Fires scheduled rules on a clock, delivering EventBridge "Scheduled Event"s.

    ``tick()`` delivers every occurrence that is due and has not fired, oldest first, each with
    its scheduled time; ``start()`` runs ``tick()`` on a daemon thread every ``poll_seconds``.
    A failing ``deliver`` is logged and never stops the scheduler.
    """

    def __init__(
        self,
        deliver: DeliverFn,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        poll_seconds: float = 0.5,
    ) -> None:
        self._deliver = deliver
        self._clock: Clock = clock or SystemClock()
        self._region = region
        self._account_id = account_id
        self._poll_seconds = poll_seconds
        self._rules: dict[str, ScheduledRule] = {}
        self._schedules: dict[str, RateSchedule | CronSchedule] = {}
        self._lock = threading.Lock()  # guards the rule table
        self._tick_lock = threading.Lock()  # one tick at a time, so occurrences go out in order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def clock(self) -> Clock:
        return self._clock

    # -- rule table
    def add_rule(
        self, name: str, expression: str, *, arn: str, event_bus: str = "default", enabled: bool = True
    ) -> None:
        """Add or replace a rule (PutRule semantics).

        Re-adding a rule with the same expression keeps its place in the schedule, so a redeploy
        does not restart every ``rate()`` count.
        """
        schedule = parse_schedule(expression)
        now = self._clock.now()
        with self._lock:
            existing = self._rules.get(name)
            if existing is not None and existing.expression == expression and existing.enabled == enabled:
                existing.arn, existing.event_bus = arn, event_bus
                return
            self._schedules[name] = schedule
            self._rules[name] = ScheduledRule(
                name=name,
                expression=expression,
                arn=arn,
                event_bus=event_bus,
                enabled=enabled,
                next_fire=schedule.next_after(now),
                last_fire=existing.last_fire if existing else None,
            )

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a rule. A re-enabled rule does not fire what it missed while disabled."""
        now = self._clock.now()
        with self._lock:
            rule = self._rule(name)
            if enabled and not rule.enabled:
                rule.next_fire = self._schedules[name].next_after(now)
            rule.enabled = enabled

    def remove_rule(self, name: str) -> None:
        with self._lock:
            self._rule(name)
            del self._rules[name]
            del self._schedules[name]

    def rules(self) -> list[ScheduledRule]:
        """A snapshot of the rules, by name."""
        with self._lock:
            return [dataclasses.replace(rule) for _, rule in sorted(self._rules.items())]

    def _rule(self, name: str) -> ScheduledRule:
        try:
            return self._rules[name]
        except KeyError:
            raise KeyError(f"no scheduled rule named {name!r}") from None

    # -- firing
    def scheduled_event(self, rule: ScheduledRule, when: datetime) -> dict[str, Any]:
        """The event EventBridge sends for ``rule`` firing at ``when``."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account_id,
            "time": _event_time(when),
            "region": self._region,
            "resources": [rule.arn],
            "detail": {},
        }

    def fire(self, name: str, *, at: datetime | None = None) -> dict[str, Any]:
        """Fire ``name`` now (or as if at ``at``), whatever its schedule or state; returns the event.

        The rule's schedule is left as it was. Errors from ``deliver`` propagate to the caller.
        """
        when = _aware_utc(at) if at is not None else self._clock.now()
        with self._lock:
            rule = self._rule(name)
            event = self.scheduled_event(rule, when)
            rule.last_fire = when
        self._deliver(name, event)
        return event

    def tick(self) -> list[dict[str, Any]]:
        """Deliver every occurrence due at ``clock.now()``, oldest first; returns the events."""
        with self._tick_lock:
            due = self._collect_due(self._clock.now())
            delivered: list[dict[str, Any]] = []
            for _, name, event in due:
                try:
                    self._deliver(name, event)
                except Exception:
                    logger.exception("delivering scheduled event of rule %s failed", name)
                delivered.append(event)
            return delivered

    def _collect_due(self, now: datetime) -> list[tuple[datetime, str, dict[str, Any]]]:
        due: list[tuple[datetime, str, dict[str, Any]]] = []
        with self._lock:
            for name, rule in self._rules.items():
                if not rule.enabled:
                    continue
                schedule = self._schedules[name]
                fired = 0
                while rule.next_fire <= now:
                    if fired == MAX_CATCH_UP_PER_TICK:
                        logger.warning(
                            "rule %s: more than %d missed occurrences, skipping to %s",
                            name,
                            MAX_CATCH_UP_PER_TICK,
                            now.isoformat(),
                        )
                        rule.next_fire = schedule.next_after(now)
                        break
                    due.append((rule.next_fire, name, self.scheduled_event(rule, rule.next_fire)))
                    rule.last_fire = rule.next_fire
                    rule.next_fire = schedule.next_after(rule.next_fire)
                    fired += 1
        due.sort(key=lambda item: (item[0], item[1]))
        return due

    # -- background thread
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="localcloud-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self._poll_seconds * 4))
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("scheduler tick failed")
            self._stop.wait(self._poll_seconds)

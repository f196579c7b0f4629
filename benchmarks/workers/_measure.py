"""Timing and memory helpers shared by the harness and by every worker script.

Standard library only: worker scripts run in the peers' own virtual environments, which have
neither Lockgate nor the harness installed; they import this file from their own folder.
"""

from __future__ import annotations

import gc
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any


def measure(
    fn: Callable[[], Any], *, warmup: int = 3, min_runs: int = 5, max_runs: int = 1000, budget: float = 2.0
) -> list[float]:
    """Seconds per call: ``warmup`` untimed calls, then at least ``min_runs`` and at most ``max_runs``
    timed calls, stopping early once ``budget`` seconds have been spent timing."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    spent = 0.0
    gc.collect()
    while len(times) < max_runs and (len(times) < min_runs or spent < budget):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Median, p99 (nearest rank), min and count of a list of durations in seconds."""
    ordered = sorted(times)
    n = len(ordered)
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    p99 = ordered[min(n - 1, max(0, math.ceil(0.99 * n) - 1))]
    return {"median": median, "p99": p99, "min": ordered[0], "n": float(n)}


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss() -> int:
    """Resident set size of this process now, in bytes."""
    return _status_kib("VmRSS") * 1024


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def peak() -> int:
    """Peak resident set size since start or the last :func:`reset_peak`, in bytes."""
    return _status_kib("VmHWM") * 1024


def peak_above(fn: Callable[[], Any]) -> tuple[Any, int]:
    """(result, bytes of peak RSS above the RSS just before ``fn`` ran)."""
    gc.collect()
    reset_peak()
    before = rss()
    result = fn()
    return result, max(0, peak() - before)


def emit(result: dict[str, Any]) -> None:
    """A worker's answer: one JSON line, last on stdout (libraries may print before it)."""
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def versions(*names: str) -> dict[str, str]:
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found

"""The benchmark harness's own logic: statistics, verdict rendering, the command line.

No timings are asserted (benchmarks measure speed; `make bench-smoke` exercises every measurement).
"""

from __future__ import annotations

import pytest

from benchmarks import run
from benchmarks.common import Section, Table, Verdict
from benchmarks.report import render
from benchmarks.workers._measure import measure, peak_above, summary


def test_summary_gives_median_and_nearest_rank_p99() -> None:
    times = [float(i) for i in range(1, 201)]  # 1..200
    stats = summary(times)
    assert stats["median"] == 100.5
    assert stats["p99"] == 198.0
    assert stats["min"] == 1.0 and stats["n"] == 200


def test_measure_runs_warmup_untimed_and_stops_at_max_runs() -> None:
    calls: list[int] = []
    times = measure(lambda: calls.append(1), warmup=2, min_runs=3, max_runs=7, budget=10.0)
    assert len(times) == 7
    assert len(calls) == 9


def test_peak_above_sees_a_large_temporary_allocation() -> None:
    def allocate() -> int:
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
        return len(block)

    size, extra = peak_above(allocate)
    assert size == 64 * 2**20
    assert extra >= 48 * 2**20


def test_a_missed_target_is_marked_with_its_reason_on_the_page() -> None:
    section = Section(key="x", title="Deploy size", what="Bytes on disk.")
    section.tables.append(Table(["part", "size"], [["onnxruntime", "72 MiB"]]))
    section.verdicts.append(Verdict("≤ 120 MiB", False, "171 MiB; missed by 51 MiB"))
    section.why.append("onnxruntime ships a library it does not load.")
    crashed = Section(key="y", title="Drift", what="", error="ValueError: boom")
    page = render([section, crashed], machine={"CPU": "test"}, smoke=False, seconds=60, command="make bench")
    assert "| Deploy size | ≤ 120 MiB | 171 MiB; missed by 51 MiB | ❌ missed |" in page
    assert "## Where a target is missed: why, and what would close it" in page
    assert "onnxruntime ships a library it does not load." in page
    assert "crashed: ValueError: boom" in page
    assert "| onnxruntime | 72 MiB |" in page


def test_the_command_line_refuses_an_unknown_section() -> None:
    with pytest.raises(SystemExit) as exc:
        run.main(["--only", "nonsense"])
    assert exc.value.code == 2

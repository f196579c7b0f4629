"""What every comparison shares: paths, sizes, the result model, formatting and worker processes."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
WORKERS = BENCH / "workers"
WORK = BENCH / ".work"
ENVS = BENCH / ".envs"
PEERS = BENCH / "peers"
PYTHON = sys.executable
MiB = 2**20


@dataclass(frozen=True)
class Sizes:
    """How big each comparison runs; ``--smoke`` shrinks everything so the harness runs in seconds."""

    smoke: bool
    train_rows: int  # synthetic rows each model is trained on
    batch_rows: int  # the "1,000 rows" request
    compute_budget: float  # seconds of timed calls per measurement
    cold_starts: int  # fresh processes per side
    http_requests: int  # warm requests per server
    drift_rows: int
    drift_repeats: int
    validation_rows: int
    validation_repeats: int
    pipeline_repeats: int  # uploads per model after the first (cold) one

    @classmethod
    def full(cls) -> Sizes:
        return cls(False, 5_000, 1_000, 1.5, 8, 400, 100_000, 5, 1_000_000, 3, 3)

    @classmethod
    def tiny(cls) -> Sizes:
        return cls(True, 600, 50, 0.05, 1, 15, 2_000, 1, 5_000, 1, 0)


# --------------------------------------------------------------------------- results


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Verdict:
    target: str
    met: bool | None  # None: could not be judged (a peer did not run)
    detail: str


@dataclass
class Section:
    key: str
    title: str
    what: str
    tables: list[Table] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)  # for a missed target: why, and what would close it
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # side -> package -> version
    error: str | None = None
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and end
    raw: dict[str, Any] = field(default_factory=dict)


class MeasurementError(RuntimeError):
    """A measurement could not be taken (a crash, not a slow result)."""


# --------------------------------------------------------------------------- formatting


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 0:
        return "-" + fmt_time(-seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_mib(size: float | None) -> str:
    return "—" if size is None else f"{size / MiB:,.1f} MiB"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if ratio >= 10:
        return f"{ratio:,.0f}×"
    return f"{ratio:.2f}×"


def ratio(slow: float | None, fast: float | None) -> float | None:
    if slow is None or fast is None or fast <= 0:
        return None
    return slow / fast


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
    }


# --------------------------------------------------------------------------- worker processes


def run_worker(
    python: str | Path, script: str, config: dict[str, Any], *, timeout: float = 900, name: str = ""
) -> dict[str, Any]:
    """Run ``benchmarks/workers/<script>`` with ``python`` and a JSON config; return its JSON answer.

    Raises :class:`MeasurementError` with the tail of stderr when the worker fails.
    """
    WORK.mkdir(parents=True, exist_ok=True)
    cfg = WORK / f"{Path(script).stem}{('-' + name) if name else ''}.json"
    cfg.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.setdefault("PYTHONHASHSEED", "0")
    try:
        done = subprocess.run(
            [str(python), str(WORKERS / script), str(cfg)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(WORK),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MeasurementError(f"{script} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise MeasurementError(f"{script} exited {done.returncode}:\n{tail}")
    lines = [line for line in done.stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        raise MeasurementError(f"{script} printed no result:\n{done.stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result

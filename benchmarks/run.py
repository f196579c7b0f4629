"""One command for every comparison: ``python -m benchmarks.run`` (``make bench``).

Builds the shared models, installs the peers into their own environments, runs each comparison pair
by pair, and writes ``docs/benchmarks.md``. ``--smoke`` runs every Lockgate-side measurement at tiny
sizes with no peer environment (``make bench-smoke``, for CI) and writes
``benchmarks/.work/benchmarks-smoke.md`` instead; it exits non-zero when any measurement crashes.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import ROOT, WORK, Section, Sizes, machine

SECTIONS = ("compute", "http", "cold_start", "deploy_size", "drift", "validation", "pipeline")
PEERS = {
    "mlflow": "mlflow.pyfunc",
    "evidently": "evidently.presets",
    "pandera": "pandera.pandas",
    "great_expectations": "great_expectations",
}


def _timed(name: str, build: Callable[[], Section]) -> Section:
    print(f"[bench] {name} ...", flush=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    try:
        section = build()
    except Exception as exc:  # a crash is recorded on the page and fails the run
        traceback.print_exc()
        section = Section(key=name, title=name.replace("_", " ").capitalize(), what="")
        section.error = f"{type(exc).__name__}: {exc}"
    section.seconds = time.perf_counter() - started
    section.load = (load_before, os.getloadavg()[0])
    print(f"[bench] {name} done in {section.seconds:.0f} s", flush=True)
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no peers (CI)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=None, help="where to write the page")
    args = parser.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    sizes = Sizes.tiny() if args.smoke else Sizes.full()
    out = args.out or (
        ROOT / "docs/benchmarks.md"
        if not args.smoke and len(wanted) == len(SECTIONS)
        else WORK / ("benchmarks-smoke.md" if args.smoke else "benchmarks-partial.md")
    )
    WORK.mkdir(parents=True, exist_ok=True)
    lock = (WORK / ".lock").open("w")
    try:  # runs share benchmarks/.work (models, data files, peers' model folders)
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("[bench] another benchmark run is using benchmarks/.work; wait for it", file=sys.stderr)
        return 2
    started = time.perf_counter()

    from benchmarks import cloud, cold_start, compute, data, deploy_size, drift, validation
    from benchmarks.envs import PeerEnv, ensure

    peers: dict[str, PeerEnv | None] = dict.fromkeys(PEERS)
    if not args.smoke:
        print("[bench] preparing peer environments (uv) ...", flush=True)
        with ThreadPoolExecutor(max_workers=len(PEERS)) as pool:
            futures = {name: pool.submit(ensure, name, check_import=mod) for name, mod in PEERS.items()}
            peers = {name: future.result() for name, future in futures.items()}
        for name, env in peers.items():
            print(
                f"[bench]   {name}: {'ready' if env and env.ok else env.error if env else 'skipped'}",
                flush=True,
            )

    print("[bench] training the shared models ...", flush=True)
    cases = data.build_cases(train_rows=sizes.train_rows, batch_rows=sizes.batch_rows)
    sections: dict[str, Section] = {}
    if "deploy_size" in wanted:
        sections["deploy_size"] = _timed("deploy_size", lambda: deploy_size.run(sizes, cases[0]))
    if "cold_start" in wanted:
        sections["cold_start"] = _timed("cold_start", lambda: cold_start.run(cases, sizes))
    if "compute" in wanted or "http" in wanted:
        sections["compute"] = _timed("compute", lambda: compute.run(cases, sizes, peers["mlflow"]))
    if "drift" in wanted:
        sections["drift"] = _timed("drift", lambda: drift.run(sizes, peers["evidently"]))
    if "validation" in wanted:
        sections["validation"] = _timed(
            "validation", lambda: validation.run(sizes, peers["pandera"], peers["great_expectations"])
        )
    if "pipeline" in wanted or "http" in wanted:
        holder: dict[str, Section] = {}

        def both() -> Section:
            pipe, http, ready = cloud.run(cases, sizes, peers["mlflow"])
            pipe.notes.append(f"The local cloud started and deployed `template.yaml` in {ready:.1f} s.")
            holder["http"] = http
            return pipe

        sections["pipeline"] = _timed("pipeline + http (local cloud)", both)
        if "http" in holder:  # both ran in one local cloud session; the HTTP part timed itself
            sections["pipeline"].seconds -= holder["http"].seconds
        sections["http"] = holder.get("http") or Section(
            key="http", title="Serving over HTTP, warm, 1 row", what="", error="the local cloud run crashed"
        )
    ordered = [sections[k] for k in SECTIONS if k in sections and (k in wanted or k == "compute")]
    seconds = time.perf_counter() - started
    command = "make bench-smoke" if args.smoke else "make bench"
    from benchmarks.report import render

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(ordered, machine=machine(), smoke=args.smoke, seconds=seconds, command=command))
    (WORK / ("results-smoke.json" if args.smoke else "results.json")).write_text(
        json.dumps({s.key: s.raw for s in ordered}, default=str, indent=1)
    )
    crashed = [s.key for s in ordered if s.error]
    print(f"[bench] wrote {out} in {seconds / 60:.1f} min", flush=True)
    for section in ordered:
        for verdict in section.verdicts:
            mark = {True: "met", False: "MISSED", None: "not judged"}[verdict.met]
            print(f"[bench]   {section.title}: {verdict.target}: {mark} — {verdict.detail}")
    if crashed:
        print(f"[bench] crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

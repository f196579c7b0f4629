"""Bounded load on loopback: concurrent API clients, and a burst of uploads at once.

The load test runs several clients against the local API for a fixed duration and reports
requests/s and latency percentiles; it asserts zero errors, never a speed (this machine's speed is
not the promise; losing no request is). The burst uploads many datasets at the same moment and
checks that each became exactly one recorded dataset and one finished run: no event lost.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter

import requests
from reliability_support import (
    PROFILE,
    Figures,
    assert_consistent,
    cancer_csv,
    cancer_instances,
    cancer_spec,
    events_for,
    items,
    train,
    wait_until_settled,
)
from support.platform import Platform

MAX_REQUESTS_PER_CLIENT = 20_000  # a second bound besides the duration


def test_concurrent_clients_for_a_fixed_duration_get_no_errors(platform: Platform, figures: Figures) -> None:
    model = "load-api"
    train(platform, model)
    token = platform.token("predict")
    bodies = [{"instances": cancer_instances(n, seed=n)} for n in (1, 5, 20)]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(PROFILE.load_clients + 1)

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine: list[float] = []
        seen: Counter[int] = Counter()
        # warm-up, not measured: the first requests start the API's worker processes (cold starts)
        session.post(f"{platform.api_url}/models/{model}/predict", json=bodies[0], timeout=60)
        start.wait()
        deadline = time.monotonic() + PROFILE.load_seconds
        for i in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                break
            began = time.perf_counter()
            try:
                if i % 10 == 9:
                    response = session.get(f"{platform.api_url}/models/{model}", timeout=30)
                else:
                    response = session.post(
                        f"{platform.api_url}/models/{model}/predict", json=bodies[(index + i) % 3], timeout=30
                    )
                ok = response.status_code == 200 and (i % 10 == 9 or "predictions" in response.json())
                seen[response.status_code] += 1
                if not ok:
                    with lock:
                        failures.append(f"{response.status_code} {response.text[:200]}")
            except requests.RequestException as exc:
                with lock:
                    failures.append(repr(exc))
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(PROFILE.load_clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    assert not failures, failures[:5]
    assert latencies and set(statuses) == {200}
    cuts = statistics.quantiles(latencies, n=100)
    figures.record(
        "load_api",
        {
            "clients": PROFILE.load_clients,
            "seconds": round(elapsed, 1),
            "requests": len(latencies),
            "requests_per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": round(cuts[49] * 1000, 1),
            "p99_ms": round(cuts[98] * 1000, 1),
            "errors": 0,
        },
    )


def test_a_burst_of_uploads_loses_nothing(platform: Platform, figures: Figures) -> None:
    model = "load-burst"
    platform.put_spec(cancer_spec(model))
    bodies = [cancer_csv(frac=0.7, seed=1000 + i) for i in range(PROFILE.burst)]
    errors: list[BaseException] = []
    gate = threading.Barrier(PROFILE.burst)

    def put(i: int) -> None:
        s3 = platform.cloud.client("s3")
        gate.wait()
        try:
            s3.put_object(
                Bucket=platform.data_bucket, Key=f"datasets/{model}/part-{i:03d}.csv", Body=bodies[i]
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    began = time.perf_counter()
    threads = [threading.Thread(target=put, args=(i,)) for i in range(PROFILE.burst)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    executions = wait_until_settled(platform, model, timeout=600)
    elapsed = time.perf_counter() - began
    # every upload is one recorded, accepted dataset with one finished run
    datasets = items(platform, model, "DATASET#")
    assert len(datasets) == PROFILE.burst, f"{len(datasets)} of {PROFILE.burst} uploads recorded"
    assert len(items(platform, model, "UPLOAD#")) == PROFILE.burst
    # each ended accepted, or rejected with a reason (the data gates compare an upload with the last
    # accepted one, so under a burst the order of completion may decide); none is left "received"
    statuses = Counter(d["status"] for d in datasets)
    assert set(statuses) <= {"accepted", "rejected"}, statuses
    assert all(d.get("reasons") for d in datasets if d["status"] == "rejected"), datasets
    accepted = statuses["accepted"]
    assert len(executions) == PROFILE.burst
    outcomes = Counter(
        platform.sfn.describe_execution(executionArn=e["executionArn"]).get("error") or e["status"]
        for e in executions
    )
    # a challenger that does not beat the champion is rejected by design; nothing crashed
    assert set(outcomes) <= {"SUCCEEDED", "ModelRejected", "DatasetRejected"}, outcomes
    assert outcomes["DatasetRejected"] == statuses["rejected"]
    assert len(events_for(platform, "Dataset Accepted", model)) == accepted
    assert len(events_for(platform, "Dataset Rejected", model)) == statuses["rejected"]
    assert_consistent(platform, model)
    versions = items(platform, model, "VERSION#")
    assert sorted(int(v["version"]) for v in versions) == list(range(1, len(versions) + 1))
    figures.record(
        "ingestion_burst",
        {
            "uploads": PROFILE.burst,
            "datasets_recorded": len(datasets),
            "rejection_reasons": sorted({r for d in datasets for r in d.get("reasons") or []}),
            "runs_finished": len(executions),
            "outcomes": dict(outcomes),
            "versions_registered": len(versions),
            "seconds_to_settle": round(elapsed, 1),
            "lost": 0,
        },
    )

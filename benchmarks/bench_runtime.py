"""Local cloud figures for issue 2: time from start to ready, and the warm-invocation overhead.

    python -m benchmarks.bench_runtime

Ready time: `LocalCloud.start()` + `deploy()` of the real template.yaml (what `lockgate up` does
before it prints the outputs). Overhead: the same tiny handler (the fixture stack's SleeperFunction
with 0 s) invoked warm through the Lambda API and the worker, against calling it in-process.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from localcloud.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "integration" / "fixture"


def main(n: int = 300) -> None:
    with tempfile.TemporaryDirectory() as state:
        started = time.perf_counter()
        cloud = LocalCloud(root=ROOT, state_dir=Path(state) / "a", run_scheduler=False)
        cloud.start()
        cloud.deploy()
        ready = time.perf_counter() - started
        cloud.stop()
        print(
            f"lockgate up → ready (real template.yaml, {len(cloud.deployment.functions)} functions): {ready:.2f} s"
        )

        cloud = LocalCloud(root=FIXTURE, state_dir=Path(state) / "b", run_scheduler=False)
        cloud.start()
        try:
            cloud.deploy()
            lam = cloud.client("lambda")
            name = cloud.function_name("SleeperFunction")
            payload = json.dumps({"seconds": 0}).encode()
            lam.invoke(FunctionName=name, Payload=payload)  # cold start
            api, runtime = [], []
            for _ in range(n):
                t = time.perf_counter()
                lam.invoke(FunctionName=name, Payload=payload)
                api.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                cloud.runtime.invoke(name, '{"seconds": 0}')
                runtime.append((time.perf_counter() - t) * 1000)
        finally:
            cloud.stop()
    import importlib.util

    spec = importlib.util.spec_from_file_location("sleeper", FIXTURE / "functions" / "sleeper" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    direct = []
    for _ in range(n):
        t = time.perf_counter()
        module.handler({"seconds": 0}, None)
        direct.append((time.perf_counter() - t) * 1000)
    med = statistics.median
    print(
        f"warm invoke, median of {n}: in-process {med(direct):.3f} ms | worker only {med(runtime):.3f} ms "
        f"| through the Lambda API (boto3 → moto server → worker) {med(api):.3f} ms"
    )
    print(
        f"overhead vs in-process: worker {med(runtime) - med(direct):.3f} ms, full API path {med(api) - med(direct):.3f} ms"
    )


if __name__ == "__main__":
    main()

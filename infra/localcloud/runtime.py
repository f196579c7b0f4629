"""Lambda runtime for the local cloud: real handlers in warm, isolated worker processes.

Every moto path into Lambda ends in ``LambdaFunction.invoke``; :func:`install` replaces it (and the
asynchronous call sites: S3 notifications, EventBridge targets, SNS) with this runtime. Each function
gets a pool of warm workers: one process per concurrent invocation, started on first use (the cold
start) and reused after, with only the function's code folder, its layers and the runtime's boto3 on
``sys.path`` and only its own environment. Timeouts end in AWS's "Task timed out" error; logs go to
CloudWatch Logs under ``/aws/lambda/<name>``; asynchronous invocations are queued, retried twice as
AWS retries them, then sent to the on-failure destination.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import struct
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("lockgate.localcloud.runtime")

BOOTSTRAP = Path(__file__).with_name("worker_bootstrap.py")
MAX_WORKERS_PER_FUNCTION = int(os.environ.get("LOCKGATE_MAX_WORKERS", "4"))
# AWS gives the init phase 10 s; heavy scientific imports on a busy laptop get more.
INIT_TIMEOUT = float(os.environ.get("LOCKGATE_INIT_TIMEOUT", "60"))


@dataclass
class FunctionSpec:
    """What the runtime needs to run one function, taken from the template."""

    name: str
    arn: str
    handler: str
    code_paths: list[str]  # code folder first, then its own deps, then each layer and its deps
    environment: dict[str, str]
    timeout: float = 3.0
    memory_mb: int = 128
    runtime: str = "python3.12"
    max_retry_attempts: int = 2
    max_event_age_seconds: int = 6 * 3600
    on_failure: str | None = None  # destination ARN (SQS, SNS, Lambda, EventBridge)
    on_success: str | None = None


@dataclass
class InvocationResult:
    payload: bytes
    errored: bool
    logs: str
    duration_ms: float
    cold: bool


class _Worker:
    def __init__(self, spec: FunctionSpec, base_env: dict[str, str], runtime_paths: list[str]) -> None:
        self.spec = spec
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        paths = [*spec.code_paths, *runtime_paths]
        env = {**base_env, **spec.environment}
        env.update(
            {
                "_HANDLER": spec.handler,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "LAMBDA_TASK_ROOT": spec.code_paths[0] if spec.code_paths else "",
                "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(BOOTSTRAP), str(req_r), str(res_w), json.dumps(paths)],
            pass_fds=(req_r, res_w),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=spec.code_paths[0] if spec.code_paths else None,
        )
        os.close(req_r)
        os.close(res_w)
        self._w = req_w
        self._r = res_r
        self.invocations = 0
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        """Wait for the init phase (imports at module level) to finish."""
        if not self.ready:
            message = self._receive(timeout)
            self.ready = bool(message and message.get("ready"))
        return self.ready

    def call(self, event: str, context: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Run one invocation; None when the worker did not answer in time (it is then killed)."""
        data = json.dumps({"event": event, "context": context}).encode()
        try:
            os.write(self._w, struct.pack(">I", len(data)) + data)
        except OSError:
            return self._died(context)
        result = self._receive(timeout)
        if result is None:
            return None
        self.invocations += 1
        return result or self._died(context)

    def _died(self, context: dict[str, Any]) -> dict[str, Any]:
        self.kill()
        return {
            "ok": False,
            "payload": json.dumps(
                {
                    "errorMessage": f"RequestId: {context['aws_request_id']} Error: Runtime exited with error: exit status {self.proc.poll()}",
                    "errorType": "Runtime.ExitError",
                }
            ),
            "logs": "",
        }

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message; {} when the process died; None on timeout (the worker is killed)."""
        deadline = time.monotonic() + timeout
        header = self._read_exact(4, deadline)
        if header is None:
            return None
        if not header:
            return {}
        (size,) = struct.unpack(">I", header)
        body = self._read_exact(size, deadline + 5.0)
        if not body:
            return {} if body is not None else None
        return dict(json.loads(body))

    def _read_exact(self, n: int, deadline: float) -> bytes | None:
        """n bytes; b"" at end of stream (the process died); None when the deadline passed."""
        buf = b""
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._r], [], [], remaining)[0]:
                self.kill()
                return None
            try:
                chunk = os.read(self._r, n - len(buf))
            except OSError:
                return b""
            if not chunk:
                return b""
            buf += chunk
        return buf

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass


class _Pool:
    """Warm workers of one function; a new one starts when all are busy (Lambda scales out)."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.idle: list[_Worker] = []
        self.busy = 0
        self.cond = threading.Condition()

    def acquire(self, factory: Callable[[], _Worker]) -> tuple[_Worker, bool]:
        with self.cond:
            while True:
                while self.idle:
                    w = self.idle.pop()
                    if w.alive:
                        self.busy += 1
                        return w, False
                if self.busy < MAX_WORKERS_PER_FUNCTION:
                    self.busy += 1
                    break
                self.cond.wait()
        try:
            return factory(), True
        except BaseException:
            with self.cond:
                self.busy -= 1
                self.cond.notify()
            raise

    def release(self, worker: _Worker) -> None:
        with self.cond:
            self.busy -= 1
            if worker.alive:
                self.idle.append(worker)
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            for w in self.idle:
                w.kill()
            self.idle.clear()


@dataclass
class _AsyncJob:
    function: str
    event: str
    attempt: int = 0
    enqueued: float = field(default_factory=time.time)
    not_before: float = 0.0


class LambdaRuntime:
    """Runs functions registered with :meth:`register`; thread-safe."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        runtime_paths: list[str],
        log_sink: Callable[[str, str], None] | None = None,
        destination: Callable[[str, dict[str, Any]], None] | None = None,
        retry_delays: tuple[float, float] = (1.0, 2.0),
    ) -> None:
        self.functions: dict[str, FunctionSpec] = {}
        self.pools: dict[str, _Pool] = {}
        self.runtime_paths = runtime_paths
        self.log_sink = log_sink
        self.destination = destination
        self.retry_delays = retry_delays  # AWS waits ~1 min then ~2 min; kept short locally
        self.base_env = {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "TZ": "UTC",
            "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            # Local workers have no X-Ray daemon to send traces to.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        self._lock = threading.Lock()
        self._async: queue.Queue[_AsyncJob | None] = queue.Queue()
        self._async_threads = [
            threading.Thread(target=self._async_loop, daemon=True, name=f"lambda-async-{i}") for i in range(4)
        ]
        for t in self._async_threads:
            t.start()
        self._pending = 0
        self._pending_cond = threading.Condition()
        self.stats: dict[str, int] = {"invocations": 0, "cold_starts": 0, "timeouts": 0, "async_failures": 0}

    # ------------------------------------------------------------------ registry
    def register(self, spec: FunctionSpec) -> None:
        with self._lock:
            old = self.pools.pop(spec.name, None)
            self.functions[spec.name] = spec
            self.pools[spec.name] = _Pool(spec)
        if old:
            old.close()  # redeploy: the next invocation is a cold start with the new code

    def resolve(self, name_or_arn: str) -> FunctionSpec:
        name = name_or_arn
        if name.startswith("arn:"):
            parts = name.split(":")
            name = parts[6]
        try:
            return self.functions[name]
        except KeyError:
            raise KeyError(f"function {name_or_arn!r} is not deployed on the local cloud") from None

    # ------------------------------------------------------------------ invoke
    def invoke(self, name_or_arn: str, event: str) -> InvocationResult:
        spec = self.resolve(name_or_arn)
        pool = self.pools[spec.name]
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        worker, cold = pool.acquire(lambda: _Worker(spec, self.base_env, self.runtime_paths))
        if cold and not worker.wait_ready(INIT_TIMEOUT):
            pool.release(worker)
            worker.kill()
            return self._finish(
                spec,
                InvocationResult(
                    json.dumps(
                        {
                            "errorMessage": f"{spec.name}: init did not finish within {INIT_TIMEOUT:.0f} seconds",
                            "errorType": "Runtime.InitTimeout",
                        }
                    ).encode(),
                    True,
                    "",
                    0.0,
                    cold,
                ),
            )
        context = {
            "function_name": spec.name,
            "invoked_function_arn": spec.arn,
            "memory_limit_in_mb": spec.memory_mb,
            "aws_request_id": request_id,
            "log_group_name": f"/aws/lambda/{spec.name}",
            "log_stream_name": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
            "deadline_epoch": time.time() + spec.timeout,
        }
        try:
            result = worker.call(event, context, spec.timeout)
        finally:
            pool.release(worker)
        duration = (time.perf_counter() - started) * 1000
        self.stats["invocations"] += 1
        self.stats["cold_starts"] += int(cold)
        if result is None:
            self.stats["timeouts"] += 1
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            message = f"{stamp}Z {request_id} Task timed out after {spec.timeout:.2f} seconds"
            payload = json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}).encode()
            logs = message
            errored = True
        else:
            payload = result["payload"].encode()
            logs = result.get("logs", "")
            errored = not result["ok"]
        return self._finish(spec, InvocationResult(payload, errored, logs, duration, cold))

    def _finish(self, spec: FunctionSpec, result: InvocationResult) -> InvocationResult:
        if self.log_sink:
            try:
                self.log_sink(spec.name, result.logs)
            except Exception:  # noqa: BLE001 - logging must never fail an invocation
                log.exception("could not ship logs of %s", spec.name)
        return result

    # ------------------------------------------------------------------ async
    def invoke_async(self, name_or_arn: str, event: str) -> None:
        """Queue an asynchronous invocation (S3, SNS, EventBridge, ``Event`` invokes)."""
        spec = self.resolve(name_or_arn)
        with self._pending_cond:
            self._pending += 1
        self._async.put(_AsyncJob(spec.name, event))

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every queued asynchronous invocation has finished (tests, the demo)."""
        deadline = time.time() + timeout
        with self._pending_cond:
            while self._pending:
                remaining = deadline - time.time()
                if remaining <= 0:
                    return False
                self._pending_cond.wait(remaining)
        return True

    def _async_loop(self) -> None:
        while True:
            job = self._async.get()
            if job is None:
                return
            delay = job.not_before - time.time()
            if delay > 0:
                time.sleep(min(delay, 0.2))
                if job.not_before > time.time():
                    self._async.put(job)
                    continue
            finished = True
            try:
                finished = self._run_async(job)
            except Exception:  # noqa: BLE001
                log.exception("async invocation of %s failed in the runtime", job.function)
            if finished:
                with self._pending_cond:
                    self._pending -= 1
                    self._pending_cond.notify_all()

    def _run_async(self, job: _AsyncJob) -> bool:
        spec = self.functions.get(job.function)
        if spec is None:
            return True
        result = self.invoke(spec.name, job.event)
        if not result.errored:
            if spec.on_success and self.destination:
                self.destination(spec.on_success, self._record(spec, job, result, "Success"))
            return True
        if job.attempt < spec.max_retry_attempts and time.time() - job.enqueued < spec.max_event_age_seconds:
            job.attempt += 1
            job.not_before = time.time() + self.retry_delays[min(job.attempt - 1, len(self.retry_delays) - 1)]
            self._async.put(job)
            return False
        self.stats["async_failures"] += 1
        if spec.on_failure and self.destination:
            self.destination(spec.on_failure, self._record(spec, job, result, "RetriesExhausted"))
        else:
            log.warning(
                "async invocation of %s failed after %d attempts: %s",
                spec.name,
                job.attempt + 1,
                result.payload[:500],
            )
        return True

    @staticmethod
    def _record(
        spec: FunctionSpec, job: _AsyncJob, result: InvocationResult, condition: str
    ) -> dict[str, Any]:
        """An asynchronous invocation record, shaped as Lambda sends to destinations."""
        try:
            payload: Any = json.loads(result.payload)
        except ValueError:
            payload = result.payload.decode(errors="replace")
        return {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": job.attempt + 1,
            },
            "requestPayload": json.loads(job.event),
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if result.errored else {}),
            },
            "responsePayload": payload,
        }

    def close(self) -> None:
        for _ in self._async_threads:
            self._async.put(None)
        with self._lock:
            for pool in self.pools.values():
                pool.close()


def stdlib_paths() -> list[str]:
    paths = sysconfig.get_paths()
    return [paths["stdlib"], paths["platstdlib"]]

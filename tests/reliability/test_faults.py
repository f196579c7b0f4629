"""Faults in the middle of the training pipeline, on the local cloud.

Faults are injected where the local cloud serves AWS: the moto backends run in this process, so a
wrapper on one backend operation (an S3 ``PutObject`` under ``models/``, a DynamoDB transaction that
allocates a version, ...) fails or holds exactly the requests one pipeline step makes. Worker
processes are killed with SIGKILL, and timeouts are real (the runtime's and Step Functions').

After each fault the suite checks what a user would: the execution ended in a recorded failure
with its reason (run record, ``Training Failed`` event), the SDK retried as configured, nothing
half-written is registered or served (:func:`reliability_support.assert_consistent`), and running
the same input again succeeds.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lockgate.adapters.aws import _CONFIG as SDK_CONFIG
from moto.core.exceptions import JsonRESTError
from reliability_support import (
    PROFILE,
    Figures,
    assert_consistent,
    cancer_csv,
    cancer_spec,
    events_for,
    items,
    wait_until_settled,
)
from support.platform import Platform, wait_for
from werkzeug.exceptions import HTTPException

# lockgate.adapters.aws builds every client with standard retries; botocore counts max_attempts as retries.
SDK_ATTEMPTS = int(SDK_CONFIG.retries["max_attempts"]) + 1


# --------------------------------------------------------------------------- fault injection


class S3Fault(HTTPException):
    """An S3 error response (REST-XML), raised from inside moto's S3 backend."""

    def __init__(self, error: str, status: int) -> None:
        super().__init__()
        self.code = status
        self.description = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{error}</Code><Message>injected fault</Message><RequestId>fault</RequestId></Error>"
        )

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", "application/xml")]

    def get_body(self, *args: Any, **kwargs: Any) -> str:
        return self.description or ""


def ddb_fault(error: str, status: int) -> JsonRESTError:
    exc = JsonRESTError(f"com.amazonaws.dynamodb.v20120810#{error}", "injected fault")
    exc.code = status
    return exc


@dataclass
class Fault:
    """Fail (or hold) the calls of one backend operation that ``matches`` selects."""

    operation: str  # "s3.put_object", "dynamodb.transact_write_items", ...
    matches: Callable[[dict[str, Any]], bool]
    error: Callable[[], Exception] | None  # None: let the call through (after ``hold``)
    times: int | None = None  # fail this many calls, then pass; None: every call
    hold: threading.Event | None = None  # block matching calls until set
    hits: int = 0
    held: threading.Event = field(default_factory=threading.Event)


_BACKENDS = {
    "s3": ("moto.s3.models", "S3Backend"),
    "dynamodb": ("moto.dynamodb.models", "DynamoDBBackend"),
}
_ARGS = {
    "s3.put_object": ("bucket_name", "key_name"),
    "s3.get_object": ("bucket_name", "key_name"),
    "dynamodb.put_item": ("table_name", "item_attrs"),
    "dynamodb.update_item": ("table_name", "key", "update_expression", "expression_attribute_names"),
    "dynamodb.transact_write_items": ("transact_items",),
}


class FaultInjector:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.faults: list[Fault] = []
        self._patched: set[str] = set()
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        self._patch(fault.operation)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            for fault in self.faults:
                if fault.hold is not None:
                    fault.hold.set()
            self.faults.clear()

    def _patch(self, operation: str) -> None:
        if operation in self._patched:
            return
        import importlib

        service, method = operation.split(".", 1)
        module, cls_name = _BACKENDS[service]
        cls = getattr(importlib.import_module(module), cls_name)
        original = getattr(cls, method)
        names = _ARGS[operation]
        injector = self

        def wrapper(backend: Any, *args: Any, **kwargs: Any) -> Any:
            call = dict(zip(names, args, strict=False))
            call.update({k: v for k, v in kwargs.items() if k in names})
            fault = injector._select(operation, call)
            if fault is not None:
                if fault.hold is not None:
                    fault.held.set()
                    fault.hold.wait(120)
                if fault.error is not None:
                    raise fault.error()
            return original(backend, *args, **kwargs)

        self.monkeypatch.setattr(cls, method, wrapper)
        self._patched.add(operation)

    def _select(self, operation: str, call: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.operation != operation or not fault.matches(call):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                return fault
        return None


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjector]:
    injector = FaultInjector(monkeypatch)
    try:
        yield injector
    finally:
        injector.clear()


def artifact_key(prefix: str) -> Callable[[dict[str, Any]], bool]:
    return lambda call: str(call.get("key_name", "")).startswith(prefix)


def sort_key(prefix: str) -> Callable[[dict[str, Any]], bool]:
    def match(call: dict[str, Any]) -> bool:
        key = call.get("key") or call.get("item_attrs") or {}
        return str((key.get("sk") or {}).get("S", "")).startswith(prefix)

    return match


def update_of(sk_prefix: str, field_name: str) -> Callable[[dict[str, Any]], bool]:
    def match(call: dict[str, Any]) -> bool:
        names = call.get("expression_attribute_names") or {}
        return sort_key(sk_prefix)(call) and field_name in names.values()

    return match


def transaction_with(marker: str) -> Callable[[dict[str, Any]], bool]:
    return lambda call: marker in json.dumps(call.get("transact_items", []))


# --------------------------------------------------------------------------- the pipeline


def start(platform: Platform, model: str, seed: int) -> tuple[str, set[str]]:
    platform.put_spec(cancer_spec(model))
    known = platform.known_executions()
    platform.upload(model, "train.csv", cancer_csv(frac=0.85, seed=seed))
    return model, known


def finished(platform: Platform, model: str, known: set[str]) -> dict[str, Any]:
    result = platform.wait_for_pipeline(model, known=known)
    wait_until_settled(platform, model)
    return result


def rerun(platform: Platform, failed: dict[str, Any]) -> dict[str, Any]:
    """Start the state machine again with the failed execution's input (the console's "New execution")."""
    payload = json.loads(failed["input"])
    known = platform.known_executions()
    platform.sfn.start_execution(
        stateMachineArn=platform.state_machine,
        name=f"{payload['model']}-rerun-{int(time.time() * 1000)}",
        input=json.dumps(payload),
    )
    return finished(platform, payload["model"], known)


def run_record(platform: Platform, model: str, run_id: str) -> dict[str, Any] | None:
    found = [r for r in items(platform, model, "RUN#") if r["run_id"] == run_id]
    return found[0] if found else None


def assert_recorded_failure(platform: Platform, model: str, result: dict[str, Any], *needles: str) -> None:
    """The execution failed through MarkFailed, and the reason names the fault."""
    assert result["status"] == "FAILED", result
    assert result["error"] == "TrainingFailed", (result.get("error"), result.get("cause"))
    run_id = json.loads(result["input"])["run_id"]
    failed = wait_for(lambda: events_for(platform, "Training Failed", model), timeout=30)
    assert failed, "no Training Failed event"
    detail = failed[-1]["detail"]
    assert detail["run_id"] == run_id
    reason = f"{detail['error']}: {detail['cause']}"
    assert any(n in reason for n in needles), reason
    record = run_record(platform, model, run_id)
    if record is not None:  # the run record exists once training started
        assert record["status"] == "failed" and any(n in record["reason"] for n in needles), record


def assert_rerun_succeeds(platform: Platform, model: str, failed: dict[str, Any]) -> None:
    again = rerun(platform, failed)
    assert again["status"] == "SUCCEEDED", again.get("cause")
    assert_consistent(platform, model)
    versions = [v for v in items(platform, model, "VERSION#") if v["status"] == "Approved"]
    assert len(versions) == 1, versions  # the rerun of one run registers one version, even twice over
    run_id = json.loads(failed["input"])["run_id"]
    record = run_record(platform, model, run_id)
    assert record is not None and record["status"] == "succeeded", record


# --------------------------------------------------------------------------- injected AWS errors

STEP_FAULTS = [
    pytest.param(
        "s3.put_object",
        artifact_key("reports/validation/"),
        lambda: S3Fault("AccessDenied", 403),
        "AccessDenied",
        id="validate-s3",
    ),
    pytest.param(
        "dynamodb.update_item",
        update_of("DATASET#", "status"),
        lambda: ddb_fault("AccessDeniedException", 400),
        "AccessDenied",
        id="validate-dynamodb",
    ),
    pytest.param(
        "s3.put_object",
        artifact_key("models/"),
        lambda: S3Fault("AccessDenied", 403),
        "AccessDenied",
        id="train-s3",
    ),
    pytest.param(
        "dynamodb.put_item",
        sort_key("RUN#"),
        lambda: ddb_fault("AccessDeniedException", 400),
        "AccessDenied",
        id="train-dynamodb",
    ),
    pytest.param(
        "s3.get_object",
        artifact_key("holdouts/"),
        lambda: S3Fault("AccessDenied", 403),
        "AccessDenied",
        id="evaluate-s3",
    ),
    pytest.param(
        "dynamodb.update_item",
        update_of("RUN#", "gates"),
        lambda: ddb_fault("AccessDeniedException", 400),
        "AccessDenied",
        id="evaluate-dynamodb",
    ),
    pytest.param(
        "s3.put_object",
        artifact_key("cards/"),
        lambda: S3Fault("AccessDenied", 403),
        "AccessDenied",
        id="register-s3",
    ),
    pytest.param(
        "dynamodb.transact_write_items",
        transaction_with("RUNVERSION#"),
        lambda: ddb_fault("AccessDeniedException", 400),
        "AccessDenied",
        id="register-dynamodb",
    ),
    pytest.param(
        "dynamodb.transact_write_items",
        transaction_with("ALIASLOG#"),
        lambda: ddb_fault("AccessDeniedException", 400),
        "AccessDenied",
        id="promote-dynamodb",
    ),
]


@pytest.mark.parametrize(("operation", "matches", "error", "needle"), STEP_FAULTS)
def test_an_aws_error_in_a_step_fails_the_run_cleanly_and_a_rerun_succeeds(
    platform: Platform,
    faults: FaultInjector,
    figures: Figures,
    request: pytest.FixtureRequest,
    operation: str,
    matches: Callable[[dict[str, Any]], bool],
    error: Callable[[], Exception],
    needle: str,
) -> None:
    case = request.node.callspec.id
    model = f"fault-{case}"
    # GIVEN the step's calls to AWS fail (a permission error: the SDK does not retry it)
    fault = faults.add(Fault(operation, matches, error))
    model, known = start(platform, model, seed=zlib.crc32(case.encode()) % 1000)
    # WHEN the pipeline runs into it
    result = finished(platform, model, known)
    faults.clear()
    # THEN the execution ended in a recorded failure naming the error
    assert fault.hits >= 1, "the fault never fired: the step no longer makes this call"
    assert_recorded_failure(platform, model, result, needle)
    # AND nothing half-written is registered or served
    assert_consistent(platform, model)
    assert not [a for a in items(platform, model, "ALIAS#")], "a failed run moved an alias"
    # AND the same input, run again, succeeds
    assert_rerun_succeeds(platform, model, result)
    figures.add("faults_survived")


@pytest.mark.parametrize(
    ("operation", "matches", "error"),
    [
        pytest.param(
            "s3.put_object", artifact_key("models/"), lambda: S3Fault("InternalError", 500), id="s3-500"
        ),
        pytest.param(
            "dynamodb.transact_write_items",
            transaction_with("RUNVERSION#"),
            lambda: ddb_fault("ProvisionedThroughputExceededException", 400),
            id="dynamodb-throttled",
        ),
    ],
)
def test_transient_errors_are_retried_by_the_sdk_and_the_run_succeeds(
    platform: Platform,
    faults: FaultInjector,
    figures: Figures,
    request: pytest.FixtureRequest,
    operation: str,
    matches: Callable[[dict[str, Any]], bool],
    error: Callable[[], Exception],
) -> None:
    case = request.node.callspec.id
    fault = faults.add(Fault(operation, matches, error, times=2))
    model, known = start(platform, f"transient-{case}", seed=500 + len(case))
    result = finished(platform, model, known)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    # two failures, then the third attempt went through (within SDK_ATTEMPTS)
    assert fault.hits == 2 < SDK_ATTEMPTS
    assert_consistent(platform, model)
    figures.add("faults_survived")


@pytest.mark.skipif(PROFILE.name != "soak", reason="~15 s of SDK backoff per case; soak profile only")
def test_a_persistent_5xx_is_retried_as_configured_then_fails_the_run(
    platform: Platform, faults: FaultInjector, figures: Figures
) -> None:
    fault = faults.add(Fault("s3.put_object", artifact_key("models/"), lambda: S3Fault("InternalError", 500)))
    model, known = start(platform, "fault-persistent-500", seed=900)
    result = finished(platform, model, known)
    faults.clear()
    assert fault.hits == SDK_ATTEMPTS
    assert_recorded_failure(platform, model, result, "InternalError")
    assert_consistent(platform, model)
    assert_rerun_succeeds(platform, model, result)
    figures.add("faults_survived")


# --------------------------------------------------------------------------- dying and slow workers


def worker_pids(platform: Platform, logical_id: str) -> list[int]:
    """PIDs of the function's worker processes that are busy (not idle in its pool)."""
    name = platform.cloud.function_name(logical_id)
    idle = {w.proc.pid for w in platform.cloud.runtime.pools[name].idle}
    marker = f"AWS_LAMBDA_FUNCTION_NAME={name}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in idle:
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_training_worker_killed_mid_run_fails_the_run_and_a_rerun_succeeds(
    platform: Platform, faults: FaultInjector, figures: Figures
) -> None:
    # GIVEN the train task is mid-run (held while writing its model)
    hold = threading.Event()
    fault = faults.add(Fault("s3.put_object", artifact_key("models/"), None, times=1, hold=hold))
    model, known = start(platform, "fault-killed", seed=31)
    assert fault.held.wait(120), "training never reached the model write"
    [pid] = worker_pids(platform, "TrainFunction")
    # WHEN its worker process dies
    os.kill(pid, signal.SIGKILL)
    result = finished(platform, model, known)
    hold.set()
    # THEN the run failed with the runtime's reason, and nothing was registered or served
    assert_recorded_failure(platform, model, result, "Runtime.ExitError")
    assert_consistent(platform, model)
    assert not items(platform, model, "VERSION#")
    assert_rerun_succeeds(platform, model, result)
    figures.add("faults_survived")


def test_a_lambda_timeout_fails_the_run_and_a_rerun_succeeds(
    platform: Platform, faults: FaultInjector, figures: Figures, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a train function that may run for 2 s, and a model write that takes longer
    spec = platform.cloud.runtime.functions[platform.cloud.function_name("TrainFunction")]
    monkeypatch.setattr(spec, "timeout", 2.0)
    hold = threading.Event()
    faults.add(Fault("s3.put_object", artifact_key("models/"), None, times=1, hold=hold))
    model, known = start(platform, "fault-lambda-timeout", seed=32)
    result = finished(platform, model, known)
    hold.set()
    monkeypatch.undo()
    assert_recorded_failure(platform, model, result, "Task timed out", "Sandbox.Timedout")
    assert_consistent(platform, model)
    assert_rerun_succeeds(platform, model, result)
    figures.add("faults_survived")


def test_a_step_functions_task_timeout_fails_the_run_and_a_late_finish_registers_nothing(
    platform: Platform, faults: FaultInjector, figures: Figures
) -> None:
    # GIVEN the Train state may take 2 s and the train function is slower than that
    original = platform.sfn.describe_state_machine(stateMachineArn=platform.state_machine)
    definition = json.loads(original["definition"])
    definition["States"]["Train"]["TimeoutSeconds"] = 2
    platform.sfn.update_state_machine(
        stateMachineArn=platform.state_machine, definition=json.dumps(definition)
    )
    hold = threading.Event()
    fault = faults.add(Fault("s3.put_object", artifact_key("models/"), None, times=1, hold=hold))
    try:
        model, known = start(platform, "fault-state-timeout", seed=33)
        result = platform.wait_for_pipeline(model, known=known)
    finally:
        platform.sfn.update_state_machine(
            stateMachineArn=platform.state_machine, definition=original["definition"]
        )
    assert fault.held.is_set()
    # THEN the run failed with States.Timeout while training was still going
    assert_recorded_failure(platform, model, result, "States.Timeout")
    # WHEN the abandoned training finishes late
    hold.set()
    wait_until_settled(platform, model)
    # THEN its late result is not registered, and the run stays failed
    assert not items(platform, model, "VERSION#")
    record = run_record(platform, model, json.loads(result["input"])["run_id"])
    assert record is not None and record["status"] == "failed"
    assert_consistent(platform, model)
    assert_rerun_succeeds(platform, model, result)
    figures.add("faults_survived")


def test_a_failure_before_training_is_recorded_on_a_run(platform: Platform, faults: FaultInjector) -> None:
    faults.add(
        Fault("s3.put_object", artifact_key("reports/validation/"), lambda: S3Fault("AccessDenied", 403))
    )
    model, known = start(platform, "fault-early-record", seed=41)
    result = finished(platform, model, known)
    faults.clear()
    assert result["error"] == "TrainingFailed"
    record = run_record(platform, model, json.loads(result["input"])["run_id"])
    assert record is not None and record["status"] == "failed" and "AccessDenied" in record["reason"]


# --------------------------------------------------------------------------- retries as configured


def test_asynchronous_ingest_is_retried_as_configured(platform: Platform, faults: FaultInjector) -> None:
    # GIVEN ingest's first attempt fails (a permission error on the dataset record)
    fault = faults.add(
        Fault(
            "dynamodb.put_item",
            sort_key("DATASET#"),
            lambda: ddb_fault("AccessDeniedException", 400),
            times=1,
        )
    )
    model, known = start(platform, "retry-ingest", seed=51)
    # WHEN S3 delivers the upload (asynchronously) THEN Lambda's retry ingests it once
    result = finished(platform, model, known)
    assert fault.hits == 1
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert len(items(platform, model, "DATASET#")) == 1
    # AND a fault that never clears is tried exactly 1 + MaximumRetryAttempts times
    spec = platform.cloud.runtime.functions[platform.cloud.function_name("IngestFunction")]
    always = faults.add(
        Fault("dynamodb.put_item", sort_key("DATASET#"), lambda: ddb_fault("AccessDeniedException", 400))
    )
    platform.upload(model, "second.csv", cancer_csv(frac=0.7, seed=52))
    platform.cloud.wait_idle(120)
    faults.clear()
    assert always.hits == 1 + spec.max_retry_attempts


def test_an_upload_whose_ingest_keeps_failing_is_kept_not_lost(
    platform: Platform, faults: FaultInjector
) -> None:
    spec = platform.cloud.runtime.functions[platform.cloud.function_name("IngestFunction")]
    assert spec.on_failure, "IngestFunction has no on-failure destination"
    faults.add(
        Fault("dynamodb.put_item", sort_key("DATASET#"), lambda: ddb_fault("AccessDeniedException", 400))
    )
    platform.put_spec(cancer_spec("retry-kept"))
    key = platform.upload("retry-kept", "lost.csv", cancer_csv(frac=0.6, seed=53))
    platform.cloud.wait_idle(120)
    faults.clear()
    sqs = platform.cloud.client("sqs")
    url = sqs.get_queue_url(QueueName=spec.on_failure.split(":")[-1])["QueueUrl"]
    bodies = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]
    assert any(key.split("/")[-1] in body for body in bodies), bodies


def test_lambda_service_errors_are_retried_by_the_state_machine(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.awslambda.models import LambdaFunction

    train = platform.cloud.function_name("TrainFunction")
    current = LambdaFunction.invoke
    failures = {"left": 2}

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        if self.function_name == train and failures["left"] > 0:
            failures["left"] -= 1
            error = JsonRESTError("ServiceException", "injected Lambda service error")
            error.code = 500
            raise error
        return current(self, body, request_headers, response_headers)

    monkeypatch.setattr(LambdaFunction, "invoke", invoke)
    model, known = start(platform, "retry-lambda", seed=54)
    result = finished(platform, model, known)
    monkeypatch.undo()
    assert failures["left"] == 0
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))

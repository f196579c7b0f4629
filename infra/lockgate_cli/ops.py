"""What the ML commands do to a target, without the terminal: the core's adapters built on the
target's clients, the CLI's own API credential, model references, and reading a pipeline run.

Everything here reaches the target through :meth:`Target.client`, so it runs unchanged against the
local cloud and an AWS stack. The commands in :mod:`lockgate_cli.ml_commands` only format.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from lockgate.adapters.dynamodb.checks import DynamoDBCheckStore
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.dynamodb.tokens import DynamoDBTokenStore
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.domain import events as lockgate_events
from lockgate.domain.dataset import UploadRecord, UploadRef, execution_name
from lockgate.domain.model_version import CHAMPION, ModelVersion
from lockgate.domain.names import MODEL_NAME
from lockgate.domain.spec import ModelSpec, parse_spec
from lockgate.domain.training_state import describe_failure
from lockgate.errors import AliasNotFoundError, ModelNotFoundError, RunNotFoundError, UnauthorizedError
from lockgate.services.tokens import create_token, verify_token

from lockgate_cli.target import CliError, Target, state_file

_REF = re.compile(r"^(?P<model>[^@\s]+)(?:@(?P<at>[^@\s]+))?$")
CLI_TOKEN_NAME = "lockgate-cli"  # noqa: S105 - a token holder name, not a secret
# Training and drift checks run for minutes on AWS; botocore's default 60 s read timeout would cut them.
_LONG_CALLS = Config(read_timeout=960, connect_timeout=10, retries={"max_attempts": 1})


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class ModelRef:
    """``model``, ``model@3`` or ``model@champion``."""

    model: str
    version: int | None = None
    alias: str | None = None

    @property
    def pinned(self) -> bool:
        return self.version is not None or self.alias is not None

    def __str__(self) -> str:
        at = self.version if self.version is not None else self.alias
        return self.model if at is None else f"{self.model}@{at}"


def check_model_name(model: str) -> str:
    if not MODEL_NAME.match(model):
        raise CliError(
            f"{model!r} is not a model name: use lowercase letters, digits and dashes (e.g. churn-v2)"
        )
    return model


def parse_ref(text: str) -> ModelRef:
    """Parse ``M``, ``M@V`` (version number) or ``M@alias``; anything else is a one-line error."""
    match = _REF.match(text.strip())
    if not match:
        raise CliError(f"{text!r} is not MODEL or MODEL@VERSION (e.g. churn@3 or churn@champion)")
    model, at = check_model_name(match["model"]), match["at"]
    if at is None:
        return ModelRef(model)
    if at.isdigit():
        if int(at) < 1:
            raise CliError(f"versions start at 1; {text!r} names version {at}")
        return ModelRef(model, version=int(at))
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", at):
        raise CliError(f"{text!r} is not MODEL@VERSION: {at!r} is neither a version number nor an alias")
    return ModelRef(model, alias=at)


# --------------------------------------------------------------------------- the target's adapters


class Ops:
    """The core's adapters, wired to one target's clients and stack outputs."""

    def __init__(self, target: Target) -> None:
        self.target = target

    # ------------------------------------------------------------------ outputs and clients
    @property
    def data_bucket(self) -> str:
        return self.target.output("DataBucketName")

    @property
    def artifact_bucket(self) -> str:
        return self.target.output("ArtifactBucketName")

    @property
    def table(self) -> str:
        return self.target.output("RegistryTableName")

    @property
    def state_machine_arn(self) -> str:
        return self.target.output("TrainingStateMachineArn")

    @property
    def api_url(self) -> str:
        return self.target.output("ApiUrl").rstrip("/")

    @cached_property
    def s3(self) -> Any:
        return self.target.client("s3")

    @cached_property
    def ddb(self) -> Any:
        return self.target.client("dynamodb")

    @cached_property
    def sfn(self) -> Any:
        return self.target.client("stepfunctions")

    @cached_property
    def lambda_(self) -> Any:
        return self.target.client("lambda", config=_LONG_CALLS)

    @cached_property
    def registry(self) -> DynamoDBModelRegistry:
        return DynamoDBModelRegistry(
            self.table, dynamodb_client=self.ddb, stepfunctions_client=self.sfn, publisher=self.publish
        )

    @cached_property
    def artifacts(self) -> S3ArtifactStore:
        return S3ArtifactStore(self.artifact_bucket, s3_client=self.s3)

    @cached_property
    def datasets(self) -> DynamoDBDatasetStore:
        return DynamoDBDatasetStore(self.table, dynamodb_client=self.ddb)

    @cached_property
    def runs(self) -> DynamoDBRunStore:
        return DynamoDBRunStore(self.table, dynamodb_client=self.ddb)

    @cached_property
    def tokens(self) -> DynamoDBTokenStore:
        return DynamoDBTokenStore(self.table, dynamodb_client=self.ddb)

    @cached_property
    def checks(self) -> DynamoDBCheckStore:
        return DynamoDBCheckStore(self.table, dynamodb_client=self.ddb)

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Announce on the stack's bus, as the functions do (registry writes from the CLI included)."""
        response = self.target.client("events").put_events(
            Entries=[
                {
                    "Source": lockgate_events.SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.target.output("EventBusName"),
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise CliError(f"EventBridge refused the {detail_type!r} event: {response['Entries']}")

    def s3_url(self, bucket: str, key: str) -> str:
        return f"s3://{bucket}/{key}"

    # ------------------------------------------------------------------ models and specs
    def spec_text(self, model: str) -> bytes | None:
        try:
            body: bytes = self.s3.get_object(Bucket=self.data_bucket, Key=f"specs/{model}.yaml")[
                "Body"
            ].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        return body

    def spec_models(self) -> list[str]:
        names: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.data_bucket, Prefix="specs/"
        ):
            for obj in page.get("Contents", []):
                name = obj["Key"][len("specs/") :]
                if name.endswith(".yaml") and "/" not in name:
                    names.append(name[: -len(".yaml")])
        return sorted(names)

    def versions(self, model: str) -> list[ModelVersion]:
        """Every version of ``model``; a model nobody has heard of is a one-line error."""
        try:
            return self.registry.list_model_versions(model)
        except ModelNotFoundError:
            if self.spec_text(model) is not None:
                return []
            raise CliError(f"no model named {model!r}; `lockgate models` lists them") from None

    def champion(self, model: str) -> int | None:
        try:
            return self.registry.get_alias(model, CHAMPION).version
        except AliasNotFoundError:
            return None

    def resolve(self, ref: ModelRef, *, default_champion: bool = True) -> ModelVersion:
        """The version a reference names (a bare model name means its champion)."""
        self.versions(ref.model)  # unknown model -> one sentence
        if ref.version is not None:
            return self.registry.get_model_version(ref.model, ref.version)
        alias = ref.alias or (CHAMPION if default_champion else None)
        if alias is None:
            raise CliError(f"name a version: {ref.model}@<version>")
        try:
            return self.registry.get_version_by_alias(ref.model, alias)
        except AliasNotFoundError:
            hint = " yet; name a version: MODEL@VERSION" if alias == CHAMPION else ""
            raise CliError(f"{ref.model} has no {alias}{hint}") from None

    def spec_snapshot(self, version: ModelVersion) -> ModelSpec | None:
        """The spec the version was trained with (None when the snapshot is unreadable)."""
        try:
            return parse_spec(self.artifacts.get_json("specs", version.spec_id))
        except Exception:  # noqa: BLE001 - a summary without the metric name is still useful
            return None

    # ------------------------------------------------------------------ the CLI's own credential
    def token_path(self) -> Path:
        if self.target.local:
            return state_file().parent / "cli.token"
        return Path.home() / ".config" / "lockgate" / f"{self.target.stack}.token"

    def admin_token(self) -> str:
        """The CLI's admin token, minted on first need and kept (mode 0600) for the next call.

        A kept token that the target no longer knows (a new local cloud, a revoked token) is
        replaced silently.
        """
        path = self.token_path()
        if path.exists():
            kept = path.read_text().strip()
            try:
                if verify_token(kept, tokens=self.tokens).is_admin:
                    return kept
            except UnauthorizedError:
                pass
        token = create_token("admin", CLI_TOKEN_NAME, tokens=self.tokens)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
        return token

    # ------------------------------------------------------------------ functions
    def invoke(self, logical_id: str, payload: dict[str, Any]) -> tuple[Any, bool]:
        """Invoke a stack function synchronously: (decoded payload, whether it raised)."""
        response = self.lambda_.invoke(
            FunctionName=self.target.function(logical_id), Payload=json.dumps(payload).encode()
        )
        raw = response["Payload"].read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        return body, "FunctionError" in response


# --------------------------------------------------------------------------- a pipeline run

STAGES = ("ingest", "validation", "train", "evaluate", "register", "approval", "promote")
STATE_STAGE = {
    "Validate": "validation",
    "Train": "train",
    "Evaluate": "evaluate",
    "Register": "register",
    "WaitForApproval": "approval",
    "Promote": "promote",
}
RESULT_PATH = {
    "validation": "validation",
    "train": "training",
    "evaluate": "evaluation",
    "register": "registration",
    "approval": "approval",
    "promote": "promotion",
}


@dataclass
class Stage:
    name: str
    status: str = "pending"  # pending | running | done | failed | waiting | skipped
    detail: str = ""


@dataclass
class PipelineRun:
    """What an execution's history says about each stage, and how it ended (if it has)."""

    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    stages: dict[str, Stage]
    input: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # the last state output seen
    error: str | None = None
    cause: str | None = None

    @property
    def waiting_for_approval(self) -> bool:
        return self.status == "RUNNING" and self.stages["approval"].status == "waiting"

    @property
    def version(self) -> int | None:
        registration = self.state.get("registration") or {}
        value = registration.get("version")
        return int(value) if value is not None else None


def _loads(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:  # a truncated (>256 KB) payload on AWS: details are optional
        return {}
    return value if isinstance(value, dict) else {}


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def stage_detail(stage: str, result: dict[str, Any]) -> str:
    """One short line about what a stage produced."""
    if stage == "validation":
        return f"{result.get('rows', '?')} rows × {result.get('columns', '?')} columns accepted"
    if stage == "train":
        return f"candidate model {str(result.get('model_id', '?'))[:12]}"
    if stage == "evaluate":
        gates = result.get("gates") or {}
        metric = gates.get("metric")
        text = f"{metric} {_fmt(gates.get('candidate'))}" if metric else "gates passed"
        reasons = [r for r in gates.get("reasons") or [] if r != "no champion yet"]
        return text + (f": {'; '.join(reasons)}" if reasons else " (no champion yet)")
    if stage == "register":
        return f"v{result.get('version', '?')} {result.get('status', '')}".rstrip()
    if stage == "approval":
        who = result.get("actor")
        return f"approved by {who}" if who else "approved"
    if stage == "promote":
        previous = result.get("previous")
        return f"champion v{result.get('champion', '?')}" + (f" (was v{previous})" if previous else "")
    return ""


def _failure_line(details: dict[str, Any], kind: str) -> str:
    """A task's error as one line: the handler's message, not its stack trace."""
    name, cause = describe_failure({"Error": details.get("error") or kind, "Cause": details.get("cause")})
    line = cause.splitlines()[0] if cause else name
    return line if len(line) <= 240 else line[:237] + "…"


def read_run(sfn: Any, execution_arn: str) -> PipelineRun:
    """Describe an execution and replay its history into stages."""
    description = sfn.describe_execution(executionArn=execution_arn)
    history: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        history += page.get("events", [])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    run = PipelineRun(
        status=description["status"],
        stages={name: Stage(name) for name in STAGES},
        input=_loads(description.get("input")),
        error=description.get("error"),
        cause=description.get("cause"),
    )
    run.stages["ingest"] = Stage("ingest", "done")
    current: str | None = None
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            stage = STATE_STAGE.get(name)
            if name == "Promote" and run.stages["approval"].status == "pending":
                run.stages["approval"] = Stage("approval", "skipped", "automatic (spec approval: auto)")
            if stage:
                run.stages[stage].status = "running"
                current = stage
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            output = _loads(event["stateExitedEventDetails"].get("output"))
            if output:
                run.state = output
            stage = STATE_STAGE.get(name)
            if stage and run.stages[stage].status != "failed":
                result = output.get(RESULT_PATH[stage]) or {}
                run.stages[stage] = Stage(stage, "done", stage_detail(stage, result))
            if stage:
                current = None
        elif kind.endswith(("Failed", "TimedOut")) and not kind.startswith("Execution") and current:
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            run.stages[current].status = "failed"
            run.stages[current].detail = _failure_line(details, kind)
        elif kind.endswith("Scheduled") and current and run.stages[current].status == "failed":
            run.stages[current].status = "running"  # a retry
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            run.error = run.error or details.get("error")
            run.cause = run.cause or details.get("cause")
    if current is not None:
        if current == "approval" and run.status == "RUNNING" and run.stages[current].status == "running":
            run.stages["approval"].status = "waiting"
        elif run.status != "RUNNING":
            run.stages[current].status = "failed"
    if (
        run.status != "SUCCEEDED"
        and run.status != "RUNNING"
        and not any(s.status == "failed" for s in run.stages.values())
    ):
        # Caught errors end in a Fail state after the stage exited through its Catch: blame the
        # first stage that did not finish.
        failed = next((s for s in STAGES if run.stages[s].status in ("running", "pending")), None)
        if failed:
            run.stages[failed].status = "failed"
    return run


def execution_arn_for(state_machine_arn: str, model: str, dataset_id: str) -> str:
    """Ingest names executions after the content (``lockgate.domain.dataset.execution_name``)."""
    return (
        state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + execution_name(model, dataset_id)
    )


# --------------------------------------------------------------------------- pushing a dataset


def upload_ids(bucket: str, key: str, put_response: dict[str, Any]) -> list[str]:
    """The ids ingest may give this upload (``lockgate.domain.dataset.UploadRef.upload_id``): by object
    version when the bucket is versioned and the notification carries it, else by ETag."""
    etag = str(put_response.get("ETag", "")).strip('"')
    refs = [UploadRef(bucket=bucket, key=key, etag=etag)]
    if put_response.get("VersionId"):
        refs.insert(0, UploadRef(bucket=bucket, key=key, etag=etag, version_id=put_response["VersionId"]))
    return [r.upload_id for r in refs]


def upload_record(ops: Ops, model: str, ids: list[str]) -> UploadRecord | None:
    """What ingest recorded for this upload (``new``, ``duplicate`` or ``rejected``), once written."""
    for upload_id in ids:
        found = ops.datasets.get_upload(model, upload_id)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Verdict:
    """How a pushed dataset ended, in one line; ``ok`` decides the exit code."""

    outcome: str  # champion | pending | rejected | failed | duplicate
    text: str
    ok: bool
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "text": self.text, "ok": self.ok, "version": self.version}


def duplicate_verdict(ops: Ops, model: str, upload: UploadRecord) -> Verdict:
    original = ops.datasets.get(model, upload.record.dataset_id)
    text = (
        f"duplicate: the same bytes were uploaded as {original.source_key} "
        f"(dataset {original.dataset_id[:12]}, {original.status}); nothing new to train"
    )
    return Verdict("duplicate", text, ok=original.status != "rejected")


def run_verdict(ops: Ops, model: str, run: PipelineRun) -> Verdict:
    """The one-line outcome of a finished (or approval-waiting) training execution."""
    version = run.version
    if run.waiting_for_approval:
        return Verdict(
            "pending",
            f"v{version} is waiting for approval: `lockgate approve {model} {version}` "
            f"or `lockgate reject {model} {version}`",
            ok=True,
            version=version,
        )
    if run.status == "SUCCEEDED":
        gates = (run.state.get("evaluation") or {}).get("gates") or {}
        score = f" ({gates['metric']} {_fmt(gates.get('candidate'))})" if gates.get("metric") else ""
        champion = ops.champion(model)
        if champion is not None and champion != version:
            return Verdict("champion", f"v{version} approved; the champion is v{champion}", True, version)
        return Verdict("champion", f"champion v{version}{score}", ok=True, version=version)
    reasons = failure_reasons(ops, model, run)
    if run.error in ("DatasetRejected", "ModelRejected"):
        what = "the dataset failed validation" if run.error == "DatasetRejected" else "the candidate"
        return Verdict("rejected", f"rejected: {what}: {reasons}", ok=False, version=version)
    return Verdict("failed", f"failed: {reasons}", ok=False, version=version)


def failure_reasons(ops: Ops, model: str, run: PipelineRun) -> str:
    """Why an execution ended badly, from the records the pipeline wrote (not the ASL cause)."""
    if run.status in ("TIMED_OUT", "ABORTED"):
        return f"the execution {run.status.lower().replace('_', ' ')}"
    dataset_id = (run.input.get("dataset") or {}).get("id")
    if run.error == "DatasetRejected" and dataset_id:
        try:
            record = ops.datasets.get(model, dataset_id)
        except Exception:  # noqa: BLE001 - fall back to the execution's own cause
            record = None
        if record and record.reasons:
            return "; ".join(record.reasons)
    version = run.version
    if version is not None:
        mv = ops.registry.get_model_version(model, version)
        decisions = [a for a in mv.approvals if a.get("action") == "reject"]
        if mv.status == "Rejected" and decisions:
            last = decisions[-1]
            return f"v{version} rejected by {last.get('actor', '?')}" + (
                f": {last['comment']}" if last.get("comment") else ""
            )
    run_id = run.input.get("run_id")
    if run_id:
        try:
            reason = ops.runs.get(model, str(run_id)).reason
        except RunNotFoundError:
            reason = None
        if reason:
            return reason
    return f"{run.error or 'error'}: {run.cause or 'no cause recorded'}"

"""The ML commands of `lockgate`: specs, datasets, models, predictions, approvals, lineage, drift.

``lockgate_cli.main`` adds them to the app with :func:`register`. Each reaches the target (local
cloud or ``--stack``) through :class:`lockgate_cli.ops.Ops`; core errors and unreachable endpoints
become one sentence and exit code 1 (``lockgate_cli.common.LockgateGroup``).
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import math
import re
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
from botocore.exceptions import ClientError
from lockgate.domain.dataset import parse_dataset_key
from lockgate.domain.model_version import ModelVersion
from lockgate.domain.spec import load_spec
from lockgate.errors import (
    AliasNotFoundError,
    LockgateError,
    ModelNotFoundError,
    SpecInvalidError,
    VersionConflictError,
)
from lockgate.services.lineage import lineage
from lockgate.services.tokens import create_token
from rich.markup import escape

from lockgate_cli.common import JsonOpt, StackOpt, console, err, print_json, table, target
from lockgate_cli.ops import (
    STAGES,
    ModelRef,
    Ops,
    PipelineRun,
    Stage,
    Verdict,
    check_model_name,
    duplicate_verdict,
    execution_arn_for,
    parse_ref,
    read_run,
    run_verdict,
    upload_ids,
    upload_record,
)
from lockgate_cli.target import CliError

spec_app = typer.Typer(no_args_is_help=True, help="Model specs (specs/<model>.yaml in the data bucket).")
token_app = typer.Typer(no_args_is_help=True, help="API credentials.")

POLL_SECONDS = 0.5
PREDICT_CHUNK = 500


def ops_for(stack: str | None) -> Ops:
    return Ops(target(stack))


def read_input(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.is_dir():
        raise CliError(f"{path} is a directory, not a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None


def actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "operator"
    return f"{user} (cli)"


def _score(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else _metric_text(value)


def _metric_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


# =========================================================================== spec push


@spec_app.command("push")
def spec_push(
    file: Annotated[Path, typer.Argument(help="The spec, YAML (see docs/spec.md).")],
    stack: StackOpt = None,
) -> None:
    """Validate a spec here, then upload it to s3://<data bucket>/specs/<model>.yaml."""
    text = read_input(file)
    try:
        spec = load_spec(text)
    except SpecInvalidError as exc:
        raise CliError(f"{file}: {exc.message}") from None
    ops = ops_for(stack)
    key = f"specs/{spec.model}.yaml"
    ops.s3.put_object(Bucket=ops.data_bucket, Key=key, Body=text, ContentType="application/yaml")
    console.print(
        f"[green]✓[/] spec for [bold]{spec.model}[/]: {spec.task} of {escape(spec.target)} with "
        f"{spec.estimator}, metric {spec.primary_metric}, approval {spec.approval}",
        soft_wrap=True,
    )
    console.print(f"  {ops.s3_url(ops.data_bucket, key)}", soft_wrap=True)


# =========================================================================== push


_MARKS = {"done": "[green]✓[/]", "failed": "[red]✗[/]", "waiting": "[yellow]⏸[/]", "skipped": "[dim]–[/]"}


class StagePrinter:
    """One line per stage as it settles (done, failed, waiting, skipped), in pipeline order."""

    def __init__(self) -> None:
        self.shown: dict[str, str] = {}

    def show(self, stage: Stage) -> None:
        if stage.status in _MARKS and self.shown.get(stage.name) != stage.status:
            self.shown[stage.name] = stage.status
            console.print(f"  {_MARKS[stage.status]} {stage.name:<11} {escape(stage.detail)}", soft_wrap=True)

    def update(self, run: PipelineRun) -> str:
        """Print what settled; return a status line for the stage now running."""
        running = ""
        for name in STAGES:
            stage = run.stages[name]
            self.show(stage)
            if stage.status == "running":
                running = name
        return f"{running}…" if running else "waiting for the next stage…"


def push(
    *,
    file: Annotated[Path, typer.Argument(help="CSV, CSV.gz or Parquet file ('-' reads stdin).")],
    model: Annotated[str, typer.Option("--model", "-m", help="The model this data trains.")],
    name: Annotated[
        str | None, typer.Option(help="Object name under datasets/<model>/ (default: the file's name).")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Follow the pipeline until it has a verdict.")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Give up following after this many seconds.")] = 3600,
    stack: StackOpt = None,
) -> None:
    """Upload a dataset and follow it live: ingest → validation → train → evaluate → register →
    approval → promote. Exit 0 for a champion or a version waiting for approval, 1 otherwise."""
    check_model_name(model)
    data = read_input(file)
    if not data:
        raise CliError(f"{file} is empty")
    key = f"datasets/{model}/{name or (file.name if str(file) != '-' else 'stdin.csv')}"
    _, problem = parse_dataset_key(key)
    if problem:
        raise CliError(problem)
    ops = ops_for(stack)
    if ops.spec_text(model) is None:
        raise CliError(f"model {model} has no spec yet; push one first with `lockgate spec push FILE`")
    dataset_id = hashlib.sha256(data).hexdigest()
    response = ops.s3.put_object(Bucket=ops.data_bucket, Key=key, Body=data)
    console.print(
        f"uploaded {escape(str(file))} → {ops.s3_url(ops.data_bucket, key)} (dataset {dataset_id[:12]})",
        soft_wrap=True,
    )
    if not follow:
        console.print(f"follow it with `lockgate datasets {model}` and `lockgate show {model}`")
        return
    verdict = follow_upload(ops, model, upload_ids(ops.data_bucket, key, response), dataset_id, timeout)
    colour = "green" if verdict.ok else "red"
    console.print(f"[bold {colour}]{escape(verdict.text)}[/]", soft_wrap=True)
    if not verdict.ok:
        raise typer.Exit(1)


def follow_upload(ops: Ops, model: str, ids: list[str], dataset_id: str, timeout: float) -> Verdict:
    deadline = time.monotonic() + timeout
    printer = StagePrinter()
    with console.status("ingest: waiting for the upload to be recorded…") as status:
        while (upload := upload_record(ops, model, ids)) is None:
            if time.monotonic() > deadline:
                raise CliError(
                    f"ingest has not recorded the upload after {timeout:.0f} s; "
                    "see `lockgate logs IngestFunction`"
                )
            time.sleep(POLL_SECONDS)
        if upload.status == "rejected":
            reasons = "; ".join(upload.record.reasons or ["no reason recorded"])
            printer.show(Stage("ingest", "failed", reasons))
            return Verdict("rejected", f"rejected at ingest: {reasons}", ok=False)
        if upload.status == "duplicate":
            printer.show(Stage("ingest", "done", "duplicate upload"))
            return duplicate_verdict(ops, model, upload)
        record = ops.datasets.get(model, dataset_id)
        printer.show(
            Stage("ingest", "done", f"dataset {dataset_id[:12]}, {record.size:,} bytes {record.format}")
        )
        arn = record.execution_arn or execution_arn_for(ops.state_machine_arn, model, dataset_id)
        while True:
            run = _try_read_run(ops, arn)
            if run is not None:
                status.update(printer.update(run))
                if run.status != "RUNNING" or run.waiting_for_approval:
                    return run_verdict(ops, model, run)
            if time.monotonic() > deadline:
                raise CliError(
                    f"the pipeline is still running after {timeout:.0f} s; "
                    f"check on it later with `lockgate show {model}`"
                )
            time.sleep(POLL_SECONDS)


def _try_read_run(ops: Ops, arn: str) -> PipelineRun | None:
    try:
        return read_run(ops.sfn, arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return None  # ingest is starting it
        raise


# =========================================================================== listings


def datasets(
    model: Annotated[str, typer.Argument(help="Model name.")],
    stack: StackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every upload of a model: accepted, rejected (with reasons) and duplicates."""
    ops = ops_for(stack)
    check_model_name(model)
    records = ops.datasets.list(model)
    if not records:
        ops.versions(model)  # an unknown model is an error; a known one simply has no data yet
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    prefix = f"datasets/{model}/"
    table(
        f"Datasets of {model}",
        ["uploaded", "status", "file", "dataset", "rows", "reasons"],
        [
            [
                r.created_at.replace("T", " ")[:16],
                r.status,
                r.source_key.removeprefix(prefix),
                r.dataset_id[:12],
                r.rows,
                "; ".join(r.reasons),
            ]
            for r in records
        ],
    )


def _model_summary(ops: Ops, model: str) -> dict[str, Any]:
    try:
        versions = ops.registry.list_model_versions(model)
    except ModelNotFoundError:
        versions = []
    champion = ops.champion(model)
    current = next((v for v in versions if v.version == champion), None)
    spec = ops.spec_snapshot(current) if current else None
    metric = spec.primary_metric if spec else None
    return {
        "model": model,
        "champion": champion,
        "metric": metric,
        "value": current.metrics.get(metric) if current and metric else None,
        "versions": len(versions),
        "latest_version": versions[-1].version if versions else None,
        "latest_status": versions[-1].status if versions else None,
        "pending_approval": [v.version for v in versions if v.status == "PendingManualApproval"],
    }


def models(stack: StackOpt = None, as_json: JsonOpt = False) -> None:
    """Every model with a spec or a version: champion, its primary metric, versions, pending approvals."""
    ops = ops_for(stack)
    names = {m.model for m in ops.registry.list_models()} | set(ops.spec_models())
    rows = [_model_summary(ops, name) for name in sorted(names)]
    if as_json:
        print_json(rows)
        return
    table(
        "Models",
        ["model", "champion", "metric", "versions", "latest", "pending approval"],
        [
            [
                r["model"],
                f"v{r['champion']}" if r["champion"] else "none",
                f"{r['metric']} {_metric_text(r['value'])}" if r["metric"] else "",
                r["versions"],
                f"v{r['latest_version']} {r['latest_status']}" if r["latest_version"] else "",
                ", ".join(f"v{v}" for v in r["pending_approval"]),
            ]
            for r in rows
        ],
    )


# =========================================================================== show


def _version_doc(ops: Ops, mv: ModelVersion) -> dict[str, Any]:
    trail = lineage(mv.model, mv.version, registry=ops.registry, runs=ops.runs, datasets=ops.datasets)
    card = mv.model_card_id
    return {
        **mv.to_dict(),
        "model_artifact_url": ops.s3_url(ops.artifact_bucket, f"models/{mv.model_artifact}.onnx"),
        "model_card_url": ops.s3_url(ops.artifact_bucket, f"cards/{card}.md") if card else None,
        "validation_report_url": (
            ops.s3_url(ops.artifact_bucket, f"reports/validation/{mv.report_id}.json")
            if mv.report_id
            else None
        ),
        "lineage": {
            "dataset": trail.dataset,
            "validation_report_id": trail.validation_report_id,
            "run": {k: trail.run.get(k) for k in ("run_id", "status", "trigger", "seed")},
            "promotions": trail.promotions,
        },
    }


def show(
    ref: Annotated[
        str, typer.Argument(metavar="MODEL[@VERSION]", help="e.g. churn, churn@3, churn@champion")
    ],
    stack: StackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A model's versions, or one version: status, metrics, aliases, lineage, model card."""
    ops = ops_for(stack)
    parsed = parse_ref(ref)
    if not parsed.pinned:
        _show_model(ops, parsed.model, as_json)
        return
    doc = _version_doc(ops, ops.resolve(parsed))
    if as_json:
        print_json(doc)
        return
    _print_version(doc)


def _show_model(ops: Ops, model: str, as_json: bool) -> None:
    versions = ops.versions(model)
    champion = ops.champion(model)
    if as_json:
        print_json(
            {
                "model": model,
                "champion": champion,
                "versions": [
                    {
                        k: v.to_dict()[k]
                        for k in ("version", "status", "aliases", "metrics", "created_at", "dataset_id")
                    }
                    for v in versions
                ],
            }
        )
        return
    if not versions:
        console.print(f"{model} has a spec but no version yet; `lockgate push FILE --model {model}`")
        return
    spec = ops.spec_snapshot(versions[-1])
    metric = spec.primary_metric if spec else next(iter(versions[-1].metrics), "")
    table(
        f"{model}: champion {'v' + str(champion) if champion else 'none'}",
        ["version", "status", "aliases", metric, "created"],
        [
            [
                f"v{v.version}",
                v.status,
                ", ".join(v.aliases),
                _metric_text(v.metrics.get(metric)),
                v.created_at,
            ]
            for v in versions
        ],
    )


def _print_version(doc: dict[str, Any]) -> None:
    lin = doc["lineage"]
    dataset = lin["dataset"]
    rows: list[list[Any]] = [
        ["status", doc["status"]],
        ["aliases", ", ".join(doc["aliases"]) or "none"],
        ["created", doc["created_at"]],
        ["intent", doc["intent"] or ""],
    ]
    rows += [
        [f"metric {k}", _metric_text(v)] for k, v in doc["metrics"].items() if isinstance(v, (int, float))
    ]
    rows += [
        [f"{a.get('action', '')}", f"{a.get('actor', '')} {a.get('at', '')} {a.get('comment', '')}".strip()]
        for a in doc["approvals"]
    ]
    rows += [
        ["dataset", f"{dataset.get('dataset_id', '')[:12]} {dataset.get('source_key', '')}".strip()],
        ["rows", dataset.get("rows", "")],
        ["run", f"{lin['run'].get('run_id')} ({lin['run'].get('status') or 'unknown'})"],
        ["params", ", ".join(f"{k}={v}" for k, v in sorted(doc["params"].items())) or "defaults"],
        ["seed", doc["seed"]],
        ["model artifact", doc["model_artifact_url"]],
        ["model card", doc["model_card_url"] or "none"],
        ["validation report", doc["validation_report_url"] or "none"],
    ]
    table(f"{doc['model']} v{doc['version']}", ["", ""], rows)


# =========================================================================== predict


def _coerce(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value  # let the API name the instance and feature at fault
    return value


def _csv_instances(data: bytes, signature: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError("the CSV is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    kinds = {str(i["name"]): str(i.get("type", "number")) for i in signature.get("inputs", [])}
    missing = [name for name in kinds if name not in (reader.fieldnames or [])]
    if missing:
        raise CliError(f"the CSV lacks the model's input column(s): {', '.join(missing)}")
    return [{name: _coerce(row.get(name) or "", kind) for name, kind in kinds.items()} for row in reader]


def _instances(data: bytes, *, is_csv: bool, signature: Callable[[], dict[str, Any]]) -> list[Any]:
    if is_csv:
        return _csv_instances(data, signature())
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise CliError(f'the input is neither CSV nor JSON {{"instances": [...]}}: {exc}') from None
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("instances"), list):
        return list(body["instances"])
    raise CliError('JSON input must be {"instances": [{...}, ...]} or a list of objects')


def predict(
    *,
    model: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[
        Path, typer.Argument(help='JSON {"instances": [...]} or CSV with a header; "-" reads stdin.')
    ] = Path("-"),
    version: Annotated[
        int | None, typer.Option(help="Score with this version instead of the champion.")
    ] = None,
    alias: Annotated[str | None, typer.Option(help="Score with the version behind this alias.")] = None,
    stack: StackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score instances through the HTTP API (POST /models/<model>/predict), as a client would."""
    check_model_name(model)
    data = read_input(file)
    ops = ops_for(stack)
    stripped = data.lstrip()
    is_csv = file.suffix.lower() == ".csv" or not stripped.startswith((b"{", b"["))
    instances = _instances(
        data,
        is_csv=is_csv,
        signature=lambda: ops.resolve(ModelRef(model, version=version, alias=alias)).signature,
    )
    if not instances:
        raise CliError("no instances to score")
    token = ops.admin_token()
    params = {k: v for k, v in (("version", version), ("alias", alias)) if v is not None}
    results: dict[str, Any] = {"model": model, "predictions": [], "prediction_ids": []}
    for start in range(0, len(instances), PREDICT_CHUNK):
        body = _post_predict(ops, model, instances[start : start + PREDICT_CHUNK], params, token)
        results["version"] = body.get("version")
        results["predictions"] += body.get("predictions", [])
        results["prediction_ids"] += body.get("prediction_ids", [])
        if "probabilities" in body:
            results.setdefault("probabilities", []).extend(body["probabilities"])
    if as_json:
        print_json(results)
        return
    probabilities = results.get("probabilities") or [None] * len(results["predictions"])
    table(
        f"{model} v{results['version']}: {len(results['predictions'])} predictions",
        ["#", "prediction", "probability", "prediction id"],
        [
            [i, p, _metric_text(prob.get(str(p))) if isinstance(prob, dict) else "", pid]
            for i, (p, prob, pid) in enumerate(
                zip(results["predictions"], probabilities, results["prediction_ids"], strict=True)
            )
        ],
    )


def _post_predict(
    ops: Ops, model: str, instances: list[Any], params: dict[str, Any], token: str
) -> dict[str, Any]:
    response = requests.post(
        f"{ops.api_url}/models/{model}/predict",
        params=params,
        json={"instances": instances},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    if response.status_code >= 400:
        message = body.get("message") or body.get("error") or response.reason
        raise CliError(f"the API refused the prediction ({response.status_code}): {message}")
    return dict(body)


# =========================================================================== approvals and aliases


def _wait_for_execution(ops: Ops, mv: ModelVersion, seconds: float) -> str | None:
    """Wait for the execution that produced ``mv`` to leave RUNNING; its final status (or None)."""
    if seconds <= 0:
        return None
    try:
        record = ops.datasets.get(mv.model, mv.dataset_id)
    except LockgateError:
        return None
    arn = record.execution_arn or execution_arn_for(ops.state_machine_arn, mv.model, mv.dataset_id)
    deadline = time.monotonic() + seconds
    with console.status("the pipeline resumes…"):
        while time.monotonic() < deadline:
            try:
                status = str(ops.sfn.describe_execution(executionArn=arn)["status"])
            except ClientError:
                return None
            if status != "RUNNING":
                return status
            time.sleep(POLL_SECONDS)
    return "RUNNING"


def _decide(model: str, version: int, *, comment: str, wait: float, stack: str | None, approve: bool) -> None:
    ops = ops_for(stack)
    check_model_name(model)
    ops.versions(model)
    decide = ops.registry.approve if approve else ops.registry.reject
    try:
        mv = decide(model, version, actor=actor(), comment=comment)
    except VersionConflictError as exc:
        state = exc.details.get("status", "decided")
        raise CliError(f"{model} v{version} is not waiting for approval: it is {state}") from None
    word = "approved" if approve else "rejected"
    console.print(f"[{'green' if approve else 'red'}]{word}[/] {model} v{version}", soft_wrap=True)
    final = _wait_for_execution(ops, mv, wait)
    if approve and final == "SUCCEEDED":
        champion = ops.champion(model)
        console.print(f"champion of {model} is v{champion}")
    elif final == "RUNNING":
        console.print("the pipeline is still running; `lockgate show` tells when it is done")
    elif final is not None:
        console.print(f"the pipeline ended: {final}")


WaitOpt = Annotated[float, typer.Option(help="Seconds to wait for the resumed pipeline (0: don't).")]
CommentOpt = Annotated[str, typer.Option(help="Why; recorded with the decision.")]


def approve(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version waiting for approval.")],
    comment: CommentOpt = "",
    wait: WaitOpt = 120,
    stack: StackOpt = None,
) -> None:
    """Approve a version waiting for approval; its pipeline resumes and promotes it."""
    _decide(model, version, comment=comment, wait=wait, stack=stack, approve=True)


def reject(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version waiting for approval.")],
    comment: CommentOpt = "",
    wait: WaitOpt = 120,
    stack: StackOpt = None,
) -> None:
    """Reject a version waiting for approval; its pipeline ends without promoting it."""
    _decide(model, version, comment=comment, wait=wait, stack=stack, approve=False)


def rollback(
    model: Annotated[str, typer.Argument(help="Model name.")],
    to: Annotated[
        int | None, typer.Option("--to", help="Version to restore (default: the previous champion).")
    ] = None,
    stack: StackOpt = None,
) -> None:
    """Point the champion alias back at the previous champion (or at --to VERSION)."""
    ops = ops_for(stack)
    check_model_name(model)
    ops.versions(model)
    try:
        moved = ops.registry.rollback(model, to_version=to, actor=actor())
    except AliasNotFoundError:
        raise CliError(f"{model} has no champion to roll back") from None
    console.print(f"champion of {model}: v{moved.previous_version} → [bold]v{moved.version}[/]")


# =========================================================================== lineage and reproduce


def lineage_cmd(
    ref: Annotated[
        str, typer.Argument(metavar="MODEL[@VERSION]", help="e.g. churn@3 (default: the champion)")
    ],
    stack: StackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How a version was made: dataset → validation → run → version → approvals → promotions."""
    ops = ops_for(stack)
    mv = ops.resolve(parse_ref(ref))
    trail = lineage(mv.model, mv.version, registry=ops.registry, runs=ops.runs, datasets=ops.datasets)
    if as_json:
        print_json(trail.to_dict())
    else:
        sys.stdout.write(trail.render_text())


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def compare_reproduction(mv: ModelVersion, result: dict[str, Any]) -> dict[str, Any]:
    """Recorded version vs. a fresh training run: ONNX hash, every metric, then the inputs that
    could explain a difference (params, seed, library versions)."""
    metrics = {
        name: {"recorded": value, "reproduced": result.get("metrics", {}).get(name)}
        for name, value in mv.metrics.items()
    }
    for entry in metrics.values():
        entry["match"] = _same(entry["recorded"], entry["reproduced"])
    model_match = result.get("model_id") == mv.model_artifact
    differences = [
        f"metric {n}: {e['recorded']} → {e['reproduced']}" for n, e in metrics.items() if not e["match"]
    ]
    if not model_match:
        differences.append(f"ONNX model: {mv.model_artifact[:12]} → {str(result.get('model_id'))[:12]}")
    if result.get("params") != mv.params:
        differences.append(f"params: {mv.params} → {result.get('params')}")
    if result.get("seed") != mv.seed:
        differences.append(f"seed: {mv.seed} → {result.get('seed')}")
    env_old, env_new = mv.environment, result.get("environment") or {}
    for lib in sorted(set(env_old) | set(env_new)):
        if env_old.get(lib) != env_new.get(lib):
            differences.append(f"{lib}: {env_old.get(lib)} → {env_new.get(lib)}")
    return {
        "model": mv.model,
        "version": mv.version,
        "reproduced": model_match and all(e["match"] for e in metrics.values()),
        "model_artifact": {
            "recorded": mv.model_artifact,
            "reproduced": result.get("model_id"),
            "match": model_match,
        },
        "metrics": metrics,
        "differences": differences,
    }


def reproduce(
    ref: Annotated[str, typer.Argument(metavar="MODEL@VERSION", help="e.g. churn@3")],
    stack: StackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retrain a version from its recorded dataset, spec and seed (the TrainFunction, trigger
    "reproduce") and check that the ONNX model and metrics come out the same. Exit 1 if not."""
    ops = ops_for(stack)
    mv = ops.resolve(parse_ref(ref))
    try:
        fmt = ops.datasets.get(mv.model, mv.dataset_id).format or "csv"
    except LockgateError:
        fmt = "csv"
    payload = {
        "model": mv.model,
        "run_id": f"repro-{mv.run_id}",
        "trigger": "reproduce",
        "dataset": {
            "id": mv.dataset_id,
            "bucket": ops.artifact_bucket,
            "key": f"datasets/{mv.dataset_id}",
            "format": fmt,
        },
        "spec": {"id": mv.spec_id},
    }
    with console.status(f"retraining {mv.model} v{mv.version} from its recorded inputs…"):
        result, errored = ops.invoke("TrainFunction", payload)
    if errored or not isinstance(result, dict):
        detail = result.get("errorMessage", result) if isinstance(result, dict) else result
        raise CliError(f"the reproduction run failed: {detail}")
    report = compare_reproduction(mv, result)
    if as_json:
        print_json(report)
    else:
        table(
            f"{mv.model} v{mv.version} reproduced",
            ["", "recorded", "reproduced", "match"],
            [
                [
                    "ONNX model",
                    report["model_artifact"]["recorded"][:16],
                    str(report["model_artifact"]["reproduced"])[:16],
                    "yes" if report["model_artifact"]["match"] else "NO",
                ]
            ]
            + [
                [
                    name,
                    _metric_text(e["recorded"]),
                    _metric_text(e["reproduced"]),
                    "yes" if e["match"] else "NO",
                ]
                for name, e in report["metrics"].items()
                if isinstance(e["recorded"], (int, float))
            ],
        )
        if report["reproduced"]:
            console.print("[bold green]reproduced: the same ONNX model and the same metrics[/]")
        else:
            console.print(
                "[bold red]NOT reproduced:[/] " + escape("; ".join(report["differences"])), soft_wrap=True
            )
    if not report["reproduced"]:
        raise typer.Exit(1)


# =========================================================================== drift


def drift_doc(ops: Ops, result: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """A check's verdict with per-feature results of every window, and where its reports are."""
    features = []
    windows = {}
    for name, window in (report.get("windows") or {}).items():
        windows[name] = {
            k: window.get(k)
            for k in (
                "start",
                "end",
                "rows",
                "min_samples",
                "status",
                "drifted",
                "drift_share",
                "performance",
            )
        }
        for f in window.get("features") or []:
            features.append({"window": name, **{k: v for k, v in f.items() if k != "distribution"}})
        prediction = window.get("prediction")
        if prediction:
            features.append(
                {
                    "window": name,
                    **{k: v for k, v in prediction.items() if k != "distribution"},
                    "feature": "(prediction)",
                }
            )
    return {
        "model": result.get("model"),
        "version": result.get("version"),
        "window_end": result.get("window_end"),
        "drifted": bool(result.get("drifted")),
        "performance_degraded": bool(result.get("performance_degraded")),
        "drifted_features": result.get("drifted_features") or {},
        "retraining": result.get("retraining"),
        "report_url": ops.s3_url(ops.artifact_bucket, f"reports/drift/{result['report_id']}.json"),
        "html_report_url": ops.s3_url(
            ops.artifact_bucket,
            str(result.get("html_report_key") or f"reports/drift/{result.get('html_report_id')}.html"),
        ),
        "windows": windows,
        "features": features,
        "report": report,
    }


def drift(
    model: Annotated[str, typer.Argument(help="Model name.")],
    now: Annotated[
        bool, typer.Option("--now", help="Run a check now (the scheduled DriftFunction).")
    ] = False,
    stack: StackOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest drift verdict of a model's champion, or a fresh check with --now."""
    ops = ops_for(stack)
    check_model_name(model)
    ops.versions(model)
    if now:
        with console.status(f"checking {model} for drift…"):
            body, errored = ops.invoke("DriftFunction", {"model": model, "force": True})
        if errored or not isinstance(body, dict):
            detail = body.get("errorMessage", body) if isinstance(body, dict) else body
            raise CliError(f"the drift check failed: {detail}")
        if not body.get("ok"):
            raise CliError(str(body.get("message") or body.get("error") or "the drift check was refused"))
        result, report = body, body.get("report") or {}
    else:
        check = ops.checks.latest(model)
        if check is None:
            if as_json:
                print_json({"model": model, "checked": False, "drifted": None, "features": []})
            else:
                console.print(
                    f"no drift check has run for {model} yet; run one with `lockgate drift {model} --now`"
                )
            return
        result = check.to_dict()
        report = ops.artifacts.get_json("reports/drift", check.report_id)
    doc = drift_doc(ops, result, report)
    if as_json:
        print_json({"checked": True, **doc})
        return
    _print_drift(doc)


def _print_drift(doc: dict[str, Any]) -> None:
    verdict = "[bold red]DRIFT DETECTED[/]" if doc["drifted"] else "[bold green]no drift[/]"
    perf = "  [bold red]performance degraded[/]" if doc["performance_degraded"] else ""
    console.print(f"{doc['model']} v{doc['version']} at {doc['window_end']}: {verdict}{perf}", soft_wrap=True)
    table(
        "Windows",
        ["window", "start", "end", "rows", "status", "drift share", "drifted features"],
        [
            [
                name,
                w["start"],
                w["end"],
                w["rows"],
                w["status"],
                _metric_text(w.get("drift_share")),
                ", ".join(doc["drifted_features"].get(name, [])),
            ]
            for name, w in doc["windows"].items()
        ],
    )
    drifted = [f for f in doc["features"] if f.get("drifted")]
    if drifted:
        table(
            "Drifted features",
            ["window", "feature", "test", "score", "threshold"],
            [
                [f["window"], f["feature"], f.get("test"), _score(f.get("score")), f.get("threshold")]
                for f in sorted(drifted, key=lambda f: (f["window"], f["feature"]))
            ],
        )
    judged = {f["feature"] for f in doc["features"]}
    console.print(f"{len({f['feature'] for f in drifted})} of {len(judged)} columns drifted in some window")
    if doc.get("retraining"):
        console.print(f"retraining: {escape(json.dumps(doc['retraining'], default=str))}", soft_wrap=True)
    console.print(f"report: {doc['html_report_url']}", soft_wrap=True)


# =========================================================================== tokens


class Role(StrEnum):
    predict = "predict"
    admin = "admin"


def _default_token_name() -> str:
    user = re.sub(r"[^A-Za-z0-9_.@+-]", "-", actor().split(" ")[0])[:60] or "operator"
    return f"{user}-cli"


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="predict: call predict/feedback; admin: also approve, promote.")],
    name: Annotated[str | None, typer.Option(help="Who or what holds it (shown in audit trails).")] = None,
    stack: StackOpt = None,
) -> None:
    """Mint an API token. It is printed once, here; only its hash is stored."""
    ops = ops_for(stack)
    holder = name or _default_token_name()
    token = create_token(role.value, holder, tokens=ops.tokens)
    sys.stdout.write(token + "\n")
    err.print(
        f"{role.value} token for {escape(holder)} created; it is shown only this once. "
        "Send it as `Authorization: Bearer <token>`.",
        soft_wrap=True,
    )


# =========================================================================== registration


def register(app: typer.Typer) -> None:
    """Add the ML commands to the `lockgate` app, in the order `lockgate --help` lists them."""
    app.command()(push)
    app.command()(datasets)
    app.command()(models)
    app.command()(show)
    app.command()(predict)
    app.command()(approve)
    app.command()(reject)
    app.command()(rollback)
    app.command("lineage")(lineage_cmd)
    app.command()(reproduce)
    app.command()(drift)
    app.add_typer(spec_app, name="spec")
    app.add_typer(token_app, name="token")

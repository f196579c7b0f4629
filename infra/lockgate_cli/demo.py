"""`lockgate demo`: the whole lifecycle on the embedded local cloud, told as one story.

A hospital team ships a classifier that flags biopsies that look malignant (the Wisconsin breast
cancer data scikit-learn carries). It goes through every gate to become the champion, answers real
HTTP predictions, and then a scanner update slowly rescales the "mean_*" measurements. The drift
schedule fires on an accelerated clock, notices, alerts, and (the spec says ``on_drift: retrain``)
retrains on the original data plus labelled production traffic, through the same gates.

Each stage checks that it did what it should; any that did not makes the command exit non-zero.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
import yaml
from lockgate.adapters.dynamodb.checks import DynamoDBCheckStore
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.dynamodb.tokens import DynamoDBTokenStore
from lockgate.domain.check import CheckResult
from lockgate.domain.dataset import DatasetRecord, run_id_for
from lockgate.domain.run import RunRecord
from lockgate.errors import RunNotFoundError
from lockgate.services.tokens import create_token
from rich.console import Console
from rich.table import Table

from lockgate_cli.common import console as cli_console

MODEL = "biopsy"
DRIFTED = [
    "mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness",
    "mean_compactness", "mean_concavity", "mean_concave_points", "mean_symmetry", "mean_fractal_dimension",
]  # fmt: skip
SPEC: dict[str, Any] = {
    "model": MODEL,
    "task": "classification",
    "target": "diagnosis",
    "positive_class": "malignant",
    "description": "Flags biopsies whose cell-nucleus measurements look malignant, for a second read.",
    "metric": "roc_auc",
    "gates": {"model": {"min_metric": 0.9}},
    "monitoring": {
        "cadence_minutes": 15,
        "short_window_minutes": 60,
        "long_window_minutes": 7 * 24 * 60,
        "min_samples": 30,
        "drift_share": 0.2,
        "on_drift": "retrain",
        "retrain_cooldown_minutes": 24 * 60,
    },
}


@dataclass(frozen=True)
class Stores:
    """The core's adapters on the demo cloud's registry table: the story reads its records through them."""

    registry: DynamoDBModelRegistry
    datasets: DynamoDBDatasetStore
    runs: DynamoDBRunStore
    checks: DynamoDBCheckStore
    tokens: DynamoDBTokenStore

    @classmethod
    def on(cls, table: str, ddb: Any) -> Stores:
        return cls(
            registry=DynamoDBModelRegistry(table, dynamodb_client=ddb),
            datasets=DynamoDBDatasetStore(table, dynamodb_client=ddb),
            runs=DynamoDBRunStore(table, dynamodb_client=ddb),
            checks=DynamoDBCheckStore(table, dynamodb_client=ddb),
            tokens=DynamoDBTokenStore(table, dynamodb_client=ddb),
        )


class StageFailed(Exception):
    """A stage of the story did not do what it should."""


@dataclass
class Story:
    console: Console
    failures: list[str] = field(default_factory=list)
    results: list[tuple[str, str]] = field(default_factory=list)

    @contextmanager
    def stage(self, title: str) -> Iterator[Callable[[str], None]]:
        notes: list[str] = []
        started = time.perf_counter()
        with self.console.status(f"[bold]{title}[/]…"):
            try:
                yield notes.append
            except StageFailed as exc:
                self.failures.append(f"{title}: {exc}")
                self.console.print(f"[red]✗[/] {title} — {exc}")
                raise
        took = time.perf_counter() - started
        summary = "; ".join(notes)
        self.results.append((title, summary))
        self.console.print(f"[green]✓[/] {title} [dim]({took:.1f} s)[/] {summary}", soft_wrap=True)


def _dataset() -> Any:
    from sklearn.datasets import load_breast_cancer  # noqa: PLC0415 - heavy import boundary

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: str(c).replace(" ", "_"))
    frame["diagnosis"] = [str(bunch.target_names[t]) for t in frame.pop("target")]
    return frame


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise StageFailed(f"timed out after {timeout:.0f} s waiting for {what}")


def run_demo(*, console: Console, out_dir: Path, waves: int = 4, wave_size: int = 120) -> int:
    """Tell the story; returns the exit code (0 when every stage did what it should)."""
    from localcloud.cloud import LocalCloud  # noqa: PLC0415 - heavy import boundary
    from localcloud.scheduler import FakeClock  # noqa: PLC0415 - heavy import boundary

    story = Story(console)
    root = Path(__file__).resolve().parents[2]
    now = datetime.now(UTC)
    # The accelerated clock starts at the next quarter hour, so every check's window (its end
    # floored to the 15-minute cadence) covers the traffic sent in real time before it.
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) + timedelta(minutes=15)
    clock = FakeClock(start)
    out_dir.mkdir(parents=True, exist_ok=True)
    cloud = LocalCloud(root=root, clock=clock, state_dir=out_dir / "state", run_scheduler=False)
    frame = _dataset()
    try:
        with story.stage("Start the local cloud and deploy template.yaml") as note:
            cloud.start()
            deployment = cloud.deploy()
            out = deployment.outputs
            note(f"{len(deployment.functions)} functions, endpoint {cloud.endpoint}, API {out['ApiUrl']}")
        s3, sfn, ddb = cloud.client("s3"), cloud.client("stepfunctions"), cloud.client("dynamodb")
        stores = Stores.on(out["RegistryTableName"], ddb)
        registry = stores.registry
        token = create_token("admin", "demo", tokens=stores.tokens)
        alerts = _subscribe_alerts(cloud, out["AlertsTopicArn"])

        def executions() -> list[dict[str, Any]]:
            return list(sfn.list_executions(stateMachineArn=out["TrainingStateMachineArn"])["executions"])

        def finished(known: set[str]) -> dict[str, Any] | None:
            for ex in executions():
                if ex["executionArn"] not in known and ex["status"] != "RUNNING":
                    return dict(sfn.describe_execution(executionArn=ex["executionArn"]))
            return None

        with story.stage("Push the model spec") as note:
            s3.put_object(
                Bucket=out["DataBucketName"], Key=f"specs/{MODEL}.yaml", Body=yaml.safe_dump(SPEC).encode()
            )
            note(
                f"s3://{out['DataBucketName']}/specs/{MODEL}.yaml (gates: ROC AUC ≥ 0.9, champion/challenger)"
            )

        with story.stage("Upload the dataset → validation → training → evaluation → registration") as note:
            s3.put_object(
                Bucket=out["DataBucketName"],
                Key=f"datasets/{MODEL}/wdbc.csv",
                Body=frame.to_csv(index=False).encode(),
            )
            first = _wait(lambda: finished(set()), 300, "the training pipeline")
            if first["status"] != "SUCCEEDED":
                raise StageFailed(
                    f"pipeline {first['status']}: {first.get('error')} {first.get('cause', '')[:300]}"
                )
            v1 = registry.get_version_by_alias(MODEL, "champion")
            note(
                f"{len(frame)} rows accepted; v{v1.version} ROC AUC {v1.metrics['roc_auc']:.3f}, "
                f"accuracy {v1.metrics['accuracy']:.3f}"
            )

        with story.stage("A champion serves real HTTP predictions") as note:
            sample = frame.drop(columns=["diagnosis"]).sample(n=5, random_state=1)
            body = _predict(out["ApiUrl"], token, json.loads(sample.to_json(orient="records")))
            truth = frame.loc[sample.index, "diagnosis"].tolist()
            hits = sum(p == t for p, t in zip(body["predictions"], truth, strict=True))
            note(f"v{body['version']} answered {body['predictions']} ({hits}/5 right)")

        drift_at: datetime | None = None
        with story.stage(
            f"Production traffic drifts gradually; the drift schedule fires every {SPEC['monitoring']['cadence_minutes']} min"
        ) as note:
            rule = next(r.name for r in cloud.scheduler.rules() if "Drift" in r.name)
            features = frame.drop(columns=["diagnosis"])
            for wave in range(waves):
                scale = 1.0 + 0.12 * wave  # the scanner update rescales the "mean_*" measurements
                rows = features.sample(n=wave_size, replace=True, random_state=100 + wave)
                rows[DRIFTED] = rows[DRIFTED] * scale
                labels = frame.loc[rows.index, "diagnosis"].tolist()
                ids: list[str] = []
                for chunk in range(0, wave_size, 40):
                    part = json.loads(rows.iloc[chunk : chunk + 40].to_json(orient="records"))
                    ids += _predict(out["ApiUrl"], token, part)["prediction_ids"]
                # Ground truth arrives later (a pathologist's read): delayed labels for this traffic.
                _post(
                    out["ApiUrl"],
                    token,
                    f"/models/{MODEL}/feedback",
                    {"labels": [{"prediction_id": i, "label": y} for i, y in zip(ids, labels, strict=True)]},
                )
                clock.advance(timedelta(minutes=SPEC["monitoring"]["cadence_minutes"]))
                cloud.scheduler.tick()
                cloud.wait_idle(300)
                check = stores.checks.latest(MODEL)
                verdict = "drift" if check and check.drifted else "clean"
                console.print(
                    f"    wave {wave + 1}: ×{scale:.2f} on {len(DRIFTED)} features, {wave_size} requests"
                    f" → check at {clock.now():%H:%M} says [bold]{verdict}[/]"
                    + (f" ({len(_drifted_long(check))} features drifted)" if check else "")
                )
                if verdict == "drift":
                    drift_at = clock.now()
                    break
            if drift_at is None:
                raise StageFailed("the drift check never flagged the drifted traffic")
            note(f"drift detected at {drift_at:%H:%M} (schedule rule {rule})")

        with story.stage("Alert raised") as note:
            message = _wait(lambda: _receive(cloud, alerts), 60, "the alert on the SNS topic")
            note(f"SNS alerts topic: “{message.get('Subject') or message['Message'][:80]}”")

        with story.stage("Retraining on original + labelled production data, through every gate") as note:
            second = _wait(lambda: finished({first["executionArn"]}), 300, "the retraining pipeline")
            retrained = _retrain_dataset(stores)
            if retrained is None:
                raise StageFailed("no retraining dataset was recorded")
            if second["status"] == "SUCCEEDED":
                champion = registry.get_version_by_alias(MODEL, "champion")
                note(
                    f"{retrained.rows} rows (parents {len(retrained.parents)}); "
                    f"candidate passed the gates → champion v{champion.version}"
                )
            elif second.get("error") == "ModelRejected":
                note(f"{retrained.rows} rows; candidate rejected by the gates, v1 stays champion")
            else:
                raise StageFailed(
                    f"retraining {second['status']}: {second.get('error')} {second.get('cause', '')[:300]}"
                )

        with story.stage("Summary") as note:
            paths = _collect_reports(cloud, out, stores, out_dir)
            _summary(console, stores, paths=paths)
            note(f"reports and model cards copied to {out_dir}")
    except StageFailed:
        pass
    except Exception as exc:  # an unexpected error is a failed stage too, said in one line
        story.failures.append(f"unexpected error: {type(exc).__name__}: {exc}")
        console.print(f"[red]✗ unexpected error:[/] {type(exc).__name__}: {exc}")
    finally:
        cloud.stop()
    if story.failures:
        console.print(f"[red bold]demo failed[/]: {story.failures[0]}")
        return 1
    console.print("[green bold]demo complete[/]: every stage did what it should.")
    return 0


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _predict(api: str, token: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
    return _post(api, token, f"/models/{MODEL}/predict", {"instances": instances})


def _post(api: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(api + path, headers=_headers(token), data=json.dumps(body), timeout=60)
    if response.status_code >= 300:
        raise StageFailed(f"POST {path} answered {response.status_code}: {response.text[:300]}")
    result: dict[str, Any] = response.json()
    return result


def _subscribe_alerts(cloud: Any, topic_arn: str) -> str:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="demo-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    cloud.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return str(url)


def _receive(cloud: Any, queue_url: str) -> dict[str, Any] | None:
    messages = (
        cloud.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
    )
    return json.loads(messages[0]["Body"]) if messages else None


def _retrain_dataset(stores: Stores) -> DatasetRecord | None:
    for record in stores.datasets.list(MODEL):
        if record.source_key.startswith(f"datasets/{MODEL}/retrain-"):
            return record
    return None


def _collect_reports(cloud: Any, out: dict[str, str], stores: Stores, out_dir: Path) -> dict[str, Any]:
    s3 = cloud.client("s3")
    bucket = out["ArtifactBucketName"]
    paths: dict[str, Any] = {"cards": {}, "drift": []}
    for version in stores.registry.list_model_versions(MODEL):
        if version.model_card_id:
            target = out_dir / f"model-card-v{version.version}.md"
            target.write_bytes(
                s3.get_object(Bucket=bucket, Key=f"cards/{version.model_card_id}.md")["Body"].read()
            )
            paths["cards"][version.version] = (f"s3://{bucket}/cards/{version.model_card_id}.md", target)
    for check in stores.checks.history(MODEL):
        target = out_dir / f"drift-{check.window_end.replace(':', '')}.html"
        target.write_bytes(
            s3.get_object(Bucket=bucket, Key=f"reports/drift/{check.html_report_id}.html")["Body"].read()
        )
        paths["drift"].append((check, f"s3://{bucket}/reports/drift/{check.html_report_id}.html", target))
    return paths


def _drifted_long(check: CheckResult) -> list[str]:
    return list(check.drifted_features.get("long", []))


def _runs(stores: Stores) -> list[RunRecord]:
    """Every training run of the story's datasets (ingest names each run after its dataset)."""
    runs = []
    for dataset in stores.datasets.list(MODEL):
        try:
            runs.append(stores.runs.get(MODEL, run_id_for(dataset.dataset_id)))
        except RunNotFoundError:
            continue  # rejected at ingest: no run
    return runs


def _summary(console: Console, stores: Stores, *, paths: dict[str, Any]) -> None:
    versions = Table(title="Model versions", title_justify="left")
    for column in ("v", "status", "aliases", "ROC AUC", "accuracy", "F1", "dataset"):
        versions.add_column(column)
    for v in stores.registry.list_model_versions(MODEL):
        versions.add_row(
            str(v.version),
            v.status,
            ", ".join(v.aliases) or "-",
            f"{v.metrics.get('roc_auc', 0):.3f}",
            f"{v.metrics.get('accuracy', 0):.3f}",
            f"{v.metrics.get('f1', 0):.3f}",
            v.dataset_id[:8],
        )
    console.print(versions)
    runs = Table(title="Runs and gate verdicts", title_justify="left")
    for column in ("run", "trigger", "status", "v", "verdict"):
        runs.add_column(column)
    for run in sorted(_runs(stores), key=lambda r: r.created_at):
        runs.add_row(
            run.run_id[:10],
            run.trigger,
            run.status,
            str(run.version or "-"),
            run.reason or "passed every gate",
        )
    console.print(runs)
    checks = Table(title="Drift checks", title_justify="left")
    for column in ("window end", "v", "drifted", "drifted features (long window)"):
        checks.add_column(column)
    for check, _uri, _local in paths["drift"]:
        drifted = _drifted_long(check)
        checks.add_row(
            check.window_end[11:16],
            str(check.version),
            "yes" if check.drifted else "no",
            f"{len(drifted)}: " + ", ".join(d.removeprefix("mean_") for d in drifted) if drifted else "-",
        )
    console.print(checks)
    console.print("[bold]Reports[/] (open the HTML in a browser):")
    for _check, uri, local in paths["drift"]:
        console.print(f"  drift report  {local}   ({uri})", soft_wrap=True)
    for version, (uri, local) in sorted(paths["cards"].items()):
        console.print(f"  model card v{version}  {local}   ({uri})", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `lockgate demo` to the CLI."""

    def demo(
        out: Annotated[Path, typer.Option(help="Where to copy the HTML reports and model cards.")] = Path(
            ".lockgate/demo"
        ),
        fast: Annotated[bool, typer.Option(help="Smaller traffic waves (CI).")] = False,
    ) -> None:
        """The whole lifecycle on the embedded local cloud: data in, champion, serving, drift, retraining."""
        code = run_demo(console=cli_console, out_dir=out, wave_size=80 if fast else 120)
        raise typer.Exit(code)

    app.command()(demo)

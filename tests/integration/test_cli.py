"""The `lockgate` CLI against the local cloud, run the way an operator runs it.

Commands run through ``typer.testing.CliRunner`` on the real app with ``LOCKGATE_STATE_DIR``
pointing at the package's local cloud, plus a few through the installed ``lockgate`` script
(subprocess) where the process boundary is the point: exit codes and no tracebacks, ``lockgate up``.
Assertions are on what a person sees: exit codes, the lines printed, ``--json`` documents, and the
effects in the cloud.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from localcloud.control import start_control
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate_cli.main import app
from support.datasets import breast_cancer
from support.platform import ROOT, Platform, start_platform, wait_for
from typer.testing import CliRunner, Result

MODEL = "cli-cancer"
MANUAL = "cli-manual"
LOCKGATE = str(Path(sys.executable).parent / "lockgate")

Run = Callable[..., Result]


def _spec(model: str, **extra: object) -> str:
    lines = [
        f"model: {model}",
        "task: classification",
        "target: diagnosis",
        "positive_class: malignant",
        "algorithm: logistic_regression",
        "description: Flags biopsies that look malignant.",
    ]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _flipped(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """The same rows with a seeded share of labels swapped: a dataset a model learns less from."""
    frame = frame.copy()
    flip = np.random.default_rng(seed).random(len(frame)) < share
    frame.loc[flip, "diagnosis"] = np.where(
        frame.loc[flip, "diagnosis"] == "malignant", "benign", "malignant"
    )
    return frame


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """This module's own local cloud (it overrides the package's shared one).

    Only one LocalCloud can run per process at a time: starting one installs moto patches
    globally, so test_localcloud.py's private cloud takes over the Lambda runtime of any cloud
    started before it. This module sorts before test_localcloud.py; if it started the shared
    platform, every module after test_localcloud.py would find it broken. Stopping ours at the end
    of the module leaves the shared one to start later, as before.
    """
    cloud, platform = start_platform(tmp_path_factory.mktemp("cli-state"))
    try:
        yield platform
    finally:
        cloud.stop()


@pytest.fixture(scope="module")
def cli(platform: Platform) -> Iterator[Run]:
    """``lockgate ARGS...`` against this module's local cloud; returns click's Result."""
    server = start_control(platform.cloud)  # `deploy` and `schedule` talk to the control port
    platform.cloud._write_state()
    env = {"LOCKGATE_STATE_DIR": str(platform.cloud.state_dir)}
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)

    yield run
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-files")
    frame = breast_cancer()
    _write(folder / "wdbc.csv", frame)
    _write(folder / "noisy.csv", _flipped(frame.sample(n=120, random_state=3).reset_index(drop=True), 0.3, 7))
    _write(folder / "weak.csv", _flipped(frame.sample(n=200, random_state=5).reset_index(drop=True), 0.2, 11))
    _write(folder / "wdbc-95.csv", frame.sample(frac=0.95, random_state=2).reset_index(drop=True))
    (folder / "spec.yaml").write_text(_spec(MODEL))
    (folder / "manual.yaml").write_text(_spec(MANUAL, approval="manual"))
    return folder


@pytest.fixture(scope="module")
def champion(cli: Run, files: Path) -> Result:
    """`spec push` then `push` of the full dataset: the first champion of cli-cancer."""
    assert cli("spec", "push", str(files / "spec.yaml")).exit_code == 0
    return cli("push", str(files / "wdbc.csv"), "--model", MODEL)


def _lines(result: Result) -> list[str]:
    return [line.rstrip() for line in result.stdout.splitlines() if line.strip()]


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _one_error(result: Result, *fragments: str) -> None:
    """Exit code 1 and one `error:` sentence naming the problem; no traceback."""
    assert result.exit_code == 1, result.output
    error = result.stderr.strip()
    assert error.startswith("error:") and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in error, error


# --------------------------------------------------------------------------- spec push


def test_spec_push_names_the_bad_field_and_uploads_nothing(
    cli: Run, platform: Platform, tmp_path: Path
) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("model: cli-typo\ntask: clasification\ntarget: diagnosis\nseeed: 3\n")
    result = cli("spec", "push", str(bad))
    _one_error(result, "task", "seeed")
    listed = platform.s3.list_objects_v2(Bucket=platform.data_bucket, Prefix="specs/cli-typo")
    assert listed.get("KeyCount", 0) == 0
    _one_error(cli("spec", "push", str(tmp_path / "missing.yaml")), "no such file")


def test_spec_push_uploads_the_spec_as_written(
    cli: Run, platform: Platform, files: Path, champion: Result
) -> None:
    body = platform.s3.get_object(Bucket=platform.data_bucket, Key=f"specs/{MODEL}.yaml")["Body"].read()
    assert body == (files / "spec.yaml").read_bytes()


# --------------------------------------------------------------------------- push


def test_push_follows_the_pipeline_live_to_a_champion(champion: Result, platform: Platform) -> None:
    assert champion.exit_code == 0, champion.output
    lines = _lines(champion)
    stages = [line.split()[1] for line in lines if line.startswith("  ")]
    assert stages == ["ingest", "validation", "train", "evaluate", "register", "approval", "promote"]
    assert any("validation" in line and "569 rows" in line for line in lines)
    assert any("register" in line and "v1 Approved" in line for line in lines)
    assert lines[-1].startswith("champion v1 (roc_auc 0.9")
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)
    assert registry.get_version_by_alias(MODEL, "champion").version == 1


def test_the_same_bytes_again_are_a_duplicate_and_train_nothing(
    cli: Run, platform: Platform, files: Path, champion: Result
) -> None:
    known = platform.known_executions()
    followed = cli("push", str(files / "wdbc.csv"), "--model", MODEL, "--name", "copy.csv")
    assert followed.exit_code == 0, followed.output
    assert _lines(followed)[-1].startswith(
        f"duplicate: the same bytes were uploaded as datasets/{MODEL}/wdbc.csv"
    )
    quiet = cli("push", str(files / "wdbc.csv"), "-m", MODEL, "--name", "copy-2.csv", "--no-follow")
    assert quiet.exit_code == 0, quiet.output
    assert f"datasets/{MODEL}/copy-2.csv" in quiet.stdout and "ingest" not in quiet.stdout
    platform.cloud.wait_idle(60)
    assert platform.known_executions() == known

    def duplicates() -> list[dict]:
        records = _json(cli("datasets", MODEL, "--json"))
        assert isinstance(records, list)
        return [r for r in records if r["status"] == "duplicate"]

    found = wait_for(lambda: len(duplicates()) == 2 and duplicates(), timeout=30)
    assert found and {r["source_key"] for r in found} == {
        f"datasets/{MODEL}/copy.csv",
        f"datasets/{MODEL}/copy-2.csv",
    }


def test_a_worse_dataset_ends_rejected_with_the_gate_reason(
    cli: Run, platform: Platform, files: Path, champion: Result
) -> None:
    result = cli("push", str(files / "noisy.csv"), "--model", MODEL)
    assert result.exit_code == 1, result.output
    lines = _lines(result)
    assert any(line.startswith("  ✗ evaluate") for line in lines), lines
    assert (
        lines[-1].startswith("rejected: the candidate: roc_auc") and "does not beat the champion" in lines[-1]
    )
    assert [v["version"] for v in _json(cli("show", MODEL, "--json"))["versions"]] == [1]


def test_a_broken_file_is_rejected_at_validation_with_reasons(
    cli: Run, files: Path, tmp_path: Path, champion: Result
) -> None:
    broken = tmp_path / "semicolons.csv"
    broken.write_text("a;b;diagnosis\n1;2;benign\n3;4;malignant\n")
    result = cli("push", str(broken), "--model", MODEL)
    assert result.exit_code == 1, result.output
    lines = _lines(result)
    assert any(line.startswith("  ✗ validation") for line in lines), lines
    assert lines[-1].startswith("rejected: the dataset failed validation:") and "delimit" in lines[-1]


def test_push_refuses_mistakes_before_uploading(
    cli: Run, platform: Platform, files: Path, tmp_path: Path
) -> None:
    _one_error(cli("push", str(files / "wdbc.csv"), "--model", "cli-nospec"), "no spec", "spec push")
    listed = platform.s3.list_objects_v2(Bucket=platform.data_bucket, Prefix="datasets/cli-nospec/")
    assert listed.get("KeyCount", 0) == 0
    _one_error(cli("push", str(tmp_path / "nope.csv"), "--model", MODEL), "no such file")
    _one_error(cli("push", str(files / "wdbc.csv"), "--model", "Not_A_Model"), "not a model name")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _one_error(cli("push", str(empty), "--model", MODEL), "is empty")


# --------------------------------------------------------------------------- listings


def test_datasets_lists_every_upload_with_its_outcome(cli: Run, champion: Result) -> None:
    records = _json(cli("datasets", MODEL, "--json"))
    assert isinstance(records, list)
    accepted = [r for r in records if r["source_key"] == f"datasets/{MODEL}/wdbc.csv"]
    assert accepted[0]["status"] == "accepted" and accepted[0]["rows"] == 569
    table = cli("datasets", MODEL)
    assert table.exit_code == 0 and "accepted" in table.stdout and "wdbc.csv" in table.stdout
    _one_error(cli("datasets", "cli-nobody"), "no model named 'cli-nobody'")


def test_models_and_show_describe_the_champion(cli: Run, platform: Platform, champion: Result) -> None:
    listed = _json(cli("models", "--json"))
    assert isinstance(listed, list)
    [row] = [m for m in listed if m["model"] == MODEL]
    assert row["champion"] == 1 and row["metric"] == "roc_auc" and row["value"] > 0.95
    assert MODEL in cli("models").stdout

    version = _json(cli("show", f"{MODEL}@1", "--json"))
    assert isinstance(version, dict)
    assert version["status"] == "Approved" and version["aliases"] == ["champion"]
    assert version["metrics"]["roc_auc"] > 0.95
    assert version["lineage"]["dataset"]["source_key"] == f"datasets/{MODEL}/wdbc.csv"
    card_url = version["model_card_url"]
    assert card_url.startswith(f"s3://{platform.artifact_bucket}/cards/")
    card = platform.s3.get_object(Bucket=platform.artifact_bucket, Key=card_url.split("/", 3)[3])[
        "Body"
    ].read()
    assert MODEL in card.decode()
    assert _json(cli("show", f"{MODEL}@champion", "--json"))["version"] == 1
    text = cli("show", f"{MODEL}@1")
    assert text.exit_code == 0 and "Approved" in text.stdout and "model card" in text.stdout

    _one_error(cli("show", f"{MODEL}@9"), "no version 9")
    _one_error(cli("show", f"{MODEL}@1@2"), "MODEL@VERSION")
    _one_error(cli("show", "cli-nobody"), "no model named")


# --------------------------------------------------------------------------- predict


def test_predict_scores_csv_and_json_through_the_api(
    cli: Run, platform: Platform, tmp_path: Path, champion: Result
) -> None:
    rows = breast_cancer().sample(n=8, random_state=4)
    csv_file = _write(tmp_path / "patients.csv", rows)  # the label column is there too; it is ignored
    from_csv = _json(cli("predict", MODEL, str(csv_file), "--json"))
    assert isinstance(from_csv, dict)
    assert from_csv["version"] == 1 and len(from_csv["predictions"]) == 8
    assert sum(p == t for p, t in zip(from_csv["predictions"], rows["diagnosis"], strict=True)) >= 7
    body = json.dumps({"instances": rows.drop(columns="diagnosis").to_dict("records")})
    from_stdin = _json(cli("predict", MODEL, "--json", input=body))
    assert from_stdin["predictions"] == from_csv["predictions"]
    shown = cli("predict", MODEL, str(csv_file))
    assert shown.exit_code == 0 and "8 predictions" in shown.stdout

    token_file = platform.cloud.state_dir / "cli.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    kept = token_file.read_text()
    cli("predict", MODEL, "--json", input=body)
    assert token_file.read_text() == kept  # minted once, then reused

    _one_error(cli("predict", MODEL, input='{"instances": [{"mean_radius": 1}]}'), "400", "instances[0]")
    _one_error(cli("predict", "cli-nobody", str(csv_file)), "no model named")


# --------------------------------------------------------------------------- approval, rollback


def test_manual_approval_reject_and_rollback(cli: Run, platform: Platform, files: Path) -> None:
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)
    assert cli("spec", "push", str(files / "manual.yaml")).exit_code == 0

    waiting = cli("push", str(files / "weak.csv"), "--model", MANUAL)
    assert waiting.exit_code == 0, waiting.output
    assert any(line.startswith("  ⏸ approval") for line in _lines(waiting))
    assert _lines(waiting)[-1].startswith(f"v1 is waiting for approval: `lockgate approve {MANUAL} 1`")
    [row] = [m for m in _json(cli("models", "--json")) if m["model"] == MANUAL]
    assert row["pending_approval"] == [1] and row["champion"] is None

    approved = cli("approve", MANUAL, "1", "--comment", "good enough to start")
    assert approved.exit_code == 0, approved.output
    assert f"champion of {MANUAL} is v1" in approved.stdout
    _one_error(cli("approve", MANUAL, "1"), "not waiting for approval", "Approved")

    assert cli("push", str(files / "wdbc.csv"), "--model", MANUAL).exit_code == 0
    rejected = cli("reject", MANUAL, "2", "--comment", "not before the audit")
    assert rejected.exit_code == 0 and "rejected" in rejected.stdout, rejected.output
    v2 = _json(cli("show", f"{MANUAL}@2", "--json"))
    assert v2["status"] == "Rejected"
    assert v2["approvals"][-1]["comment"] == "not before the audit"

    assert cli("push", str(files / "wdbc-95.csv"), "--model", MANUAL).exit_code == 0
    assert cli("approve", MANUAL, "3").exit_code == 0
    assert registry.get_version_by_alias(MANUAL, "champion").version == 3

    back = cli("rollback", MANUAL)
    assert back.exit_code == 0 and "v3 → v1" in back.stdout, back.output
    assert registry.get_version_by_alias(MANUAL, "champion").version == 1
    assert cli("rollback", MANUAL, "--to", "3").exit_code == 0
    assert registry.get_version_by_alias(MANUAL, "champion").version == 3
    _one_error(cli("rollback", MANUAL, "--to", "2"), "Rejected")
    _one_error(cli("approve", MANUAL, "7"), "no version 7")


# --------------------------------------------------------------------------- lineage, reproduce


def test_lineage_shows_the_chain_from_upload_to_promotion(cli: Run, champion: Result) -> None:
    text = cli("lineage", f"{MODEL}@1")
    assert text.exit_code == 0
    assert f"datasets/{MODEL}/wdbc.csv" in text.stdout and "auto-approve by lockgate" in text.stdout
    chain = _json(cli("lineage", f"{MODEL}@1", "--json"))
    assert isinstance(chain, dict)
    assert chain["dataset"]["rows"] == 569 and chain["run"]["seed"] == 42
    assert chain["promotions"][0]["alias"] == "champion"
    _one_error(cli("lineage", f"{MODEL}@x y"), "MODEL@VERSION")


def test_reproduce_retrains_to_the_same_model(cli: Run, champion: Result) -> None:
    result = cli("reproduce", f"{MODEL}@1")
    assert result.exit_code == 0, result.output
    assert "reproduced: the same ONNX model and the same metrics" in result.stdout
    report = _json(cli("reproduce", f"{MODEL}@1", "--json"))
    assert isinstance(report, dict)
    assert report["reproduced"] and report["model_artifact"]["match"] and report["differences"] == []
    assert report["metrics"]["roc_auc"]["match"]


# --------------------------------------------------------------------------- schedules and drift


def test_schedule_and_drift_from_quiet_to_detected(
    cli: Run, platform: Platform, tmp_path: Path, champion: Result
) -> None:
    assert _json(cli("drift", MODEL, "--json"))["checked"] is False
    rules = _json(cli("schedule", "list", "--json"))
    assert isinstance(rules, list)
    [rule] = [r for r in rules if "Drift" in r["name"]]
    assert rule["expression"].startswith("rate(") and rule["enabled"]
    fired = cli("schedule", "fire", rule["name"])
    assert fired.exit_code == 0 and f"fired {rule['name']}" in fired.stdout
    platform.cloud.wait_idle(120)

    def scheduled() -> dict | None:
        doc = _json(cli("drift", MODEL, "--json"))
        return doc if isinstance(doc, dict) and doc["checked"] else None

    quiet = wait_for(scheduled, timeout=60)
    assert quiet and quiet["drifted"] is False  # the schedule's window holds no traffic yet

    # GIVEN production traffic whose measurements all tripled
    shifted = breast_cancer().drop(columns="diagnosis").sample(n=60, random_state=8) * 3
    assert cli("predict", MODEL, str(_write(tmp_path / "shifted.csv", shifted))).exit_code == 0
    # WHEN the operator runs a check now
    now = cli("drift", MODEL, "--now")
    assert now.exit_code == 0, now.output
    assert "DRIFT DETECTED" in now.stdout
    # THEN the latest verdict says so, feature by feature, with its report in S3
    latest = _json(cli("drift", MODEL, "--json"))
    assert isinstance(latest, dict)
    assert latest["drifted"] is True
    drifted = {f["feature"] for f in latest["features"] if f["drifted"] and f["window"] == "short"}
    assert {"mean_radius", "worst_area"} <= drifted
    html_key = latest["html_report_url"].split("/", 3)[3]
    assert platform.s3.head_object(Bucket=platform.artifact_bucket, Key=html_key)["ContentLength"] > 0
    _one_error(cli("drift", "cli-nobody"), "no model named")


# --------------------------------------------------------------------------- operating the cloud


def test_status_logs_and_deploy(cli: Run, platform: Platform, champion: Result) -> None:
    status = _json(cli("status", "--json"))
    assert isinstance(status, dict)
    assert status["endpoint"] == platform.cloud.endpoint and status["ApiUrl"] == platform.api_url
    logs = cli("logs", "IngestFunction", "--limit", "20")
    assert logs.exit_code == 0 and logs.stdout.strip(), logs.output
    _one_error(cli("logs", "NoSuchFunction"), "no logs for NoSuchFunction")

    deployed = cli("deploy")
    assert deployed.exit_code == 0 and "deployed" in deployed.stdout, deployed.output
    # the redeployed stack still serves the champion
    one = json.dumps(breast_cancer().drop(columns="diagnosis").head(1).to_dict("records"))
    assert len(_json(cli("predict", MODEL, "--json", input=one))["predictions"]) == 1


def test_token_create_prints_a_working_token_once(platform: Platform, champion: Result) -> None:
    env = {**os.environ, "LOCKGATE_STATE_DIR": str(platform.cloud.state_dir)}
    made = subprocess.run(
        [LOCKGATE, "token", "create", "--role", "predict", "--name", "ci-bot"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    [token] = made.stdout.split()
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{platform.api_url}/models/{MODEL}", headers=headers, timeout=30).status_code == 200
    approve = requests.post(
        f"{platform.api_url}/models/{MODEL}/versions/1/approve", headers=headers, json={}, timeout=30
    )
    assert approve.status_code == 403  # a predict token cannot approve

    wrong = subprocess.run(
        [LOCKGATE, "token", "create", "--role", "boss"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 2 and "boss" in wrong.stderr and "Traceback" not in wrong.stderr


def test_without_a_local_cloud_the_script_says_so_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "LOCKGATE_STATE_DIR": str(tmp_path)}
    nothing = subprocess.run(
        [LOCKGATE, "models"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert nothing.returncode == 1
    assert (
        nothing.stderr.strip().startswith("error: no local cloud is running here")
        and "Traceback" not in nothing.stderr
    )
    # a stale state file (the cloud died) names the endpoint it could not reach
    (tmp_path / "state.json").write_text(
        json.dumps(
            {
                "endpoint": "http://127.0.0.1:9",
                "region": "us-east-1",
                "outputs": {"DataBucketName": "b", "RegistryTableName": "t"},
            }
        )
    )
    stale = subprocess.run(
        [LOCKGATE, "datasets", MODEL], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert stale.returncode == 1 and "cannot reach http://127.0.0.1:9" in stale.stderr, stale.stderr
    assert "Traceback" not in stale.stderr


def test_up_runs_a_local_cloud_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "LOCKGATE_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [LOCKGATE, "up", "--port", "0", "--api-port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        state = tmp_path / "state.json"
        assert wait_for(state.exists, timeout=120), "lockgate up wrote no state file"
        outputs = json.loads(state.read_text())["outputs"]
        assert requests.get(outputs["ApiUrl"] + "/health", timeout=30).json()["status"] == "ok"
        listed = CliRunner().invoke(
            app, ["schedule", "list", "--json"], env={"LOCKGATE_STATE_DIR": str(tmp_path)}
        )
        assert listed.exit_code == 0 and "Drift" in listed.stdout, listed.output
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "local cloud ready" in out and "stopped." in out
    assert not (tmp_path / "state.json").exists()

"""The local cloud, driven as a user drives it: through AWS APIs, S3 uploads, HTTP and schedules.

Uses its own fixture stack (tests/integration/fixture) so the runtime is tested independently of
Lockgate's functions. No test calls a handler directly.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from localcloud.cloud import LocalCloud
from localcloud.scheduler import FakeClock

FIXTURE = Path(__file__).parent / "fixture"
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    clock = FakeClock(START)
    with LocalCloud(
        root=FIXTURE, clock=clock, state_dir=tmp_path_factory.mktemp("state"), retry_delays=(0.1, 0.1)
    ) as c:
        c.deploy()
        c.clock = clock
        yield c


def _items(cloud: LocalCloud, prefix: str) -> list[dict]:
    table = cloud.outputs["ResultsTableName"]
    items = cloud.client("dynamodb").scan(TableName=table)["Items"]
    return [{k: v["S"] for k, v in i.items()} for i in items if i["id"]["S"].startswith(prefix)]


def _wait(predicate, timeout: float = 20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def test_s3_upload_runs_the_handler_asynchronously_with_an_encoded_key(cloud: LocalCloud) -> None:
    # GIVEN the fixture stack WHEN a user uploads an object whose name needs encoding
    cloud.client("s3").put_object(Bucket="fixture-uploads", Key="in/my file+1 é.csv", Body=b"a,b\n1,2\n")
    cloud.client("s3").put_object(Bucket="fixture-uploads", Key="out/ignored.csv", Body=b"x")
    assert cloud.wait_idle(30)
    # THEN the handler ran once, saw the key URL-encoded as S3 sends it, with a sequencer
    items = _items(cloud, "s3:")
    assert [i["id"] for i in items] == ["s3:in/my+file%2B1+%C3%A9.csv"]
    item = items[0]
    assert int(item["sequencer"], 16) > 0
    assert item["endpoint"] == cloud.endpoint
    # and the worker saw only its own code folder and layer, and only its own environment
    path = json.loads(item["path"])
    assert path[0].endswith("functions/recorder") and path[1].endswith("layers/shared")
    env = set(item["envkeys"].split(","))
    assert "RESULTS_TABLE" in env and "AWS_ENDPOINT_URL" in env
    assert not any(k.startswith(("PYTEST", "VIRTUAL_ENV", "MOTO")) for k in env)
    assert 0 < int(item["remaining"]) <= 10_000


def test_a_module_outside_the_function_and_its_layers_is_not_importable(cloud: LocalCloud) -> None:
    response = cloud.client("lambda").invoke(
        FunctionName=cloud.function_name("OutsiderFunction"), Payload=b"{}"
    )
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ModuleNotFoundError" and "pandas" in error["errorMessage"]


def test_timeout_is_enforced_with_aws_error(cloud: LocalCloud) -> None:
    response = cloud.client("lambda").invoke(
        FunctionName=cloud.function_name("SleeperFunction"), Payload=json.dumps({"seconds": 3}).encode()
    )
    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    # and the function still works after its worker was replaced
    ok = cloud.client("lambda").invoke(
        FunctionName=cloud.function_name("SleeperFunction"), Payload=json.dumps({"seconds": 0}).encode()
    )
    assert json.loads(ok["Payload"].read()) == {"slept": True}


def test_async_failure_is_retried_then_sent_to_the_destination(cloud: LocalCloud) -> None:
    lam = cloud.client("lambda")
    response = lam.invoke(
        FunctionName=cloud.function_name("FlakyFunction"),
        InvocationType="Event",
        Payload=json.dumps({"id": "job-1"}).encode(),
    )
    assert response["StatusCode"] == 202  # returns before the handler runs
    queue_url = cloud.outputs["FailuresQueueUrl"]
    sqs = cloud.client("sqs")
    messages = _wait(lambda: sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages"))
    assert messages, "the failed event never reached the on-failure destination"
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # first try + 2 retries
    assert record["requestPayload"] == {"id": "job-1"}
    assert record["responsePayload"]["errorType"] == "FlakyError"
    assert len([i for i in _items(cloud, "flaky:") if i["attempt_of"] == "job-1"]) == 3


def _execute(cloud: LocalCloud, payload: dict) -> dict:
    sfn = cloud.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=cloud.outputs["MachineArn"], input=json.dumps(payload))[
        "executionArn"
    ]
    return _wait(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, 60)


def test_state_machine_retries_transient_errors_and_catches_permanent_ones(cloud: LocalCloud) -> None:
    retried = _execute(cloud, {"id": "t1", "mode": "transient", "value": 21})
    assert retried["status"] == "SUCCEEDED"
    assert json.loads(retried["output"]) == {"value": 42, "calls": 3}
    caught = _execute(cloud, {"id": "p1", "mode": "permanent"})
    assert caught["status"] == "SUCCEEDED"
    output = json.loads(caught["output"])
    assert output["outcome"] == "caught" and output["error"]["Error"] == "PermanentError"


def test_schedule_fires_on_the_fake_clock_and_on_demand(cloud: LocalCloud) -> None:
    rule = next(r for r in cloud.scheduler.rules() if r.expression == "rate(5 minutes)")
    before = len(_items(cloud, "schedule:"))
    assert isinstance(cloud.clock, FakeClock)
    cloud.clock.advance(timedelta(minutes=10, seconds=1))
    cloud.scheduler.tick()
    assert cloud.wait_idle(30)
    fired = _items(cloud, "schedule:")
    assert len(fired) == before + 2
    assert all(i["resources"] == rule.arn for i in fired)
    # a person fires it now
    event = cloud.fire_schedule(rule.name)
    assert cloud.wait_idle(30)
    assert any(i["id"] == "schedule:" + event["time"] for i in _items(cloud, "schedule:"))


def test_eventbridge_rule_delivers_to_lambda(cloud: LocalCloud) -> None:
    cloud.client("events").put_events(
        Entries=[
            {
                "Source": "fixture",
                "DetailType": "Thing Happened",
                "Detail": json.dumps({"id": "evt-1"}),
                "EventBusName": "fixture-bus",
            }
        ]
    )
    assert cloud.wait_idle(30)
    [item] = _items(cloud, "bus:evt-1")
    datetime.strptime(item["time"], "%Y-%m-%dT%H:%M:%SZ")  # ISO 8601, as EventBridge sends


def test_http_request_through_the_authorizer(cloud: LocalCloud) -> None:
    url = cloud.outputs["ApiUrl"]
    assert url.startswith("http://127.0.0.1:")
    ok = requests.get(f"{url}/hello/ada?x=1", headers={"Authorization": "Bearer good"}, timeout=30)
    assert ok.status_code == 200
    assert ok.json() == {"hello": "ada", "role": "admin", "q": {"x": "1"}}
    assert requests.get(f"{url}/hello/ada", timeout=30).status_code == 401
    assert (
        requests.get(f"{url}/hello/ada", headers={"Authorization": "Bearer bad"}, timeout=30).status_code
        == 401
    )
    assert (
        requests.get(f"{url}/hello/ada", headers={"Authorization": "Bearer denied"}, timeout=30).status_code
        == 403
    )
    broken = requests.get(f"{url}/broken", headers={"Authorization": "Bearer good"}, timeout=30)
    assert broken.status_code == 502


def test_logs_land_in_cloudwatch(cloud: LocalCloud) -> None:
    cloud.client("lambda").invoke(
        FunctionName=cloud.function_name("SleeperFunction"), Payload=b'{"seconds": 0}'
    )
    group = f"/aws/lambda/{cloud.function_name('SleeperFunction')}"
    logs = cloud.client("logs")

    def messages() -> list[str]:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        out: list[str] = []
        for s in streams:
            out += [
                e["message"]
                for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
            ]
        return out

    assert any(m.startswith("REPORT RequestId") for m in _wait(messages))


def test_redeploy_picks_up_code_changes_without_restart(cloud: LocalCloud, tmp_path: Path) -> None:
    lam = cloud.client("lambda")
    name = cloud.function_name("SleeperFunction")
    lam.invoke(FunctionName=name, Payload=b'{"seconds": 0}')
    cold_before = cloud.runtime.stats["cold_starts"]
    cloud.deploy()
    lam.invoke(FunctionName=name, Payload=b'{"seconds": 0}')
    assert cloud.runtime.stats["cold_starts"] == cold_before + 1  # new code, new worker


def test_sqs_sns_and_s3_to_eventbridge_reach_the_handler(cloud: LocalCloud) -> None:
    sqs = cloud.client("sqs")
    for i in range(3):
        sqs.send_message(QueueUrl=cloud.outputs["WorkQueueUrl"], MessageBody=f"job-{i}")
    cloud.client("sns").publish(TopicArn=cloud.outputs["AnnouncementsTopic"], Message="hello")
    cloud.client("s3").put_object(Bucket="fixture-evented-uploads", Key="via/eventbridge.csv", Body=b"x")

    def seen() -> bool:
        cloud.wait_idle(30)
        ids = {i["id"] for i in _items(cloud, "")}
        return {
            "sqs:job-0",
            "sqs:job-1",
            "sqs:job-2",
            "sns:hello",
            "s3-eventbridge:via/eventbridge.csv",
        } <= ids

    assert _wait(seen, 30), sorted(i["id"] for i in _items(cloud, ""))

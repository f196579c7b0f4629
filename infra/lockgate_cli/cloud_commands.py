"""The local-cloud and operations commands of `lockgate`: up, deploy, status, logs, schedules.

Registered on the app by :func:`register` (``lockgate_cli.main``); they reach the local cloud's
control port or the stack's AWS services through :class:`lockgate_cli.target.Target`.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import requests
import typer

from lockgate_cli.common import JsonOpt, StackOpt, console, print_json, table, target
from lockgate_cli.target import CliError, Target, state_file

schedule_app = typer.Typer(no_args_is_help=True, help="List or fire EventBridge schedules.")


def up(
    port: Annotated[int, typer.Option(help="Port of the AWS endpoint (moto server).")] = 4566,
    api_port: Annotated[int, typer.Option(help="Port of the local API Gateway.")] = 3000,
    template: Annotated[Path, typer.Option(help="SAM template to deploy.")] = Path("template.yaml"),
) -> None:
    """Start the local cloud in the foreground, deploy template.yaml, print the endpoint and outputs."""
    from localcloud.cloud import LocalCloud  # noqa: PLC0415 - heavy import boundary
    from localcloud.control import start_control  # noqa: PLC0415 - heavy import boundary

    root = template.resolve().parent
    # State goes where every other command looks for it (LOCKGATE_STATE_DIR, default ./.lockgate).
    cloud = LocalCloud(root=root, port=port, api_port=api_port, state_dir=state_file().parent.resolve())
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.perf_counter()
    with console.status("starting the local cloud…"):
        cloud.start()
        start_control(cloud)
        try:
            cloud.deploy(template.resolve())
        except Exception:
            cloud.stop()
            raise
    console.print(f"[bold green]local cloud ready[/] in {time.perf_counter() - started:.1f} s")
    console.print(f"  endpoint  {cloud.endpoint}   (AWS_ENDPOINT_URL)", soft_wrap=True)
    for name, value in cloud.outputs.items():
        console.print(f"  {name:<24} {value}", soft_wrap=True)
    console.print("Ctrl-C stops it.")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        with console.status("stopping…"):
            cloud.stop()
        console.print("stopped.")


def deploy(stack: StackOpt = None) -> None:
    """Redeploy template.yaml and the code to the running local cloud (no restart)."""
    t = target(stack)
    if not t.local:
        raise CliError(
            "deploying to AWS is `sam build && sam deploy`; `lockgate deploy` redeploys the local cloud"
        )
    body = _control(t, "POST", "/deploy")
    console.print(f"[green]deployed[/] {len(body['functions'])} functions")


def status(stack: StackOpt = None, as_json: JsonOpt = False) -> None:
    """The endpoint and every stack output."""
    t = target(stack)
    doc = {"endpoint": t.endpoint, "region": t.region, "stack": t.stack, **t.outputs}
    if as_json:
        print_json(doc)
    else:
        table("Lockgate", ["name", "value"], [[k, v] for k, v in doc.items()])


def logs(
    function: Annotated[str, typer.Argument(help="Function logical id (e.g. IngestFunction) or name.")],
    stack: StackOpt = None,
    limit: Annotated[int, typer.Option(help="How many recent lines.")] = 50,
) -> None:
    """Recent CloudWatch Logs lines of a function."""
    t = target(stack)
    name = t.functions.get(function, function) if t.local else t.function(function)
    client = t.client("logs")
    group = f"/aws/lambda/{name}"
    try:
        streams = client.describe_log_streams(logGroupName=group)["logStreams"]
    except client.exceptions.ResourceNotFoundException:
        raise CliError(f"no logs for {function} yet (log group {group} does not exist)") from None
    lines: list[tuple[int, str]] = []
    for s in streams:
        events = client.get_log_events(logGroupName=group, logStreamName=s["logStreamName"], limit=limit)[
            "events"
        ]
        lines += [(e["timestamp"], e["message"]) for e in events]
    # By time only: a stable sort keeps lines of the same millisecond in the order they were written.
    for _, message in sorted(lines, key=lambda line: line[0])[-limit:]:
        sys.stdout.write(message.rstrip("\n") + "\n")


@schedule_app.command("list")
def schedule_list(stack: StackOpt = None, as_json: JsonOpt = False) -> None:
    """Scheduled rules with their expressions (and next firing on the local cloud)."""
    t = target(stack)
    if t.local:
        rules = _control(t, "GET", "/schedules")
    else:
        events = t.client("events")
        rules = [
            {
                "name": r["Name"],
                "expression": r["ScheduleExpression"],
                "enabled": r["State"] == "ENABLED",
                "next_fire": None,
            }
            for r in events.list_rules()["Rules"]
            if r.get("ScheduleExpression") and r["Name"].startswith(t.stack)
        ]
    if as_json:
        print_json(rules)
    else:
        table(
            "Schedules",
            ["rule", "expression", "enabled", "next fire"],
            [[r["name"], r["expression"], r["enabled"], r.get("next_fire")] for r in rules],
        )


@schedule_app.command("fire")
def schedule_fire(
    rule: Annotated[str, typer.Argument(help="Rule name (see `schedule list`).")], stack: StackOpt = None
) -> None:
    """Fire a schedule now: its targets receive a Scheduled Event, as if the time had come."""
    t = target(stack)
    if t.local:
        event = _control(t, "POST", f"/schedules/{rule}/fire")
    else:
        event = _fire_on_aws(t, rule)
    console.print(f"fired [bold]{rule}[/] at {event['time']}")


def _fire_on_aws(t: Target, rule: str) -> dict[str, Any]:
    events = t.client("events")
    desc = events.describe_rule(Name=rule)
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": desc["Arn"].split(":")[4],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": t.region,
        "resources": [desc["Arn"]],
        "detail": {},
    }
    for target_ in events.list_targets_by_rule(Rule=rule)["Targets"]:
        arn = target_["Arn"]
        if ":lambda:" in arn:
            t.client("lambda").invoke(
                FunctionName=arn, InvocationType="Event", Payload=json.dumps(event).encode()
            )
        elif ":states:" in arn:
            t.client("stepfunctions").start_execution(stateMachineArn=arn, input=json.dumps(event))
    return event


def _control(t: Target, method: str, path: str) -> Any:
    if not t.control_port:
        raise CliError("this local cloud was started in-process without a control port; use `lockgate up`")
    try:
        r = requests.request(method, f"http://127.0.0.1:{t.control_port}{path}", timeout=300)
    except requests.ConnectionError:
        raise CliError("the local cloud is not running (start it with `lockgate up`)") from None
    body = r.json()
    if r.status_code >= 400:
        raise CliError(body.get("error", r.text))
    return body


def register(app: typer.Typer) -> None:
    """Add these commands to the `lockgate` app, in the order `lockgate --help` lists them."""
    for command in (up, deploy, status, logs):
        app.command()(command)
    app.add_typer(schedule_app, name="schedule")

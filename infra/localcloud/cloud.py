"""The local cloud: moto server + the Lambda runtime + schedules + API Gateway, from template.yaml.

Start it in-process (tests, the demo)::

    with LocalCloud(root=Path(".")) as cloud:
        cloud.deploy()
        s3 = cloud.client("s3")

or from a terminal with ``lockgate up``. The state file (``.lockgate/state.json``) records the
endpoint, the API URL and the stack outputs so that the CLI and other processes find them.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from localcloud import deps, patches
from localcloud.apigateway import LocalApiGateway, api_from_sam
from localcloud.deployer import ACCOUNT_ID, Deployer, Deployment
from localcloud.runtime import LambdaRuntime
from localcloud.scheduler import Clock, Scheduler

log = logging.getLogger("lockgate.localcloud")

DEFAULT_STACK = "lockgate"
_RUNNING: LocalCloud | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCloud:
    def __init__(
        self,
        *,
        root: Path,
        port: int = 0,
        api_port: int = 0,
        region: str = "us-east-1",
        clock: Clock | None = None,
        stack_name: str = DEFAULT_STACK,
        state_dir: Path | None = None,
        run_scheduler: bool = True,
        retry_delays: tuple[float, float] = (1.0, 2.0),
    ) -> None:
        self.root = root.resolve()
        self.port = port or free_port()
        self.api_port = api_port
        self.region = region
        self.stack_name = stack_name
        self.state_dir = (state_dir or self.root / ".lockgate").resolve()  # workers run in their code folder
        self.build_dir = self.state_dir / "build"
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.clock = clock
        self.run_scheduler = run_scheduler
        self.retry_delays = retry_delays
        self.deployment: Deployment | None = None
        self.control_port: int | None = None
        self.gateway: Any = None
        self.gateway_stage = ""
        self.api_url: str | None = None
        self.started_at = 0.0
        self.ready_seconds = 0.0
        self._logs: queue.Queue[tuple[str, str] | None] = queue.Queue()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalCloud:
        from moto.core.config import default_user_config  # noqa: PLC0415 - heavy import boundary
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy import boundary

        global _RUNNING
        # moto's backends, its Lambda hooks and MOTO_PORT are process-wide: a second cloud in the
        # same process would share (and clobber) the first one's resources.
        if _RUNNING is not None and _RUNNING is not self:
            raise RuntimeError(
                f"a local cloud is already running in this process ({_RUNNING.endpoint}); stop it first"
            )
        _RUNNING = self

        self.started_at = time.perf_counter()
        # moto's Step Functions interpreter calls back into the server (Lambda tasks) on MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        os.environ.setdefault("AWS_DEFAULT_REGION", self.region)
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        _plug_jsonata()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # The ASL interpreter logs every Fail state as an ERROR; executions record them anyway.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.runtime = LambdaRuntime(
            endpoint_url=self.endpoint,
            region=self.region,
            runtime_paths=[str(deps.runtime_dir(self.build_dir / "deps"))],
            log_sink=lambda fn, text: self._logs.put((fn, text)),
            destination=self._deliver_destination,
            retry_delays=self.retry_delays,
        )
        patches.install(self.runtime, start_execution=self._start_execution, publish_sns=self._publish_sns)
        self._log_thread = threading.Thread(target=self._ship_logs, daemon=True, name="lambda-logs")
        self._log_thread.start()
        self.scheduler = Scheduler(
            self._deliver_schedule, clock=self.clock, region=self.region, account_id=ACCOUNT_ID
        )
        if self.run_scheduler:
            self.scheduler.start()
        return self

    def deploy(self, template: Path | None = None, *, parameters: dict[str, str] | None = None) -> Deployment:
        deployer = Deployer(
            endpoint_url=self.endpoint,
            region=self.region,
            runtime=self.runtime,
            root=self.root,
            build_dir=self.build_dir,
        )
        deployment = deployer.deploy(
            template or self.root / "template.yaml", stack_name=self.stack_name, parameters=parameters
        )
        wanted = {s["name"] for s in deployment.schedules}
        for rule in self.scheduler.rules():
            if rule.name not in wanted:
                self.scheduler.remove_rule(rule.name)
        for sched in deployment.schedules:
            self.scheduler.add_rule(
                sched["name"],
                sched["expression"],
                arn=sched["arn"],
                event_bus=sched["bus"],
                enabled=sched["enabled"],
            )
        if deployment.api:
            api = api_from_sam(deployment.sam, deployment.functions, parameters=deployment.parameters)
            real_id = deployment.api["rest_apis"].get(api.logical_id, api.logical_id)
            if self.gateway is not None and self.gateway_stage != api.stage_name:
                self.gateway.stop()
                self.gateway = None
            if self.gateway is None:
                self.gateway = LocalApiGateway(
                    api.routes,
                    self._invoke_sync,
                    rest_api_id=real_id,
                    stage=api.stage_name,
                    port=self.api_port,
                    region=self.region,
                    account_id=ACCOUNT_ID,
                )
                self.api_url = self.gateway.start()
                self.gateway_stage = api.stage_name
            else:
                self.gateway.set_routes(api.routes)
            # Outputs that name the execute-api URL point at the local gateway instead.
            prefix = f"https://{real_id}.execute-api.{self.region}.amazonaws.com"
            base = self.api_url.rsplit("/", 1)[0] if self.api_url else ""
            for name, value in deployment.outputs.items():
                if value.startswith(prefix):
                    deployment.outputs[name] = base + value[len(prefix) :]
        self.deployment = deployment
        self.ready_seconds = time.perf_counter() - self.started_at
        self._write_state()
        return deployment

    def stop(self) -> None:
        global _RUNNING
        if _RUNNING is self:
            _RUNNING = None
        if getattr(self, "scheduler", None):
            self.scheduler.stop()
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if getattr(self, "runtime", None):
            self.runtime.close()
        self._logs.put(None)
        if getattr(self, "server", None):
            self.server.stop()
        state = self.state_dir / "state.json"
        if state.exists():
            try:
                if json.loads(state.read_text()).get("endpoint") == self.endpoint:
                    state.unlink()
            except (OSError, ValueError):
                pass

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.deployment.outputs) if self.deployment else {}

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - local cloud credentials
        )

    def function_name(self, logical_id: str) -> str:
        assert self.deployment
        return self.deployment.functions[logical_id]

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no asynchronous invocation is queued or running."""
        return self.runtime.wait_idle(timeout)

    def fire_schedule(self, rule: str, *, at: datetime | None = None) -> dict[str, Any]:
        return self.scheduler.fire(rule, at=at)

    def _write_state(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "endpoint": self.endpoint,
            "region": self.region,
            "stack": self.stack_name,
            "api_url": self.api_url,
            "outputs": self.outputs,
            "functions": self.deployment.functions if self.deployment else {},
            "pid": os.getpid(),
            "control_port": self.control_port,
        }
        tmp = self.state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_dir / "state.json")

    # ------------------------------------------------------------------ delivery
    def _invoke_sync(self, function_name: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        result = self.runtime.invoke(function_name, json.dumps(event))
        return result.payload, result.errored

    def _deliver_schedule(self, rule_name: str, event: dict[str, Any]) -> None:
        from moto.events.models import events_backends  # noqa: PLC0415 - heavy import boundary

        backend = events_backends[ACCOUNT_ID][self.region]
        for bus in backend.event_buses.values():
            rule = bus.rules.get(rule_name)
            if rule is not None:
                rule.send_to_targets(event)  # type: ignore[arg-type]
                return
        log.warning("schedule %s has no rule", rule_name)

    def _start_execution(self, arn: str, payload: str) -> None:
        try:
            self.client("stepfunctions").start_execution(stateMachineArn=arn, input=payload)
        except Exception:  # noqa: BLE001 - EventBridge delivery failures are logged, as on AWS
            log.exception("could not start %s", arn)

    def _publish_sns(self, arn: str, payload: str) -> None:
        try:
            self.client("sns").publish(TopicArn=arn, Message=payload)
        except Exception:  # noqa: BLE001
            log.exception("could not publish to %s", arn)

    def _deliver_destination(self, arn: str, record: dict[str, Any]) -> None:
        service = arn.split(":")[2]
        body = json.dumps(record)
        if service == "sqs":
            name = arn.split(":")[5]
            sqs = self.client("sqs")
            sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], MessageBody=body)
        elif service == "sns":
            self._publish_sns(arn, body)
        elif service == "lambda":
            self.runtime.invoke_async(arn, body)
        elif service == "events":
            self.client("events").put_events(
                Entries=[
                    {
                        "Source": "lambda",
                        "DetailType": "Lambda Function Invocation Result - Failure",
                        "Detail": body,
                        "EventBusName": arn,
                    }
                ]
            )

    def _ship_logs(self) -> None:
        from moto.logs.models import logs_backends  # noqa: PLC0415 - heavy import boundary

        backend = logs_backends[ACCOUNT_ID][self.region]
        while True:
            item = self._logs.get()
            if item is None:
                return
            fn, text = item
            group = f"/aws/lambda/{fn}"
            stream = time.strftime("%Y/%m/%d") + "/[$LATEST]local"
            try:
                if group not in backend.groups:
                    backend.create_log_group(group, {})
                if stream not in backend.groups[group].streams:
                    backend.create_log_stream(group, stream)
                now = int(time.time() * 1000)
                events = [{"timestamp": now, "message": line} for line in text.splitlines() if line.strip()]
                if events:
                    backend.put_log_events(group, stream, events)
            except Exception:  # noqa: BLE001
                log.exception("could not store logs for %s", fn)


def _plug_jsonata() -> None:
    """moto evaluates JSONata through a JVM bridge it does not ship; use the Python implementation."""
    import jsonata  # noqa: PLC0415 - heavy import boundary
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata  # noqa: PLC0415 - heavy import boundary

    def evaluate(expression: str) -> Any:
        try:
            return jsonata.Jsonata(expression).evaluate(None)
        except Exception as exc:
            raise moto_jsonata.JSONataException("States.QueryEvaluationError", str(exc)) from exc

    moto_jsonata._eval_jsonata = evaluate

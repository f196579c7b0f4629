"""Plug the local runtime into moto: every path into Lambda, and EventBridge targets moto lacks.

- ``LambdaFunction.invoke`` (API invoke, Step Functions tasks, SQS/DynamoDB mappings) runs the
  real handler; ``Event`` invokes are queued instead of run inside the caller's request.
- S3 notifications, SNS subscriptions and EventBridge deliveries are asynchronous, as on AWS.
- S3 events gain the ``versionId`` and a monotonically increasing ``sequencer`` moto omits.
- EventBridge rules deliver to Lambda, Step Functions and SNS targets; one failing rule no longer
  stops delivery to the others.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from botocore.exceptions import ClientError

log = logging.getLogger("lockgate.localcloud.patches")

_sequence = itertools.count(1)
_installed: dict[str, Any] = {}


def install(
    runtime: Any,
    *,
    start_execution: Callable[[str, str], None],
    publish_sns: Callable[[str, str], None],
) -> None:
    """Route moto's Lambda paths to ``runtime`` (a :class:`localcloud.runtime.LambdaRuntime`)."""
    from moto.awslambda import models as lambda_models  # noqa: PLC0415 - heavy import boundary
    from moto.events import models as events_models  # noqa: PLC0415 - heavy import boundary
    from moto.events import notifications as events_notifications  # noqa: PLC0415 - heavy import boundary
    from moto.s3 import notifications as s3_notifications  # noqa: PLC0415 - heavy import boundary

    if _installed:
        _installed["runtime"] = runtime
        _installed["start_execution"] = start_execution
        _installed["publish_sns"] = publish_sns
        return
    _installed.update(runtime=runtime, start_execution=start_execution, publish_sns=publish_sns)
    original_invoke = lambda_models.LambdaFunction.invoke

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        rt = _installed["runtime"]
        if self.function_name not in rt.functions:
            return original_invoke(self, body, request_headers, response_headers)
        headers = {k.lower(): v for k, v in (request_headers or {}).items()}
        event = body if isinstance(body, str) and body else (json.dumps(body) if body else "{}")
        kind = headers.get("x-amz-invocation-type", "RequestResponse")
        if kind == "Event":
            rt.invoke_async(self.function_name, event)
            return b""
        if kind == "DryRun":
            return b""
        result = rt.invoke(self.function_name, event)
        if result.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        if headers.get("x-amz-log-type") == "Tail":
            response_headers["x-amz-log-result"] = base64.b64encode(result.logs.encode()[-4096:]).decode()
        return bytes(result.payload)

    lambda_models.LambdaFunction.invoke = invoke

    original_s3_event = s3_notifications._get_s3_event

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        body = original_s3_event(event_name, bucket, key, notification_id)
        for record in body["Records"]:
            obj = record["s3"]["object"]
            # S3 URL-encodes keys in events but keeps "/" (moto encodes it too).
            obj["key"] = quote_plus(key.name, safe="/")
            if getattr(key, "version_id", None) and key.version_id != "null":
                obj["versionId"] = key.version_id
            obj["sequencer"] = f"{next(_sequence):016X}"
            record.setdefault("userIdentity", {"principalId": "AWS:LOCAL"})
            record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        return body

    s3_notifications._get_s3_event = s3_event

    def s3_to_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        _async(fn_arn, json.dumps(event_body))

    s3_notifications._invoke_awslambda = s3_to_lambda

    def events_to_lambda(account_id: str, fn_arn: str, event: Any) -> None:
        _async(fn_arn, json.dumps(_iso_time(event)))

    events_notifications._invoke_lambda = events_to_lambda

    def send_sns_message(
        self: Any, function_name: str, message: str, subject: str | None = None, qualifier: str | None = None
    ) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        event = {
            "Records": [
                {
                    "EventVersion": "1.0",
                    "EventSource": "aws:sns",
                    "EventSubscriptionArn": "arn:aws:sns:local",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": f"{next(_sequence):032x}",
                        "TopicArn": "arn:aws:sns:local",
                        "Subject": subject,
                        "Message": message,
                        "Timestamp": now,
                        "MessageAttributes": {},
                    },
                }
            ]
        }
        _async(function_name, json.dumps(event))

    lambda_models.LambdaBackend.send_sns_message = send_sns_message

    original_send = events_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        try:
            if not self.event_pattern.matches_event(original_event):
                return
            ours: list[dict[str, Any]] = []
            theirs: list[dict[str, Any]] = []
            for target in self.targets:
                service = target["Arn"].split(":")[2]
                (ours if service in ("lambda", "states", "sns") else theirs).append(target)
            for target in ours:
                event = (
                    _transform(target, original_event) if transform_input else copy.deepcopy(original_event)
                )
                payload = json.dumps(_iso_time(event)) if isinstance(event, dict) else event
                arn = target["Arn"]
                service = arn.split(":")[2]
                if service == "lambda":
                    _async(arn, payload)
                elif service == "states":
                    threading.Thread(
                        target=_installed["start_execution"], args=(arn, payload), daemon=True
                    ).start()
                else:
                    threading.Thread(
                        target=_installed["publish_sns"], args=(arn, payload), daemon=True
                    ).start()
            if theirs:
                saved = self.targets
                self.targets = theirs
                try:
                    original_send(self, original_event, transform_input)
                finally:
                    self.targets = saved
        except Exception:  # noqa: BLE001 - one rule must not stop delivery to the others
            log.exception("EventBridge rule %s failed to deliver", getattr(self, "name", "?"))

    events_models.Rule.send_to_targets = send_to_targets

    from moto.stepfunctions.parser import models as sfn_models  # noqa: PLC0415 - heavy import boundary

    original_start = sfn_models.StepFunctionsParserBackend.start_execution

    def start_named_execution(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        # Without a name, moto names every execution "None" and refuses the second one.
        return original_start(
            self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
        )

    sfn_models.StepFunctionsParserBackend.start_execution = start_named_execution
    _serialise_dynamodb()
    _loopback_is_secure_transport()
    _lambda_service_error_names()


def _lambda_service_error_names() -> None:
    """Name Lambda API errors in Step Functions as AWS does: ``Lambda.<Code>``.

    moto calls every failed Lambda API call ``Exception``, so a state machine's Retry on
    ``Lambda.ServiceException`` / ``Lambda.TooManyRequestsException`` never matches locally.
    """
    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails  # noqa: PLC0415 - heavy import boundary
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName  # noqa: PLC0415 - heavy import boundary
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent  # noqa: PLC0415 - heavy import boundary
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda  # noqa: PLC0415 - heavy import boundary
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: PLC0415 - heavy import boundary

    original = state_task_lambda.StateTaskLambda._from_error

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        name = f"Lambda.{ex.response['Error'].get('Code') or 'ServiceException'}"
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(name),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                    error=name, cause=ex.response["Error"].get("Message", "")
                )
            ),
        )

    state_task_lambda.StateTaskLambda._from_error = from_error


def _loopback_is_secure_transport() -> None:
    """Evaluate bucket policies as for a TLS request.

    The templates' buckets deny ``aws:SecureTransport = false`` (TLS only). Every client of the
    local cloud reaches it over loopback, where there is no wire to protect; requests here count as
    secure transport, as every boto3 request to AWS (HTTPS) does. moto evaluates only
    ``StringEquals`` conditions and answers DENIED whenever a condition does not hold, whatever the
    statement's effect; statements whose conditions do not hold are dropped here instead, which is
    IAM's rule.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult  # noqa: PLC0415 - heavy import boundary
    from moto.s3 import models as s3_models  # noqa: PLC0415 - heavy import boundary

    context = {"aws:securetransport": "true"}

    def holds(condition: dict[str, Any]) -> bool:
        for operator, pairs in condition.items():
            if operator not in ("Bool", "StringEquals"):
                continue  # unknown operators: keep the statement, as moto did
            for key, expected in pairs.items():
                actual = context.get(key.lower())
                values = expected if isinstance(expected, list) else [expected]
                if actual is None or actual.lower() not in {str(v).lower() for v in values}:
                    return False
        return True

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(self.policy.decode())
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        applicable = [
            {k: v for k, v in st.items() if k != "Condition"}
            for st in statements
            if holds(st.get("Condition", {}))
        ]
        if not applicable:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**doc, "Statement": applicable})).is_action_permitted(action, resource)

    s3_models.FakeBucket.get_permission = get_permission


_DDB_OPS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
    "batch_write_item",
    "batch_get_item",
)


def _serialise_dynamodb() -> None:
    """Make each DynamoDB request atomic, as the real service's are.

    moto's backend is not thread-safe: a conditional write checks then writes without a lock, an
    UpdateItem is visible half-applied, and a cancelled transaction restores a copy of the whole
    table, erasing other writers' items. The threaded server would race where DynamoDB does not.
    """
    import moto.dynamodb.models as ddb_models  # noqa: PLC0415 - heavy import boundary

    lock = threading.RLock()
    for name in _DDB_OPS:
        original = getattr(ddb_models.DynamoDBBackend, name, None)
        if original is None:
            continue

        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(ddb_models.DynamoDBBackend, name, atomic)


def _async(fn: str, event: str) -> None:
    try:
        _installed["runtime"].invoke_async(fn, event)
    except KeyError:
        log.warning("asynchronous event for unknown function %s dropped", fn)


def _transform(target: dict[str, Any], event: dict[str, Any]) -> Any:
    from moto.events.models import EventTemplateParser  # noqa: PLC0415 - heavy import boundary

    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        path = target["InputPath"].lstrip("$").strip(".")
        value: Any = copy.deepcopy(event)
        for part in filter(None, path.split(".")):
            value = value.get(part) if isinstance(value, dict) else None
        return value
    transformer = target.get("InputTransformer")
    if transformer:
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
    return copy.deepcopy(event)


def _iso_time(event: Any) -> Any:
    """moto keeps ``time`` as epoch seconds; EventBridge sends ISO 8601."""
    if isinstance(event, dict) and isinstance(event.get("time"), (int, float)):
        event = dict(event)
        event["time"] = datetime.fromtimestamp(float(event["time"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event

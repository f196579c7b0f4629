"""Drift check records in the registry table (implements :class:`lockgate.ports.CheckStore`).

``MODEL#<m>`` / ``DRIFT#<window end>`` holds one check's verdict and report ids; the put is
conditional, so a schedule that fires twice for one window yields one record (and one alert).
``MODEL#<m>`` / ``RETRAIN#LATEST`` holds when the last retraining started: a conditional put on it
lets at most one retraining through per cool-down, however many checks race.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb import table
from lockgate.domain.check import CheckResult
from lockgate.domain.time import iso


def _stored_result(item: Mapping[str, Any]) -> CheckResult:
    return CheckResult(
        model=str(item["model"]),
        version=int(item["version"]),
        window_end=str(item["window_end"]),
        report_id=str(item["report_id"]),
        html_report_id=str(item["html_report_id"]),
        drifted=bool(item["drifted"]),
        performance_degraded=bool(item["performance_degraded"]),
        drifted_features=json.loads(item["drifted_features"]),
        duplicate=True,
        retraining=json.loads(item["retraining"]) if "retraining" in item else None,
    )


class DynamoDBCheckStore:
    """Check records of every model in one table; the client from :mod:`lockgate.adapters.aws` unless given."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    def get(self, model: str, window_end: datetime) -> CheckResult | None:
        item = table.get(self.ddb, self.table_name, table.model_pk(model), table.drift_sk(iso(window_end)))
        return _stored_result(item) if item else None

    def latest(self, model: str) -> CheckResult | None:
        items = list(
            table.query(self.ddb, self.table_name, table.model_pk(model), table.DRIFT, forward=False, limit=1)
        )
        return _stored_result(items[0]) if items else None

    def history(self, model: str) -> list[CheckResult]:
        """Every check of a model, oldest window first (the demo's and the CLI's listings)."""
        return [
            _stored_result(i)
            for i in table.query(self.ddb, self.table_name, table.model_pk(model), table.DRIFT)
        ]

    def record(self, result: CheckResult, *, baseline_id: str, created_at: datetime) -> bool:
        """Conditional put of ``DRIFT#<window end>``: False when another invocation got there first."""
        item = table.model_key(result.model, table.drift_sk(result.window_end)) | table.serialize(
            {
                "model": result.model,
                "version": result.version,
                "baseline_id": baseline_id,
                "window_end": result.window_end,
                "report_id": result.report_id,
                "html_report_id": result.html_report_id,
                "drifted": result.drifted,
                "performance_degraded": result.performance_degraded,
                "drifted_features": json.dumps(result.drifted_features),
                "created_at": iso(created_at),
            }
        )
        try:
            self.ddb.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if table.conditional_failed(exc):
                return False
            raise
        return True

    def set_retraining(self, model: str, window_end: datetime, retraining: Mapping[str, Any]) -> None:
        self.ddb.update_item(
            TableName=self.table_name,
            Key=table.model_key(model, table.drift_sk(iso(window_end))),
            UpdateExpression="SET retraining = :r",
            ExpressionAttributeValues={":r": table.attribute(json.dumps(retraining, default=str))},
        )

    def claim_retraining(self, model: str, *, now: datetime, cooldown_minutes: int) -> bool:
        """Conditional write on ``RETRAIN#LATEST``: only one retraining per cool-down, even under races."""
        cutoff = iso(now - timedelta(minutes=cooldown_minutes))
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item=table.model_key(model, table.RETRAIN_LATEST) | table.serialize({"started_at": iso(now)}),
                ConditionExpression="attribute_not_exists(pk) OR started_at <= :cutoff",
                ExpressionAttributeValues={":cutoff": table.attribute(cutoff)},
            )
        except ClientError as exc:
            if table.conditional_failed(exc):
                return False
            raise
        return True

"""SNS adapter: alerts for people on the alerts topic (implements :class:`lockgate.ports.Alerts`).

The bus carries the same events for automation; the topic is for inboxes and pagers, so the
message is the event pretty-printed and the subject names the model and version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lockgate.adapters import aws


class SnsAlerts:
    """Publishes to one topic; with no topic configured (``""``) alerts go nowhere, by design."""

    def __init__(self, topic_arn: str, *, sns_client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._sns = sns_client

    @property
    def sns(self) -> Any:
        return self._sns or aws.client("sns")

    def alert(self, detail_type: str, detail: Mapping[str, Any], *, model: str, version: int) -> None:
        if not self.topic_arn:
            return
        self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=f"Lockgate: {detail_type} ({model} v{version})"[:100],
            Message=json.dumps({"detail-type": detail_type, "detail": detail}, indent=2, default=str),
        )

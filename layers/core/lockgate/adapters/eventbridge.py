"""EventBridge adapter: Lockgate events on the bus (implements :class:`lockgate.ports.Publisher`)."""

from __future__ import annotations

import json
from typing import Any

from lockgate.adapters import aws
from lockgate.config import settings
from lockgate.domain.events import SOURCE
from lockgate.errors import EventPublishError


class EventBridgePublisher:
    """Puts one event per call on the bus; a refused entry raises rather than vanishing."""

    def __init__(self, bus_name: str | None = None, *, events_client: Any | None = None) -> None:
        self._bus_name = bus_name
        self._events = events_client

    @property
    def bus_name(self) -> str:
        return self._bus_name or settings().event_bus_name

    def __call__(self, detail_type: str, detail: dict[str, Any]) -> None:
        client = self._events or aws.client("events")
        response = client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise EventPublishError(
                f"EventBridge refused {detail_type!r}: {response['Entries']}", detail_type=detail_type
            )


def publish(detail_type: str, detail: dict[str, Any], *, bus_name: str | None = None) -> None:
    """Put one event on the Lockgate bus (the bus from the environment unless named)."""
    EventBridgePublisher(bus_name)(detail_type, detail)

"""S3 object notifications as values: the one parse of ``{"Records": [{"s3": ...}]}`` events.

S3 URL-encodes object keys in notifications (a space arrives as ``+``, ``é`` as ``%C3%A9``), so every
consumer must decode them the same way; they all go through :func:`parse_s3_records`. The test event
S3 sends once when a notification is configured (``{"Event": "s3:TestEvent"}``) has no records.

>>> (obj,) = parse_s3_records({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%C3%A9"}}}]})
>>> obj.bucket, obj.key
('b', 'a bé')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class S3ObjectEvent:
    """One object an S3 notification is about: the key already URL-decoded, absent fields empty."""

    bucket: str
    key: str
    etag: str = ""
    version_id: str = ""
    size: int = 0
    event_name: str = ""
    event_time: str = ""

    @property
    def received_at(self) -> datetime | None:
        """When S3 saw the change (``eventTime``), timezone-aware; ``None`` when the record has none."""
        if not self.event_time:
            return None
        return datetime.fromisoformat(self.event_time.replace("Z", "+00:00"))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> S3ObjectEvent:
        """One ``Records[]`` entry of an S3 notification."""
        s3 = record["s3"]
        obj = s3["object"]
        return cls(
            bucket=str(s3["bucket"]["name"]),
            key=unquote_plus(str(obj["key"])),
            etag=str(obj.get("eTag") or "").strip('"'),
            version_id=str(obj.get("versionId") or ""),
            size=int(obj.get("size") or 0),
            event_name=str(record.get("eventName") or ""),
            event_time=str(record.get("eventTime") or ""),
        )


def is_test_event(event: dict[str, Any]) -> bool:
    """The ``s3:TestEvent`` S3 sends once when a bucket notification is configured."""
    return event.get("Event") == "s3:TestEvent"


def parse_s3_records(event: dict[str, Any]) -> list[S3ObjectEvent]:
    """Every object of an S3 notification, in delivery order (none for the test event)."""
    if is_test_event(event):
        return []
    return [S3ObjectEvent.from_record(r) for r in event.get("Records", [])]

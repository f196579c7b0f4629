"""What the services need from the outside world, as ``typing.Protocol``s.

Services (``lockgate.services``) are typed on these ports only; adapters (``lockgate.adapters``)
implement them on AWS, and ``tests/fakes`` implements them in memory. Values that cross a port
are the domain's (``lockgate.domain``), never raw DynamoDB items or event dicts.
"""

from __future__ import annotations

from typing import Any, Protocol

from lockgate.domain.artifacts import ArtifactRef


class Publisher(Protocol):
    """Announces a state change as an event (``EventBridgePublisher`` on the Lockgate bus)."""

    def __call__(self, detail_type: str, detail: dict[str, Any], /) -> None: ...


class ArtifactReader(Protocol):
    """Reads content-addressed artifacts; every read verifies the bytes against their id."""

    def get_bytes(self, kind: str, sha256: str, *, ext: str = "") -> bytes: ...

    def get_json(self, kind: str, sha256: str) -> Any: ...


class ArtifactStore(ArtifactReader, Protocol):
    """The content-addressed artifact store (``S3ArtifactStore``)."""

    @property
    def bucket(self) -> str: ...

    def put_bytes(
        self, kind: str, data: bytes, *, ext: str = "", content_type: str = "application/octet-stream"
    ) -> ArtifactRef: ...

    def put_json(self, kind: str, value: Any) -> ArtifactRef: ...


# ---------------------------------------------------------------- registry and runs (lifecycle)

# ---------------------------------------------------------------- data in (datasets, ingest)

# ---------------------------------------------------------------- monitoring and labels

# ---------------------------------------------------------------- serving, tokens, batch

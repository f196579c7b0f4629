"""S3 adapters: the content-addressed artifact store.

Every artifact (dataset copy, model, baseline, report, holdout) is stored under
``<kind>/<sha256>[.<ext>]`` in the artifact bucket and fetched by that id; reading verifies the
hash, so a flipped byte is refused instead of served.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.domain.artifacts import ArtifactRef, artifact_key, sha256_hex
from lockgate.errors import ArtifactNotFoundError, IntegrityError


class S3ArtifactStore:
    """Content-addressed store on an S3 bucket (implements :class:`lockgate.ports.ArtifactStore`)."""

    def __init__(self, bucket: str, *, s3_client: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        return self._s3 or aws.client("s3")

    def put_bytes(
        self, kind: str, data: bytes, *, ext: str = "", content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        digest = sha256_hex(data)
        key = artifact_key(kind, digest, ext)
        # Same bytes, same key: rewriting is harmless, so no existence check is needed.
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata={"sha256": digest},
        )
        return ArtifactRef(kind=kind, sha256=digest, key=key, size=len(data))

    def put_json(self, kind: str, value: Any) -> ArtifactRef:
        data = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
        return self.put_bytes(kind, data, ext="json", content_type="application/json")

    def get_bytes(self, kind: str, sha256: str, *, ext: str = "") -> bytes:
        key = artifact_key(kind, sha256, ext)
        try:
            data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise ArtifactNotFoundError(f"artifact {key} does not exist", key=key) from exc
            raise
        actual = sha256_hex(data)
        if actual != sha256:
            raise IntegrityError(
                f"artifact {key} is corrupt or tampered: its bytes hash to {actual}", key=key, sha256=actual
            )
        return data

    def get_json(self, kind: str, sha256: str) -> Any:
        return json.loads(self.get_bytes(kind, sha256, ext="json"))

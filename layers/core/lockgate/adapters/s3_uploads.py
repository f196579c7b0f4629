"""The uploaded objects in the data bucket (implements :class:`lockgate.ports.UploadSource`).

Every read is pinned to the version the notification named (when the bucket is versioned), so the
bytes ingest hashes are the bytes it copies, even if someone overwrites the key meanwhile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb.table import error_code
from lockgate.domain.dataset import UploadDigest, UploadHead, UploadRef

CHUNK = 8 * 1024 * 1024
HEAD_BYTES = 16  # enough for every magic number detect_format knows
_GONE = ("404", "NoSuchKey", "NoSuchVersion")


def _pinned(upload: UploadRef) -> dict[str, str]:
    where = {"Bucket": upload.bucket, "Key": upload.key}
    if upload.version_id:
        where["VersionId"] = upload.version_id
    return where


class S3UploadSource:
    """Reads, hashes and copies uploads with the S3 client (server-side copy: bytes never pass through)."""

    def __init__(self, *, s3_client: Any | None = None) -> None:
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        return self._s3 or aws.client("s3")

    def head(self, upload: UploadRef) -> UploadHead | None:
        try:
            head = self.s3.head_object(**_pinned(upload))
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return None
            raise
        return UploadHead(
            size=int(head["ContentLength"]),
            etag=str(head.get("ETag", "")).strip('"'),
            metadata={str(k): str(v) for k, v in (head.get("Metadata") or {}).items()},
        )

    def digest(self, upload: UploadRef) -> UploadDigest:
        body = self.s3.get_object(**_pinned(upload))["Body"]
        digest = hashlib.sha256()
        head = b""
        size = 0
        for chunk in iter(lambda: body.read(CHUNK), b""):
            if not head:
                head = chunk[:HEAD_BYTES]
            digest.update(chunk)
            size += len(chunk)
        return UploadDigest(sha256=digest.hexdigest(), head=head, size=size)

    def read_bytes(self, bucket: str, key: str) -> bytes | None:
        try:
            data: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return data

    def copy(self, upload: UploadRef, *, bucket: str, key: str, metadata: Mapping[str, str]) -> None:
        self.s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource=_pinned(upload),
            MetadataDirective="REPLACE",
            Metadata=dict(metadata),
        )

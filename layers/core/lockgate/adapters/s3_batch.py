"""Batch scoring's files on S3: ranged reads of the dropped file, parts and output in the artifact bucket.

Implements :class:`lockgate.ports.BatchFiles`. The source may be in any bucket the S3 event names;
everything batch writes goes to the one bucket this adapter is built with.
"""

from __future__ import annotations

from typing import Any

from lockgate.adapters import aws


class S3BatchFiles:
    """Reads batch sources, writes parts and outputs to ``output_bucket`` (the artifact bucket)."""

    def __init__(self, output_bucket: str, *, s3_client: Any | None = None) -> None:
        self.output_bucket = output_bucket
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        return self._s3 or aws.client("s3")

    def read_source(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if byte_range:
            kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
        data: bytes = self.s3.get_object(**kwargs)["Body"].read()
        return data

    def read_output(self, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=self.output_bucket, Key=key)["Body"].read()
        return data

    def write_output(self, key: str, body: bytes, *, content_type: str | None = None) -> None:
        kwargs: dict[str, Any] = {"Bucket": self.output_bucket, "Key": key, "Body": body}
        if content_type:
            kwargs["ContentType"] = content_type
        self.s3.put_object(**kwargs)

"""The retraining dataset: the last accepted training data plus the labelled traffic, as CSV.

The drift check writes it into the data bucket, where the ingest trigger registers it like any
upload and runs it through every gate; nothing here trusts it more than a person's upload.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any


def read_dataset(data: bytes, fmt: str) -> Any:
    """A stored dataset's bytes as a DataFrame (``csv``, ``csv.gz``/``gzip`` or ``parquet``)."""
    import pandas as pd  # noqa: PLC0415 - heavy import boundary

    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), compression="gzip" if fmt in ("csv.gz", "gzip") else None)


def retraining_csv(
    parent: tuple[bytes, str] | None, feedback: Sequence[Mapping[str, Any]]
) -> tuple[bytes, int] | None:
    """``(CSV bytes, rows)`` of the parent dataset (``(bytes, format)``) followed by ``feedback``.

    With a parent, the result keeps exactly the parent's columns in its order (a feature the model
    never trained on does not sneak in through the captures). None when there is nothing at all.
    """
    import pandas as pd  # noqa: PLC0415 - heavy import boundary

    feedback_frame = pd.DataFrame([dict(row) for row in feedback])
    frames = []
    if parent is not None:
        frames.append(read_dataset(*parent))
    if not feedback_frame.empty:
        frames.append(feedback_frame)
    if not frames:
        return None
    combined = pd.concat(frames, ignore_index=True, sort=False)
    if parent is not None:
        combined = combined[[c for c in frames[0].columns]]
    return combined.to_csv(index=False).encode(), len(combined)

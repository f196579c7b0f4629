"""Content addressing: every artifact is named ``<kind>/<sha256>[.<ext>]`` by the hash of its bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ArtifactRef:
    """Where an artifact lives: its content id and its key in the artifact bucket."""

    kind: str
    sha256: str
    key: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sha256": self.sha256, "key": self.key, "size": self.size}


def artifact_key(kind: str, sha256: str, ext: str = "") -> str:
    return f"{kind}/{sha256}{'.' + ext if ext else ''}"

"""DynamoDB value conversion shared by the adapters.

DynamoDB has no float type: numbers travel as ``Decimal``. :func:`to_ddb` turns a JSON-like value
into something boto3 accepts (floats -> Decimal via their shortest repr, NaN/inf -> None, tuples ->
lists); :func:`from_ddb` turns it back (integral Decimals -> int, others -> float).
:func:`serialize` / :func:`deserialize` add the low-level client's attribute-value wrapping.

>>> from_ddb(to_ddb({"auc": 0.93, "n": 3, "bad": float("nan")}))
{'auc': 0.93, 'n': 3, 'bad': None}
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_ddb(value: Any) -> Any:
    """A JSON-like value made storable: floats become Decimal, NaN and infinities become None."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int, Decimal, bytes)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_ddb(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_ddb(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return to_ddb(item())
    raise TypeError(f"cannot store a {type(value).__name__} in DynamoDB")


def from_ddb(value: Any) -> Any:
    """The inverse of :func:`to_ddb`: Decimals become int when integral, float otherwise."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_ddb(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_ddb(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(from_ddb(v) for v in value)
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """A plain dict -> low-level client item (``{"name": {"S": ...}}``)."""
    return {k: _SERIALIZER.serialize(v) for k, v in to_ddb(item).items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level client item -> plain dict with int/float numbers."""
    return {k: from_ddb(_DESERIALIZER.deserialize(v)) for k, v in item.items()}

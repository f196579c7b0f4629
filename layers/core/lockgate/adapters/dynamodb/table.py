"""The registry table: its keys and its one value codec. The only place a key string is spelled.

One DynamoDB table holds every record, partitioned by model (``docs/internals.md`` lists the
items). Adapters build keys with the functions here and convert values with :func:`to_ddb` /
:func:`from_ddb` (or :func:`serialize` / :func:`deserialize` for the low-level client).

DynamoDB has no float type: numbers travel as ``Decimal``. :func:`to_ddb` turns a JSON-like value
into something boto3 accepts (floats -> Decimal via their shortest repr, NaN/inf -> None, tuples ->
lists, numpy scalars -> Python numbers) and refuses anything else; :func:`from_ddb` turns it back
(integral Decimals -> int, others -> float).

>>> from_ddb(to_ddb({"auc": 0.93, "n": 3, "bad": float("nan")}))
{'auc': 0.93, 'n': 3, 'bad': None}
>>> model_key("churn", version_sk(3))
{'pk': {'S': 'MODEL#churn'}, 'sk': {'S': 'VERSION#00000003'}}
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()

# ---------------------------------------------------------------- keys

MODELS_PK = "MODELS"  # one summary item per model: sk = model_pk(model)
TOKEN_SK = "TOKEN"  # noqa: S105 - a sort key, not a secret

VERSION = "VERSION#"
RUN_VERSION = "RUNVERSION#"
ALIAS = "ALIAS#"
ALIAS_LOG = "ALIASLOG#"
RUN = "RUN#"
DATASET = "DATASET#"
UPLOAD = "UPLOAD#"
DRIFT = "DRIFT#"
LABELS = "LABELS#"
RETRAIN_LATEST = "RETRAIN#LATEST"


def model_pk(model: str) -> str:
    return f"MODEL#{model}"


def token_pk(digest: str) -> str:
    return f"TOKEN#{digest}"


def version_sk(version: int) -> str:
    """Versions are zero-padded to eight digits so they sort numerically."""
    return f"{VERSION}{version:08d}"


def run_version_sk(run_id: str) -> str:
    return f"{RUN_VERSION}{run_id}"


def alias_sk(alias: str) -> str:
    return f"{ALIAS}{alias}"


def alias_log_prefix(alias: str) -> str:
    return f"{ALIAS_LOG}{alias}#"


def alias_log_sk(alias: str, revision: int) -> str:
    return f"{alias_log_prefix(alias)}{revision:08d}"


def run_sk(run_id: str) -> str:
    return f"{RUN}{run_id}"


def dataset_sk(dataset_id: str) -> str:
    return f"{DATASET}{dataset_id}"


def upload_sk(upload_id: str) -> str:
    return f"{UPLOAD}{upload_id}"


def drift_sk(window_end: str) -> str:
    return f"{DRIFT}{window_end}"


def labels_sk(source_id: str) -> str:
    return f"{LABELS}{source_id}"


def key(pk: str, sk: str) -> dict[str, Any]:
    """A low-level client key."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def model_key(model: str, sk: str) -> dict[str, Any]:
    return key(model_pk(model), sk)


# ---------------------------------------------------------------- values


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


def attribute(value: Any) -> dict[str, Any]:
    """One value in the low-level client's wire format (``{"S": ...}``, ``{"N": ...}``, ...)."""
    result: dict[str, Any] = _SERIALIZER.serialize(to_ddb(value))
    return result


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """A plain dict -> low-level client item (``{"name": {"S": ...}}``)."""
    return {k: _SERIALIZER.serialize(v) for k, v in to_ddb(item).items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level client item -> plain dict with int/float numbers."""
    return {k: from_ddb(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


# ---------------------------------------------------------------- access


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def conditional_failed(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def backoff(attempt: int) -> None:
    """Full jitter: concurrent writers that collided spread out instead of colliding again."""
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311 - jitter, not security


def get(ddb: Any, table_name: str, pk: str, sk: str) -> dict[str, Any] | None:
    """One item by key, strongly consistent, decoded; ``None`` when absent."""
    raw = ddb.get_item(TableName=table_name, Key=key(pk, sk), ConsistentRead=True).get("Item")
    return deserialize(raw) if raw else None


def query(
    ddb: Any, table_name: str, pk: str, prefix: str, *, forward: bool = True, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """Items of partition ``pk`` whose sort key starts with ``prefix``, decoded, every page."""
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
        "ConsistentRead": True,
        "ScanIndexForward": forward,
    }
    if limit is not None:
        kwargs["Limit"] = limit
    while True:
        response = ddb.query(**kwargs)
        for raw in response.get("Items", []):
            yield deserialize(raw)
        if limit is not None or "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

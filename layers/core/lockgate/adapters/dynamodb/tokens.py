"""API credentials in the registry table, by hash: ``pk=TOKEN#<sha256(token)>``, ``sk=TOKEN``.

Implements :class:`lockgate.ports.TokenStore`. The item holds the holder's role and name and when
it was minted; verification is one strongly consistent ``GetItem`` by that hash (no comparison loop,
so nothing to time). Minting and checking tokens is ``lockgate.services.tokens``.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb.table import TOKEN_SK, conditional_failed, get, key, serialize, token_pk
from lockgate.domain.tokens import Principal
from lockgate.errors import VersionConflictError


class DynamoDBTokenStore:
    """Token hashes in the registry table (implements :class:`lockgate.ports.TokenStore`)."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    def put(self, digest: str, principal: Principal, *, created_at: str) -> None:
        item = {"role": principal.role, "name": principal.name, "created_at": created_at}
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item={**key(token_pk(digest), TOKEN_SK), **serialize(item)},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise VersionConflictError("a token with this hash already exists") from exc
            raise

    def get(self, digest: str) -> Principal | None:
        item = get(self.ddb, self.table_name, token_pk(digest), TOKEN_SK)
        if item is None:
            return None
        return Principal(role=str(item.get("role", "")), name=str(item.get("name", "")))

    def delete(self, digest: str) -> None:
        self.ddb.delete_item(TableName=self.table_name, Key=key(token_pk(digest), TOKEN_SK))

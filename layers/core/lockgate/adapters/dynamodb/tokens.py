"""API credentials: random bearer tokens, of which only the sha256 is stored.

A token is shown once, at creation; the registry table keeps ``pk=TOKEN#<sha256(token)>``,
``sk=TOKEN`` with its role and name, so a leaked table dump grants nothing. Verification is one
``GetItem`` by that hash (no comparison loop, so nothing to time).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lockgate.adapters import aws
from lockgate.config import settings
from lockgate.errors import InvalidRequestError, UnauthorizedError

ROLES = ("predict", "admin")
PREFIX = "lg_"
_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
_TOKEN = re.compile(r"^lg_[A-Za-z0-9_-]{20,100}$")


@dataclass(frozen=True)
class Principal:
    role: str
    name: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "name": self.name}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _key(digest: str) -> dict[str, Any]:
    return {"pk": {"S": f"TOKEN#{digest}"}, "sk": {"S": "TOKEN"}}


def _table(table_name: str | None) -> str:
    if table_name:
        return table_name
    settings().require("registry_table")
    return settings().registry_table


def create_token(
    role: str, name: str, *, table_name: str | None = None, dynamodb_client: Any | None = None
) -> str:
    """Mint a credential for ``role`` ("predict" or "admin"); returns the token, shown only now.

    Examples
    --------
    >>> token = create_token("predict", "alice")  # doctest: +SKIP
    >>> verify_token(token).role  # doctest: +SKIP
    'predict'
    """
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    if not _NAME.match(name):
        raise InvalidRequestError("name must be 1-64 letters, digits or _.@+- characters", field="name")
    token = PREFIX + secrets.token_urlsafe(32)
    ddb = dynamodb_client or aws.client("dynamodb")
    ddb.put_item(
        TableName=_table(table_name),
        Item={
            **_key(token_hash(token)),
            "role": {"S": role},
            "name": {"S": name},
            "created_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
        },
        ConditionExpression="attribute_not_exists(pk)",
    )
    return token


def verify_token(
    token: str, *, table_name: str | None = None, dynamodb_client: Any | None = None
) -> Principal:
    """Who holds ``token``; :class:`UnauthorizedError` for a malformed, unknown or revoked token."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise UnauthorizedError("missing or malformed token")
    ddb = dynamodb_client or aws.client("dynamodb")
    item = ddb.get_item(TableName=_table(table_name), Key=_key(token_hash(token)), ConsistentRead=True).get(
        "Item"
    )
    if not item or item.get("role", {}).get("S") not in ROLES:
        raise UnauthorizedError("unknown or revoked token")
    return Principal(role=item["role"]["S"], name=item.get("name", {}).get("S", ""))


def revoke_token(token: str, *, table_name: str | None = None, dynamodb_client: Any | None = None) -> None:
    """Delete a credential; API Gateway may keep honouring it for the authorizer's cache TTL."""
    ddb = dynamodb_client or aws.client("dynamodb")
    ddb.delete_item(TableName=_table(table_name), Key=_key(token_hash(token)))


def bearer(header: str | None) -> str:
    """The token in an ``Authorization: Bearer <token>`` header (the scheme is case-insensitive)."""
    if not header:
        raise UnauthorizedError("missing Authorization header")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise UnauthorizedError("the Authorization header must be 'Bearer <token>'")
    return value.strip()


def allow_policy(principal: Principal, method_arn: str) -> dict[str, Any]:
    """An API Gateway authorizer response allowing the whole API (every stage route and method).

    The policy is cached by API Gateway per token and reused for other routes, so it must not be
    scoped to the one method that happened to be called first; the role travels in ``context``
    and the API enforces admin-only routes itself.
    """
    arn, _, path = method_arn.partition("/")
    api_id_stage = "/".join([arn, *path.split("/")[:1]])
    return {
        "principalId": principal.name,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{api_id_stage}/*/*"}
            ],
        },
        "context": principal.to_dict(),
    }

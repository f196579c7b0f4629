"""The TOKEN authorizer against tokens stored (hashed) in the registry table, on moto."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from lockgate.adapters.dynamodb.tokens import DynamoDBTokenStore
from lockgate.domain.tokens import Principal, token_hash
from lockgate.errors import InvalidRequestError, UnauthorizedError
from lockgate.services import tokens as token_service
from support.handlers import FakeContext, load_event, load_function


def store() -> DynamoDBTokenStore:
    """The table the authorizer reads (REGISTRY_TABLE of the moto platform)."""
    return DynamoDBTokenStore(os.environ["REGISTRY_TABLE"])


def create_token(role: str, name: str) -> str:
    return token_service.create_token(role, name, tokens=store())


def verify_token(token: str) -> Principal:
    return token_service.verify_token(token, tokens=store())


def revoke_token(token: str) -> None:
    token_service.revoke_token(token, tokens=store())


def authorize(token: str) -> dict[str, Any]:
    event = {**load_event("authorizer", "token"), "authorizationToken": f"Bearer {token}"}
    result: dict[str, Any] = load_function("authorizer").handler(event, FakeContext("authorizer"))
    return result


def test_a_valid_token_gets_an_api_wide_allow_policy_with_its_role(moto_platform: dict[str, str]) -> None:
    # GIVEN an admin token minted for alice
    token = create_token("admin", "alice")
    # WHEN API Gateway asks about it
    result = authorize(token)
    # THEN the whole stage is allowed (the policy is cached across routes) and the role travels along
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"
    assert result["context"] == {"role": "admin", "name": "alice"} and result["principalId"] == "alice"


def test_only_the_hash_is_stored(moto_platform: dict[str, str]) -> None:
    token = create_token("predict", "ci")
    items = boto3.client("dynamodb").scan(TableName=moto_platform["REGISTRY_TABLE"])["Items"]
    assert [i["pk"]["S"] for i in items] == [f"TOKEN#{token_hash(token)}"]
    assert token not in str(items)


@pytest.mark.parametrize(
    "token", ["", "lg_unknown-token-000000000000000000", "not-a-lockgate-token", "lg_" + "a" * 500]
)
def test_bad_tokens_are_401(moto_platform: dict[str, str], token: str) -> None:
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(token)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "lg_token-without-scheme-000000000"])
def test_malformed_headers_are_401(moto_platform: dict[str, str], header: str | None) -> None:
    event = {**load_event("authorizer", "missing"), "authorizationToken": header}
    with pytest.raises(Exception, match="^Unauthorized$"):
        load_function("authorizer").handler(event, FakeContext("authorizer"))


def test_revoked_token_is_refused(moto_platform: dict[str, str]) -> None:
    token = create_token("predict", "bob")
    assert verify_token(token).role == "predict"
    revoke_token(token)
    with pytest.raises(UnauthorizedError):
        verify_token(token)


@pytest.mark.parametrize(
    ("role", "name"), [("root", "x"), ("admin", ""), ("admin", "a b"), ("predict", "x" * 65)]
)
def test_create_token_validates_role_and_name(moto_platform: dict[str, str], role: str, name: str) -> None:
    with pytest.raises(InvalidRequestError):
        create_token(role, name)

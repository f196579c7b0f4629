"""API credentials as values: who a token names, how it is hashed, how a header carries it.

A token is ``lg_`` plus 32 random URL-safe bytes and is shown once, at creation; only its sha256 is
ever stored (``lockgate.ports.TokenStore``), so a leaked table dump grants nothing. Nothing here
does I/O: minting and checking a token against the store is ``lockgate.services.tokens``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from lockgate.domain.names import TOKEN_NAME
from lockgate.errors import InvalidRequestError, UnauthorizedError

ROLES = ("predict", "admin")
PREFIX = "lg_"
TOKEN = re.compile(r"^lg_[A-Za-z0-9_-]{20,100}$")


@dataclass(frozen=True)
class Principal:
    """Who holds a token: its role decides the routes it may call, its name goes to audit trails."""

    role: str
    name: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "name": self.name}


def token_hash(token: str) -> str:
    """The only form a token is stored in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh bearer token (``lg_`` + 43 URL-safe characters)."""
    return PREFIX + secrets.token_urlsafe(32)


def check_grant(role: str, name: str) -> None:
    """Refuse a role that does not exist or a holder name that would not survive a log line."""
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    if not TOKEN_NAME.match(name):
        raise InvalidRequestError("name must be 1-64 letters, digits or _.@+- characters", field="name")


def check_token_shape(token: object) -> str:
    """A malformed token is refused before any lookup (nothing to hash, nothing to time)."""
    if not isinstance(token, str) or not TOKEN.match(token):
        raise UnauthorizedError("missing or malformed token")
    return token


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

"""API credentials: mint a bearer token, check one, revoke one, over a :class:`TokenStore`.

A token is shown once, at creation; the store keeps only its sha256 with the holder's role and
name. The authorizer calls :func:`verify_token` on every uncached request, the CLI and the tests mint
tokens with :func:`create_token`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lockgate.domain.tokens import (
    ROLES,
    Principal,
    check_grant,
    check_token_shape,
    new_token,
    token_hash,
)
from lockgate.errors import UnauthorizedError
from lockgate.ports import TokenStore


def create_token(role: str, name: str, *, tokens: TokenStore) -> str:
    """Mint a credential for ``role`` ("predict" or "admin"); returns the token, shown only now.

    Examples
    --------
    >>> token = create_token("predict", "alice", tokens=store)  # doctest: +SKIP
    >>> verify_token(token, tokens=store).role  # doctest: +SKIP
    'predict'
    """
    check_grant(role, name)
    token = new_token()
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    tokens.put(token_hash(token), Principal(role=role, name=name), created_at=created_at)
    return token


def verify_token(token: str, *, tokens: TokenStore) -> Principal:
    """Who holds ``token``; :class:`UnauthorizedError` for a malformed, unknown or revoked token."""
    principal = tokens.get(token_hash(check_token_shape(token)))
    if principal is None or principal.role not in ROLES:
        raise UnauthorizedError("unknown or revoked token")
    return principal


def revoke_token(token: str, *, tokens: TokenStore) -> None:
    """Delete a credential; API Gateway may keep honouring it for the authorizer's cache TTL."""
    tokens.delete(token_hash(token))

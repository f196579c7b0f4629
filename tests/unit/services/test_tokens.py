"""The token use cases on an in-memory store: mint once, verify by hash, revoke, refuse the malformed."""

from __future__ import annotations

import pytest
from fakes.serving import InMemoryTokenStore
from lockgate.domain.tokens import Principal, token_hash
from lockgate.errors import InvalidRequestError, UnauthorizedError
from lockgate.services.tokens import create_token, revoke_token, verify_token


class CountingStore(InMemoryTokenStore):
    """Counts lookups, to show a malformed token never reaches the store."""

    lookups = 0

    def get(self, digest: str) -> Principal | None:
        self.lookups += 1
        return super().get(digest)


def test_a_minted_token_names_its_holder_and_only_its_hash_is_kept() -> None:
    # GIVEN an empty store
    store = InMemoryTokenStore()
    # WHEN an admin token is minted for alice
    token = create_token("admin", "alice", tokens=store)
    # THEN verifying it names alice as an admin
    assert verify_token(token, tokens=store) == Principal(role="admin", name="alice")
    assert verify_token(token, tokens=store).is_admin
    # AND the store holds its hash, never the token
    assert list(store.items) == [token_hash(token)]
    assert token not in repr(store.items)
    assert token.startswith("lg_")


def test_every_minted_token_is_different() -> None:
    store = InMemoryTokenStore()
    tokens = {create_token("predict", "ci", tokens=store) for _ in range(50)}
    assert len(tokens) == 50 and len(store.items) == 50


def test_a_revoked_token_is_refused() -> None:
    store = InMemoryTokenStore()
    token = create_token("predict", "bob", tokens=store)
    other = create_token("predict", "carol", tokens=store)
    # WHEN bob's token is revoked
    revoke_token(token, tokens=store)
    # THEN it is unknown, and carol's still works
    with pytest.raises(UnauthorizedError, match="unknown or revoked"):
        verify_token(token, tokens=store)
    assert verify_token(other, tokens=store).name == "carol"


@pytest.mark.parametrize(
    "token", ["", "not-a-lockgate-token", "lg_short", "lg_" + "a" * 500, "lg_bad chars here 0000000000"]
)
def test_a_malformed_token_is_refused_without_a_lookup(token: str) -> None:
    store = CountingStore()
    with pytest.raises(UnauthorizedError, match="malformed"):
        verify_token(token, tokens=store)
    assert store.lookups == 0


def test_a_well_formed_but_unknown_token_is_refused() -> None:
    with pytest.raises(UnauthorizedError, match="unknown or revoked"):
        verify_token("lg_" + "x" * 43, tokens=InMemoryTokenStore())


def test_a_stored_grant_with_a_role_that_no_longer_exists_is_refused() -> None:
    store = InMemoryTokenStore()
    token = create_token("predict", "dave", tokens=store)
    store.items[token_hash(token)]["role"] = "root"
    with pytest.raises(UnauthorizedError):
        verify_token(token, tokens=store)


@pytest.mark.parametrize(
    ("role", "name"), [("root", "x"), ("admin", ""), ("admin", "a b"), ("predict", "x" * 65)]
)
def test_a_bad_role_or_holder_name_mints_nothing(role: str, name: str) -> None:
    store = InMemoryTokenStore()
    with pytest.raises(InvalidRequestError):
        create_token(role, name, tokens=store)
    assert store.items == {}

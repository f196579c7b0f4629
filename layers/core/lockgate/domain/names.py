"""The names people choose (models, aliases, tokens) and the ids Lockgate derives, as one set of rules.

A model name becomes an S3 prefix (``datasets/<model>/``), a DynamoDB key and a URL segment, so it is
kept to lowercase letters, digits and dashes; every entry point checks it with the same pattern.

>>> bool(MODEL_NAME.match("churn-v2")), bool(MODEL_NAME.match("Churn"))
(True, False)
"""

from __future__ import annotations

import re

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ALIAS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_model_name(name: str) -> bool:
    return bool(MODEL_NAME.match(name))


def is_sha256(value: str) -> bool:
    """A content id: 64 lowercase hex digits."""
    return bool(SHA256.match(value))

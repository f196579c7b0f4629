from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
from lockgate.adapters.dynamodb.table import deserialize, from_ddb, serialize, to_ddb


def test_floats_round_trip_through_decimal_and_nan_becomes_none() -> None:
    value = {
        "auc": 0.9312,
        "n": 3,
        "bad": math.nan,
        "inf": math.inf,
        "nested": [1.5, (2, "x")],
        "np": np.float32(0.5),
    }
    stored = to_ddb(value)
    assert stored["auc"] == Decimal("0.9312") and stored["bad"] is None and stored["inf"] is None
    assert from_ddb(stored) == {
        "auc": 0.9312,
        "n": 3,
        "bad": None,
        "inf": None,
        "nested": [1.5, [2, "x"]],
        "np": 0.5,
    }


def test_low_level_items_round_trip() -> None:
    item = {"pk": "MODEL#m", "metrics": {"rmse": 1.25, "rows": 10}, "flag": True, "none": None}
    wire = serialize(item)
    assert wire["metrics"]["M"]["rmse"] == {"N": "1.25"}
    assert deserialize(wire) == item

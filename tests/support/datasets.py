"""Seeded datasets for tests, the demo and the benchmarks.

- :func:`breast_cancer` — a real dataset (569 rows, 30 numeric features, binary target) that
  scikit-learn ships in its package data, so it works offline. It is all numeric; it is not dressed
  up with invented categorical columns.
- :func:`make_synthetic` — 20 numeric + 5 categorical columns with a learnable signal, missing
  values and a few rare categories, for both tasks, fully determined by ``seed``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

N_NUMERIC = 20
N_CATEGORICAL = 5
_LEVELS = (
    ["north", "south", "east", "west"],
    ["basic", "plus", "pro"],
    ["a", "b", "c", "d", "e", "f"],
    ["web", "store", "phone"],
    ["x", "y"],
)


def breast_cancer() -> pd.DataFrame:
    """The Wisconsin breast cancer data with a readable string target ``diagnosis``."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = bunch.frame.rename(columns=lambda c: str(c).replace(" ", "_"))
    names = np.asarray(bunch.target_names)
    frame["diagnosis"] = names[frame.pop("target").to_numpy()]
    return frame


def breast_cancer_csv() -> bytes:
    text: str = breast_cancer().to_csv(index=False)
    return text.encode()


def make_synthetic(
    n: int,
    seed: int,
    task: Literal["classification", "regression"] = "classification",
    *,
    missing_fraction: float = 0.02,
    shift: float = 0.0,
) -> pd.DataFrame:
    """``n`` rows: ``num_00..num_19`` (float), ``cat_0..cat_4`` (string), and ``target``.

    Classification targets are ``"yes"``/``"no"``; regression targets are floats. ``shift`` moves the
    numeric features (for drift tests) without changing how the target depends on them.
    """
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, N_NUMERIC))
    weights = np.linspace(1.5, -1.0, N_NUMERIC) * (rng.random(N_NUMERIC) > 0.3)
    signal = numeric @ weights / np.sqrt(N_NUMERIC)
    frame = pd.DataFrame(numeric + shift, columns=[f"num_{i:02d}" for i in range(N_NUMERIC)])
    for j, levels in enumerate(_LEVELS):
        codes = rng.integers(0, len(levels), size=n)
        effects = np.linspace(-0.8, 0.8, len(levels))
        signal = signal + effects[codes] * (1.0 if j < 2 else 0.2)
        frame[f"cat_{j}"] = np.asarray(levels, dtype=object)[codes]
    noise = rng.normal(scale=0.5, size=n)
    if task == "classification":
        frame["target"] = np.where(signal + noise > 0, "yes", "no").astype(object)
    else:
        frame["target"] = 3.0 * signal + noise + 10.0
    if missing_fraction > 0:
        for column in ("num_00", "num_05", "cat_1"):
            mask = rng.random(n) < missing_fraction
            frame.loc[mask, column] = np.nan if column.startswith("num") else None
    return frame

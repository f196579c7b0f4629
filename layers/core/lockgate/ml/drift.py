"""The drift engine: per-feature statistical tests, dataset drift share, prediction drift and data quality.

Pure numpy/scipy (no pandas), so it runs in the training layer and is fast enough for 100k x 25
against 100k x 25 in well under a second. Test choice follows Evidently's defaults, which users
know (one deliberate difference: "small" means either sample, not only the reference, has at most
1000 rows, so a short window against a large baseline gets a test that accounts for its size):

* numeric, small: two-sample Kolmogorov-Smirnov (drift when p < 0.05);
* numeric, large: Wasserstein distance normalised by the reference std (>= 0.1);
* categorical (or numeric with <= 5 distinct values), small: chi-square two-sample contingency test
  (``scipy.stats.chi2_contingency``; Evidently's goodness-of-fit variant raises false alarms), or a
  two-proportion z-test when there are only two values (p < 0.05);
* categorical, large: Jensen-Shannon distance (>= 0.1);
* PSI (>= 0.1) is available, and any test can be forced through :class:`DriftConfig`.

Example
-------
>>> result = detect_drift(reference={"x": [0.0, 1.0, 2.0] * 100}, current={"x": [5.0, 6.0] * 100})
>>> result.features[0].drifted
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import distance

Kind = Literal["number", "string"]
FloatArray = NDArray[np.float64]

KS = "ks"
CHISQUARE = "chisquare"
Z = "z"
WASSERSTEIN = "wasserstein"
JENSENSHANNON = "jensenshannon"
PSI = "psi"
TESTS = (KS, CHISQUARE, Z, WASSERSTEIN, JENSENSHANNON, PSI)
P_VALUE_TESTS = frozenset({KS, CHISQUARE, Z})
NUMERIC_ONLY_TESTS = frozenset({KS, WASSERSTEIN})
DEFAULT_THRESHOLDS = {KS: 0.05, CHISQUARE: 0.05, Z: 0.05, WASSERSTEIN: 0.1, JENSENSHANNON: 0.1, PSI: 0.1}

SMALL_REFERENCE_ROWS = 1000  # Evidently: <= 1000 reference rows counts as a small sample
FEW_VALUES = 5  # numeric columns with this few distinct values are tested as categories
NUMERIC_BINS = 30  # bins for binned tests on numeric columns (Jensen-Shannon, PSI, chi-square)
PSI_EPSILON = 1e-4  # empty bins get this share, as Evidently does, so the log stays finite
PLOT_BINS = 20
MAX_PLOT_CATEGORIES = 12
MAX_LISTED_UNSEEN = 20


@dataclass(frozen=True)
class DriftConfig:
    """What to test and how strictly; built from the spec's ``monitoring`` section.

    ``stattest`` forces one test for every feature, ``per_feature`` forces a test for named
    features; ``threshold`` overrides the chosen test's default threshold.
    """

    stattest: str | None = None
    threshold: float | None = None
    drift_share: float = 0.5
    per_feature: Mapping[str, str] = field(default_factory=dict)
    missing_increase: float = 0.1  # data quality: flag when missing share rises this much
    out_of_range_share: float = 0.05  # data quality: flag when this share of values leaves [min, max]
    unseen_share: float = 0.05  # data quality: flag when this share of values is an unseen category

    def __post_init__(self) -> None:
        for test in [self.stattest, *self.per_feature.values()]:
            if test is not None and test not in TESTS:
                raise ValueError(f"unknown drift test {test!r}; use one of {', '.join(TESTS)}")

    @classmethod
    def from_monitoring(cls, monitoring: Any) -> DriftConfig:
        """From a :class:`lockgate.domain.spec.Monitoring` (or anything with the same attributes)."""
        return cls(
            stattest=monitoring.stattest,
            threshold=monitoring.stattest_threshold,
            drift_share=monitoring.drift_share,
        )


@dataclass(frozen=True)
class FeatureDrift:
    """One column's verdict: which test, its score, the threshold and whether it drifted.

    ``score`` is a p-value for ks/chisquare/z (drift when below the threshold) and a distance for
    wasserstein/jensenshannon/psi (drift when at or above it). ``distribution`` holds what a plot
    needs: ``edges`` (numbers) or ``categories`` (strings), with reference and current shares.
    """

    feature: str
    kind: Kind
    test: str
    score: float
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    distribution: dict[str, Any]

    @property
    def score_kind(self) -> str:
        return "p_value" if self.test in P_VALUE_TESTS else "distance"

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "test": self.test,
            "score": _finite(self.score),
            "score_kind": self.score_kind,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "distribution": self.distribution,
        }


@dataclass(frozen=True)
class FeatureQuality:
    """Serving data quality for one column against the baseline."""

    feature: str
    kind: Kind
    missing_fraction: float
    reference_missing_fraction: float
    out_of_range_fraction: float  # numbers outside the baseline [min, max]
    unseen_fraction: float  # categories never seen in the baseline
    unseen_categories: tuple[str, ...]
    issues: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "missing_fraction": self.missing_fraction,
            "reference_missing_fraction": self.reference_missing_fraction,
            "out_of_range_fraction": self.out_of_range_fraction,
            "unseen_fraction": self.unseen_fraction,
            "unseen_categories": list(self.unseen_categories),
            "issues": list(self.issues),
        }


@dataclass(frozen=True)
class DriftResult:
    """Every column's verdict plus the dataset-level share, prediction drift and data quality."""

    features: tuple[FeatureDrift, ...]
    drift_share: float
    drift_share_threshold: float
    prediction: FeatureDrift | None
    quality: tuple[FeatureQuality, ...]
    n_reference: int
    n_current: int

    @property
    def dataset_drift(self) -> bool:
        return bool(self.features) and self.drift_share >= self.drift_share_threshold

    @property
    def drifted(self) -> bool:
        return self.dataset_drift or (self.prediction is not None and self.prediction.drifted)

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "drift_share_threshold": self.drift_share_threshold,
            "drifted_features": self.drifted_features,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "features": [f.to_dict() for f in self.features],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "quality": [q.to_dict() for q in self.quality],
            "quality_issues": sum(len(q.issues) for q in self.quality),
        }


# --------------------------------------------------------------------------- reference columns


@dataclass(frozen=True)
class _Column:
    """A column reduced to what the tests need: non-missing values or category counts."""

    kind: Kind
    values: FloatArray | None  # numbers (non-missing); None when only a histogram is known
    counts: dict[str, int]  # categories (or, for numbers with only a histogram: nothing)
    n_total: int
    missing_fraction: float
    minimum: float | None = None
    maximum: float | None = None
    histogram: tuple[FloatArray, FloatArray] | None = None  # (edges, counts) when values is None

    @property
    def n(self) -> int:
        if self.kind == "number":
            if self.values is not None:
                return int(self.values.size)
            return int(self.histogram[1].sum()) if self.histogram else 0
        return sum(self.counts.values())


def _to_numbers(values: Any) -> FloatArray:
    try:
        return np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.array([_to_float(v) for v in values], dtype=np.float64)


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _numeric_column(values: Any) -> _Column:
    arr = _to_numbers(values)
    finite = np.sort(arr[~np.isnan(arr)])  # sorted once: plots read quantiles by index
    total = int(arr.size)
    return _Column(
        kind="number",
        values=finite,
        counts={},
        n_total=total,
        missing_fraction=(total - finite.size) / total if total else 0.0,
        minimum=float(finite.min()) if finite.size else None,
        maximum=float(finite.max()) if finite.size else None,
    )


def _categorical_column(values: Any) -> _Column:
    raw = Counter(values.tolist() if isinstance(values, np.ndarray) else values)
    counts: Counter[str] = Counter()
    missing = 0
    for value, count in raw.items():
        if _is_missing(value):
            missing += count
        else:
            counts[_category(value)] += count
    total = sum(raw.values())
    return _Column(
        kind="string",
        values=None,
        counts=dict(counts),
        n_total=total,
        missing_fraction=missing / total if total else 0.0,
    )


def _category(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _infer_kind(values: Any) -> Kind:
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return "number"
    if arr.dtype.kind == "O":
        present = [v for v in arr.tolist() if not _is_missing(v)]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            return "number"
    return "string"


def _profile_column(entry: Mapping[str, Any], rows: int) -> _Column:
    """A column from a baseline profile entry (see docs/internals.md, "Baseline profile")."""
    missing = float(entry.get("missing_fraction", 0.0))
    if entry.get("type") == "number":
        sample = entry.get("sample")
        histogram = entry.get("histogram")
        values = _to_numbers(sample) if sample else None
        if values is not None:
            values = np.sort(values[~np.isnan(values)])
        hist = None
        if values is None and histogram:
            hist = (
                np.asarray(histogram["edges"], dtype=np.float64),
                np.asarray(histogram["counts"], dtype=np.float64),
            )
        return _Column(
            kind="number",
            values=values,
            counts={},
            n_total=rows,
            missing_fraction=missing,
            minimum=_opt_float(entry.get("min")),
            maximum=_opt_float(entry.get("max")),
            histogram=hist,
        )
    counts = {str(k): int(v) for k, v in (entry.get("counts") or {}).items()}
    return _Column(kind="string", values=None, counts=counts, n_total=rows, missing_fraction=missing)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _reference_columns(
    reference: Mapping[str, Any], feature_types: Mapping[str, str] | None
) -> tuple[dict[str, _Column], _Column | None, int]:
    if isinstance(reference.get("features"), Mapping):
        rows = int(reference.get("rows", 0))
        columns = {name: _profile_column(entry, rows) for name, entry in reference["features"].items()}
        prediction = reference.get("prediction")
        pred = _profile_column(prediction, rows) if isinstance(prediction, Mapping) and prediction else None
        return columns, pred, rows
    columns = {}
    rows = 0
    for name, values in reference.items():
        kind = (feature_types or {}).get(name) or _infer_kind(values)
        columns[name] = _numeric_column(values) if kind == "number" else _categorical_column(values)
        rows = max(rows, columns[name].n_total)
    return columns, None, rows


# --------------------------------------------------------------------------- tests


def _choose_test(ref: _Column, cur: _Column, forced: str | None) -> tuple[str, bool]:
    """(test, treat_as_categories). Evidently's defaults unless a test is forced."""
    categorical = ref.kind == "string"
    n_values = len(set(ref.counts) | set(cur.counts)) if categorical else 0
    if not categorical and ref.values is not None and cur.values is not None:
        n_values = _distinct_upto(ref.values, cur.values, FEW_VALUES + 1)
        categorical = n_values <= FEW_VALUES
    elif not categorical:
        n_values = FEW_VALUES + 1  # only a histogram: a binned test
    if forced and forced not in NUMERIC_ONLY_TESTS:
        return forced, categorical
    if forced and ref.kind == "number" and ref.values is not None:
        return forced, False
    # a numeric-only test forced on a category column does not apply: Evidently's default instead
    # Evidently decides by the reference size alone; a short window of a few hundred rows against a
    # large reference then gets a distance test whose sampling noise crosses 0.1 on clean traffic.
    # Deciding by the smaller side keeps large-vs-large identical and makes small windows p-value tests.
    small = min(ref.n, cur.n) <= SMALL_REFERENCE_ROWS
    if categorical:
        if small:
            return (Z if n_values <= 2 else CHISQUARE), True
        return JENSENSHANNON, True
    if ref.values is None:  # histogram-only reference
        return (CHISQUARE if small else JENSENSHANNON), False
    return (KS if small else WASSERSTEIN), False


def _distinct_upto(a: FloatArray, b: FloatArray, limit: int) -> int:
    """Distinct values across both arrays, counting only up to ``limit`` (cheap on large data)."""
    head = np.unique(np.concatenate([a[:2000], b[:2000]]))
    if head.size >= limit:
        return int(head.size)
    return int(np.unique(np.concatenate([a, b])).size)


def _numeric_counts(ref: _Column, cur: _Column) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bin both numeric columns on shared edges: (edges, reference counts, current counts)."""
    if ref.values is None and ref.histogram is not None:
        edges, ref_counts = ref.histogram
    else:
        assert ref.values is not None
        both = np.concatenate([ref.values, cur.values if cur.values is not None else np.empty(0)])
        edges = np.histogram_bin_edges(both, bins=NUMERIC_BINS) if both.size else np.array([0.0, 1.0])
        ref_counts = np.histogram(ref.values, bins=edges)[0].astype(np.float64)
    cur_values = cur.values if cur.values is not None else np.empty(0)
    clipped = np.clip(cur_values, edges[0], edges[-1])  # out-of-range values land in the end bins
    cur_counts = np.histogram(clipped, bins=edges)[0].astype(np.float64)
    return edges, ref_counts, cur_counts


def _category_counts(ref: _Column, cur: _Column) -> tuple[list[str], FloatArray, FloatArray]:
    if ref.kind == "number":  # few-valued numbers: their values are the categories
        assert ref.values is not None and cur.values is not None
        ref_c = Counter(_category(v) for v in ref.values.tolist())
        cur_c = Counter(_category(v) for v in cur.values.tolist())
    else:
        ref_c, cur_c = Counter(ref.counts), Counter(cur.counts)
    keys = sorted(set(ref_c) | set(cur_c), key=lambda k: (-ref_c.get(k, 0), k))
    return (
        keys,
        np.array([ref_c.get(k, 0) for k in keys], dtype=np.float64),
        np.array([cur_c.get(k, 0) for k in keys], dtype=np.float64),
    )


def ks_test(reference: FloatArray, current: FloatArray) -> float:
    """Two-sample Kolmogorov-Smirnov p-value (``scipy.stats.ks_2samp``)."""
    return float(stats.ks_2samp(reference, current).pvalue)


def wasserstein_distance(reference: FloatArray, current: FloatArray) -> float:
    """First Wasserstein distance between two samples; equals ``scipy.stats.wasserstein_distance``.

    One stable argsort of both samples and two running counts replace scipy's sort-and-search,
    which is five times faster on 100k rows.
    """
    both = np.concatenate([reference, current])
    order = np.argsort(both, kind="stable")
    deltas = np.diff(both[order])
    from_reference = order < reference.size
    ref_cdf = np.cumsum(from_reference)[:-1] / reference.size
    cur_cdf = np.cumsum(~from_reference)[:-1] / current.size
    return float(np.dot(np.abs(ref_cdf - cur_cdf), deltas))


def normalized_wasserstein(reference: FloatArray, current: FloatArray) -> float:
    """Wasserstein distance divided by the reference std (floored at 0.001, as Evidently does)."""
    norm = max(float(np.std(reference)), 0.001)
    return wasserstein_distance(reference, current) / norm


def chisquare_test(ref_counts: FloatArray, cur_counts: FloatArray) -> float:
    """Two-sample chi-square contingency p-value (``scipy.stats.chi2_contingency``)."""
    keep = (ref_counts + cur_counts) > 0
    if keep.sum() < 2 or ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return 1.0
    table = np.vstack([ref_counts[keep], cur_counts[keep]])
    return float(stats.chi2_contingency(table).pvalue)


def z_test(ref_counts: FloatArray, cur_counts: FloatArray) -> float:
    """Two-proportion z-test p-value on the share of the first category (two-sided)."""
    n1, n2 = float(ref_counts.sum()), float(cur_counts.sum())
    if ref_counts.size < 2 or n1 == 0 or n2 == 0:
        return 1.0
    p1, p2 = ref_counts[0] / n1, cur_counts[0] / n2
    pooled = (ref_counts[0] + cur_counts[0]) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return float(2 * stats.norm.sf(abs((p1 - p2) / se)))


def jensenshannon_distance(ref_counts: FloatArray, cur_counts: FloatArray) -> float:
    """Jensen-Shannon distance between the two frequency vectors (natural log, as scipy's default)."""
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return 0.0
    return float(distance.jensenshannon(ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()))


def psi(ref_counts: FloatArray, cur_counts: FloatArray) -> float:
    """Population stability index; empty bins get a tiny share so the log stays finite."""
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return 0.0
    ref_p = np.where(ref_counts == 0, PSI_EPSILON, ref_counts / ref_counts.sum())
    cur_p = np.where(cur_counts == 0, PSI_EPSILON, cur_counts / cur_counts.sum())
    return float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))


_BINNED = {CHISQUARE: chisquare_test, Z: z_test, JENSENSHANNON: jensenshannon_distance, PSI: psi}


def _test_feature(name: str, ref: _Column, cur: _Column, config: DriftConfig) -> FeatureDrift:
    forced = config.per_feature.get(name) or config.stattest
    test, as_categories = _choose_test(ref, cur, forced)
    threshold = config.threshold if config.threshold is not None else DEFAULT_THRESHOLDS[test]
    if test in NUMERIC_ONLY_TESTS:
        assert ref.values is not None and cur.values is not None
        if ref.values.size == 0 or cur.values.size == 0:
            score = 1.0 if test == KS else 0.0
        else:
            score = (
                ks_test(ref.values, cur.values)
                if test == KS
                else normalized_wasserstein(ref.values, cur.values)
            )
        distribution = _numeric_distribution(ref, cur)
    elif as_categories:
        keys, ref_counts, cur_counts = _category_counts(ref, cur)
        score = _BINNED[test](ref_counts, cur_counts)
        distribution = _category_distribution(keys, ref_counts, cur_counts)
    else:
        edges, ref_counts, cur_counts = _numeric_counts(ref, cur)
        score = _BINNED[test](ref_counts, cur_counts)
        distribution = _numeric_distribution(ref, cur)
    drifted = score < threshold if test in P_VALUE_TESTS else score >= threshold
    return FeatureDrift(
        feature=name,
        kind=ref.kind,
        test=test,
        score=score,
        threshold=threshold,
        drifted=bool(drifted),
        n_reference=ref.n,
        n_current=cur.n,
        distribution=distribution,
    )


def _shares(counts: FloatArray) -> list[float]:
    total = counts.sum()
    return [round(float(c / total), 6) if total else 0.0 for c in counts]


def _numeric_distribution(ref: _Column, cur: _Column) -> dict[str, Any]:
    if ref.values is None and ref.histogram is not None:
        edges, ref_counts = ref.histogram
    else:
        assert ref.values is not None
        if ref.values.size == 0 and (cur.values is None or cur.values.size == 0):
            return {"edges": [], "reference": [], "current": []}
        lo, hi = _plot_range(ref.values, cur.values if cur.values is not None else np.empty(0))
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, PLOT_BINS + 1)
        ref_counts = np.histogram(np.clip(ref.values, lo, hi), bins=edges)[0].astype(np.float64)
    cur_values = cur.values if cur.values is not None else np.empty(0)
    cur_counts = np.histogram(np.clip(cur_values, edges[0], edges[-1]), bins=edges)[0].astype(np.float64)
    return {
        "edges": [round(float(e), 6) for e in edges],
        "reference": _shares(ref_counts),
        "current": _shares(cur_counts),
    }


def _plot_range(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Span the bulk of both samples: 0.5%..99.5% of each, read by index (columns are kept sorted)."""
    ends: list[float] = []
    for values in (reference, current):
        if values.size:
            last = values.size - 1
            ends += [float(values[int(0.005 * last)]), float(values[int(0.995 * last)])]
    return min(ends), max(ends)


def _category_distribution(keys: list[str], ref_counts: FloatArray, cur_counts: FloatArray) -> dict[str, Any]:
    ref_s, cur_s = _shares(ref_counts), _shares(cur_counts)
    order = sorted(range(len(keys)), key=lambda i: -(ref_s[i] + cur_s[i]))
    top, rest = order[:MAX_PLOT_CATEGORIES], order[MAX_PLOT_CATEGORIES:]
    categories = [keys[i] for i in top]
    reference = [ref_s[i] for i in top]
    current = [cur_s[i] for i in top]
    if rest:
        categories.append("(other)")
        reference.append(round(sum(ref_s[i] for i in rest), 6))
        current.append(round(sum(cur_s[i] for i in rest), 6))
    return {"categories": categories, "reference": reference, "current": current}


def _quality(name: str, ref: _Column, cur: _Column, config: DriftConfig) -> FeatureQuality:
    issues: list[str] = []
    out_of_range = 0.0
    unseen: list[str] = []
    unseen_fraction = 0.0
    if cur.missing_fraction > ref.missing_fraction + config.missing_increase:
        issues.append(f"missing values rose from {ref.missing_fraction:.1%} to {cur.missing_fraction:.1%}")
    if ref.kind == "number" and cur.values is not None and cur.values.size:
        lo = ref.minimum if ref.minimum is not None else -math.inf
        hi = ref.maximum if ref.maximum is not None else math.inf
        out_of_range = float(np.count_nonzero((cur.values < lo) | (cur.values > hi)) / cur.values.size)
        if out_of_range > config.out_of_range_share:
            issues.append(f"{out_of_range:.1%} of values outside the training range [{lo:g}, {hi:g}]")
    elif ref.kind == "string" and cur.n:
        new = {k: v for k, v in cur.counts.items() if k not in ref.counts}
        unseen = sorted(new, key=lambda k: -new[k])[:MAX_LISTED_UNSEEN]
        unseen_fraction = sum(new.values()) / cur.n
        if unseen_fraction > config.unseen_share:
            issues.append(f"{unseen_fraction:.1%} of values are categories never seen in training")
    return FeatureQuality(
        feature=name,
        kind=ref.kind,
        missing_fraction=round(cur.missing_fraction, 6),
        reference_missing_fraction=round(ref.missing_fraction, 6),
        out_of_range_fraction=round(out_of_range, 6),
        unseen_fraction=round(unseen_fraction, 6),
        unseen_categories=tuple(unseen),
        issues=tuple(issues),
    )


def _current_column(ref: _Column, values: Any) -> _Column:
    return _numeric_column(values) if ref.kind == "number" else _categorical_column(values)


def detect_drift(
    *,
    reference: Mapping[str, Any],
    current: Mapping[str, Sequence[Any] | NDArray[Any]],
    config: DriftConfig | None = None,
    current_predictions: Sequence[Any] | NDArray[Any] | None = None,
    reference_predictions: Sequence[Any] | NDArray[Any] | None = None,
    feature_types: Mapping[str, str] | None = None,
) -> DriftResult:
    """Compare current data with the reference, feature by feature.

    Parameters
    ----------
    reference
        A baseline profile (``{"rows", "features": {...}, "prediction": {...}}``, see
        docs/internals.md) or a mapping of column name to values.
    current
        Column name to values (lists or arrays); ``None``/NaN/empty string are missing.
        Reference features absent from ``current`` count as entirely missing.
    config
        Test choice and thresholds; defaults follow Evidently's.
    current_predictions, reference_predictions
        Prediction drift: the served predictions, compared with the profile's ``prediction`` entry
        (or ``reference_predictions`` when the reference is given as arrays).
    feature_types
        ``number``/``string`` per column when the reference is given as arrays (inferred otherwise).
    """
    config = config or DriftConfig()
    ref_columns, ref_prediction, rows = _reference_columns(reference, feature_types)
    n_current = max((len(v) for v in current.values()), default=0)
    results: list[FeatureDrift] = []
    quality: list[FeatureQuality] = []
    for name, ref in ref_columns.items():
        cur = _current_column(ref, current.get(name, [None] * n_current))
        results.append(_test_feature(name, ref, cur, config))
        quality.append(_quality(name, ref, cur, config))
    if reference_predictions is not None:
        kind = (feature_types or {}).get("prediction") or _infer_kind(reference_predictions)
        ref_prediction = (
            _numeric_column(reference_predictions)
            if kind == "number"
            else _categorical_column(reference_predictions)
        )
    prediction = None
    if ref_prediction is not None and current_predictions is not None and len(current_predictions):
        cur_pred = _current_column(ref_prediction, current_predictions)
        prediction = _test_feature("prediction", ref_prediction, cur_pred, config)
    drifted = sum(r.drifted for r in results)
    return DriftResult(
        features=tuple(results),
        drift_share=drifted / len(results) if results else 0.0,
        drift_share_threshold=config.drift_share,
        prediction=prediction,
        quality=tuple(quality),
        n_reference=rows,
        n_current=n_current,
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
